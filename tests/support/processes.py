"""Real ``transcrawl`` processes for tests: one CLI runner, one crawl runner, workers, and a poll loop."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from crawler import registry as reg
from foundation.servers import child_env, free_port, stop_process
from foundation.settings import Settings


def cli_command(*args: str) -> list[str]:
    """The argv of ``transcrawl ARGS...``, run by this interpreter."""
    return [sys.executable, "-m", "transcrawl.cli", *args]


def run_cli(settings: Settings, *args: str, stdin: str = "",
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``transcrawl ARGS...`` with ``settings`` in its environment; output captured as text."""
    return subprocess.run(cli_command(*args), input=stdin, text=True, capture_output=True,
                          env=child_env(settings), timeout=timeout)


def write_registry(sites: Sequence[reg.Site], folder: Path) -> Path:
    """``sites`` as ``folder/sites.toml``, the file ``--registry`` reads."""
    path = folder / "sites.toml"
    path.write_text(reg.dumps(list(sites)), encoding="utf-8")
    return path


def run_crawl(settings: Settings, sites: Sequence[reg.Site], tmp_path: Path, *ids: str,
              timeout: float = 300) -> dict[str, dict[str, Any]]:
    """``transcrawl crawl --json`` over ``sites`` (all, or ``ids``); its report per site id."""
    done = run_cli(settings, "crawl", "--registry", str(write_registry(sites, tmp_path)), "--json", *ids,
                   timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return {r["site"]: r for r in json.loads(done.stdout.strip().splitlines()[-1])}


class WorkerProcess:
    """A real ``transcrawl worker`` in a subprocess, with its log kept for failing tests."""

    def __init__(self, settings: Settings, log: Path, queues: str = "extract,translate,store",
                 concurrency: int = 2, languages: str | None = None, pool: str | None = None) -> None:
        self.log = log
        self._file = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            cli_command("worker", "-Q", queues, "--concurrency", str(concurrency), "--loglevel", "INFO",
                        *(["--languages", languages] if languages else []),
                        *(["--pool", pool] if pool else [])),
            env=child_env(settings), stdout=self._file, stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        stop_process(self.process, timeout=30)
        self._file.close()

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def wait_until(predicate: Callable[[], object], timeout: float = 120, interval: float = 0.5) -> bool:
    """Poll ``predicate`` until it is truthy (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


class ServerProcess:
    """A real ``transcrawl serve`` on a free port of 127.0.0.1, up once /healthz answers."""

    def __init__(self, settings: Settings, log: Path) -> None:
        import httpx

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._file = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(cli_command("serve", "--port", str(self.port)), env=child_env(settings),
                                        stdout=self._file, stderr=subprocess.STDOUT)

        def healthy() -> bool:
            try:
                return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return self.process.poll() is not None  # died: stop waiting, the assert says so

        wait_until(healthy, timeout=60, interval=0.2)
        assert self.process.poll() is None, self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        stop_process(self.process, timeout=20)
        self._file.close()
