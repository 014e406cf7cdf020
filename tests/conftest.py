"""Fixtures for every tier: ../shared, and the servers of the integration and chaos tiers.

``servers`` is a throw-away database on the configured Postgres (``TRANSCRAWL_DATABASE_URL``, else
an embedded one) and a Redis db of its own; ``settings``, ``clean_state`` and ``worker_factory``
build on it. tests/unit/conftest.py turns all four into loud failures: unit tests use no servers.
Helpers (CLI and crawl runners, workers, ``wait_until``) live in tests/support.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis

from foundation.servers import ensure_servers
from foundation.settings import Settings
from schemas.migrate import migrate
from tests.support.processes import WorkerProcess
from tests.support.shared import shared_path


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
    with psycopg.connect(servers.database_url or "", autocommit=True) as conn:
        conn.execute("TRUNCATE articles, failures, sites, stories RESTART IDENTITY CASCADE")
    client = redis.Redis.from_url(servers.redis_url or "")
    client.flushdb()
    client.close()
    yield


@pytest.fixture()
def worker_factory(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """``start(settings, queues=..., concurrency=..., languages=...)``: a worker, stopped after the test."""
    started: list[WorkerProcess] = []

    def start(settings: Settings, **kwargs: object) -> WorkerProcess:
        worker = WorkerProcess(settings, tmp_path / f"worker{len(started)}.log", **kwargs)  # type: ignore[arg-type]
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()

