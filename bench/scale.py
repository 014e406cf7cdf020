"""Horizontal scale: extract+store throughput with 1, 2 and 4 worker processes and two worker "hosts".

    python bench/scale.py [--pages 300] [--runs 1,2,4,hosts]

Needs TRANSCRAWL_DATABASE_URL and TRANSCRAWL_REDIS_URL (a throw-away database is created on that
Postgres, Redis db 12 is flushed) and ../shared/corpus/news (real news pages). Each run: start the
workers, wait until they answer a ping, put the same batch of raw pages into Redis exactly as
crawler/pipelines.py does and send one ``extract`` task per page, then time until the extract and
store queues are empty and nothing is unacknowledged. Non-English articles end in the translate
queue, which no worker here consumes (translation is measured in bench/translate.py).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg
import redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from foundation.servers import child_env  # noqa: E402
from foundation.settings import Settings  # noqa: E402
from schemas.keys import raw_page_key
from schemas.messages import RawPage
from schemas.migrate import migrate  # noqa: E402
from schemas.pipeline import EXTRACT_TASK, producer

RUNS = {"1": [("w1", 1)], "2": [("w2", 2)], "4": [("w4", 4)], "hosts": [("a", 2), ("b", 2)]}


def load_pages(count: int) -> list[tuple[str, str, bytes]]:
    """``count`` (url, country, body) from the shared corpus, cycling it with unique URLs."""
    corpus = Path(os.environ.get("TRANSCRAWL_SHARED") or REPO.parent / "shared") / "corpus" / "news"
    entries = [json.loads(line) for line in (corpus / "index.jsonl").read_text().splitlines()]
    pages = []
    for i in range(count):
        entry = entries[i % len(entries)]
        body = gzip.decompress((corpus / entry["file"]).read_bytes())
        url = f"{entry['url']}{'&' if '?' in entry['url'] else '?'}bench={i}"
        pages.append((url, entry["country"], body))
    return pages


def queue(client: redis.Redis, sender: Any, pages: list[tuple[str, str, bytes]]) -> None:
    """Raw pages into Redis and one extract task each, as the crawler's pipeline does."""
    for url, country, body in pages:
        key = raw_page_key(url)
        page = RawPage(url=url, site=f"bench-{country}", country=country, site_language="",
                       fetched_at="2026-11-28T00:00:00+00:00", status=200, content_type="text/html",
                       final_url=url)
        client.hset(key, mapping=page.encode(body))
        sender.send_task(EXTRACT_TASK, args=[{"raw_key": key, "url": url, "site": page.site}])


def drained(client: redis.Redis) -> bool:
    return client.llen("extract") == 0 and client.llen("store") == 0 and client.hlen("unacked") == 0


def start_workers(settings: Settings, hosts: list[tuple[str, int]], log_dir: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    for name, concurrency in hosts:
        log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "transcrawl.cli", "worker", "-Q", "extract,store", "-c", str(concurrency),
             "-n", f"{name}@%h", "--loglevel", "WARNING"],
            env=child_env(settings), stdout=log, stderr=subprocess.STDOUT))
    return procs


def wait_ready(sender: Any, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(sender.control.ping(timeout=0.5) or []) >= count:
            return
    raise RuntimeError("workers did not answer in time")


def cpu_seconds(procs: list[subprocess.Popen[bytes]]) -> float:
    total = 0.0
    for proc in procs:
        try:
            parent = psutil.Process(proc.pid)
            for p in [parent, *parent.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def run(settings: Settings, label: str, pages: list[tuple[str, str, bytes]], log_dir: Path) -> dict[str, Any]:
    client = redis.Redis.from_url(settings.redis_url or "")
    client.flushdb()
    with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        conn.execute("TRUNCATE articles, failures, stories CASCADE")
    hosts = RUNS[label]
    sender = producer(settings.redis_url or "")
    procs = start_workers(settings, hosts, log_dir)
    try:
        wait_ready(sender, len(hosts))
        load = os.getloadavg()
        cpu_before, machine_before = cpu_seconds(procs), psutil.cpu_times()
        started = time.monotonic()
        queue(client, sender, pages)
        while not drained(client):
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(procs) - cpu_before
        machine = psutil.cpu_times()
        busy = sum(getattr(machine, f) - getattr(machine_before, f) for f in ("user", "system", "nice", "irq", "softirq"))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
    with psycopg.connect(settings.database_url or "") as conn:
        stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]  # type: ignore[index]
        failed = conn.execute("SELECT count(*) FROM failures").fetchone()[0]  # type: ignore[index]
    processes = sum(c for _, c in hosts)
    result = {"run": label, "hosts": len(hosts), "processes": processes, "pages": len(pages),
              "seconds": round(elapsed, 2), "pages_per_s": round(len(pages) / elapsed, 2),
              "worker_cpu_s_per_page": round(cpu / len(pages), 4),
              "machine_busy_cores": round(busy / elapsed, 2), "stored": stored, "failures": failed,
              "to_translate": client.llen("translate"), "load_before": [round(x, 2) for x in load]}
    client.close()
    return result


def scratch_servers() -> tuple[Settings, str, str]:
    base = Settings.from_env()
    if not (base.database_url and base.redis_url):
        raise SystemExit("set TRANSCRAWL_DATABASE_URL and TRANSCRAWL_REDIS_URL")
    name = f"transcrawl_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = urlunsplit(urlsplit(base.database_url)._replace(path=f"/{name}"))
    redis_url = urlunsplit(urlsplit(base.redis_url)._replace(path="/12"))
    migrate(db_url)
    return base.with_servers(db_url, redis_url), base.database_url, name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--runs", default="1,2,4,hosts")
    args = parser.parse_args()
    pages = load_pages(args.pages)
    settings, admin_url, name = scratch_servers()
    log_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"{name}-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(f"cpus: {psutil.cpu_count()}; pages: {len(pages)}; worker logs: {log_dir}")
    results = []
    try:
        for label in args.runs.split(","):
            result = run(settings, label, pages, log_dir)
            results.append(result)
            print(json.dumps(result), flush=True)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print("\n| run | hosts × processes | seconds | pages/s | worker CPU s/page | busy cores | load before |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        shape = " + ".join(str(c) for _, c in RUNS[r["run"]])
        print(f"| {r['run']} | {shape} | {r['seconds']} | {r['pages_per_s']} | {r['worker_cpu_s_per_page']}"
              f" | {r['machine_busy_cores']} | {r['load_before'][0]} |")


if __name__ == "__main__":
    main()
