"""Heavy per-process state (Redis client, Postgres pool, translator), created lazily after fork."""

from __future__ import annotations

import os
import threading
from typing import Any

import kombu.exceptions
import psycopg
import redis
from psycopg_pool import ConnectionPool

from foundation.settings import Settings
from schemas.pipeline import DedicatedLanguages

_lock = threading.Lock()
_state: dict[str, Any] = {}


def _per_process(name: str, factory: Any) -> Any:
    # Keyed by pid: a forked child never reuses its parent's sockets or model handles.
    key = (name, os.getpid())
    with _lock:
        if key not in _state:
            _state[key] = factory()
        return _state[key]


def settings() -> Settings:
    return _per_process("settings", Settings.from_env)


def configure(new: Settings) -> None:
    """Use ``new`` in this process (the CLI sets it before starting a worker)."""
    with _lock:
        _state[("settings", os.getpid())] = new


def redis_client() -> redis.Redis:
    url = settings().redis_url
    if not url:
        raise RuntimeError("TRANSCRAWL_REDIS_URL is not set")
    return _per_process("redis", lambda: redis.Redis.from_url(url, health_check_interval=30))


def db_pool() -> ConnectionPool:
    url = settings().database_url
    if not url:
        raise RuntimeError("TRANSCRAWL_DATABASE_URL is not set")

    def make() -> ConnectionPool:
        # check= drops connections that died with a Postgres restart before handing them out.
        return ConnectionPool(url, min_size=1, max_size=4, open=True,
                              check=ConnectionPool.check_connection,
                              kwargs={"autocommit": False}, reconnect_timeout=60)

    return _per_process("db", make)


def dedicated_languages() -> DedicatedLanguages:
    return _per_process("dedicated", lambda: DedicatedLanguages(redis_client()))


def translator() -> Any:
    from workers.translate import get_translator

    return get_translator(settings())


def connection() -> Any:
    """A pooled connection as a context manager: commits on success, rolls back on error."""
    return db_pool().connection()


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,  # includes AdminShutdown, sent when Postgres restarts
    redis.ConnectionError,
    redis.TimeoutError,
    kombu.exceptions.OperationalError,  # sending the next task failed: the broker is unreachable
    ConnectionError,
    TimeoutError,
)
