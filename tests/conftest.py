"""Fixtures: real Postgres and Redis (from TRANSCRAWL_* URLs, else embedded), real workers."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis

from foundation.servers import child_env, ensure_servers
from foundation.settings import Settings
from schemas.migrate import migrate

REPO = Path(__file__).resolve().parents[1]


def shared_path() -> Path | None:
    """../shared beside the checkout (or TRANSCRAWL_SHARED), or None when absent."""
    folder = Path(os.environ.get("TRANSCRAWL_SHARED") or REPO.parent / "shared")
    return folder if folder.is_dir() else None


@pytest.fixture(scope="session")
def shared() -> Path:
    folder = shared_path()
    if folder is None:
        pytest.skip("needs ../shared (corpus, models, data) beside the checkout, or TRANSCRAWL_SHARED")
    return folder


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A throw-away database on the configured Postgres (or an embedded one) and a clean Redis db."""
    base = Settings.from_env(home=tmp_path_factory.mktemp("home"))
    embedded = ensure_servers(base)
    settings = embedded.settings
    assert settings.database_url and settings.redis_url
    name = f"transcrawl_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = _with_database(settings.database_url, name)
    redis_url = _with_redis_db(settings.redis_url, int(os.environ.get("TRANSCRAWL_TEST_REDIS_DB", "11")))
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    migrate(db_url)
    yield settings.with_servers(db_url, redis_url)
    with contextlib.suppress(Exception), psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    embedded.stop()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _with_redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


@pytest.fixture()
def settings(servers: Settings, tmp_path: Path) -> Settings:
    """Per-test settings: shared servers, a fresh models folder."""
    return Settings.from_env(
        database_url=servers.database_url, redis_url=servers.redis_url, home=tmp_path / "home",
        models_dir=tmp_path / "models", download_delay=0.0, autothrottle=False,
        concurrency_per_domain=8,
    )


@pytest.fixture()
def clean_state(servers: Settings) -> Iterator[None]:
    """Empty tables and Redis before a test that counts rows or keys."""
    _reset(servers)
    yield


def _reset(settings: Settings) -> None:
    with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        conn.execute("TRUNCATE articles, failures, sites RESTART IDENTITY")
    client = redis.Redis.from_url(settings.redis_url or "")
    client.flushdb()
    client.close()


class WorkerProcess:
    """A real ``transcrawl worker`` in a subprocess, with its log kept for failing tests."""

    def __init__(self, settings: Settings, log: Path, queues: str = "extract,translate,store",
                 concurrency: int = 2, languages: str | None = None) -> None:
        self.log = log
        self._file = open(log, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "transcrawl.cli", "worker", "-Q", queues, "--concurrency",
             str(concurrency), "--loglevel", "INFO", *(["--languages", languages] if languages else [])],
            env=child_env(settings), stdout=self._file, stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._file.close()

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture()
def worker_factory(tmp_path: Path) -> Iterator[object]:
    started: list[WorkerProcess] = []

    def start(settings: Settings, **kwargs: object) -> WorkerProcess:
        w = WorkerProcess(settings, tmp_path / f"worker{len(started)}.log", **kwargs)  # type: ignore[arg-type]
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


def wait_until(predicate: object, timeout: float = 120, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(interval)
    return False
