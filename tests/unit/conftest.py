"""The unit tier: no Postgres, no Redis, no Celery; the whole tier runs in under a minute.

The server fixtures of tests/conftest.py fail here with a message saying where the test belongs,
the ``TRANSCRAWL_*`` server URLs are taken out of the environment (so ``Settings.from_env()`` and
CLI subprocesses see no servers), and opening a Postgres or Redis connection, or starting the
embedded servers, fails the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import psycopg
import pytest
import redis.connection

import foundation.servers
from tests.support.tiers import SERVER_FIXTURES, UNIT_REFUSAL

SERVER_URLS = ("TRANSCRAWL_DATABASE_URL", "TRANSCRAWL_REDIS_URL")


def _refusing(name: str) -> Callable[..., NoReturn]:
    @pytest.fixture(name=name)
    def refuse() -> NoReturn:
        pytest.fail(f"fixture {name!r}: {UNIT_REFUSAL}", pytrace=False)

    return refuse


servers, settings, clean_state, worker_factory = (_refusing(name) for name in SERVER_FIXTURES)


def _refuse(what: str) -> Callable[..., NoReturn]:
    def refuse(*_: Any, **__: Any) -> NoReturn:
        pytest.fail(f"{what}: {UNIT_REFUSAL}", pytrace=False)

    return refuse


@pytest.fixture(autouse=True)
def no_servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in SERVER_URLS:
        monkeypatch.delenv(name, raising=False)
    connect = _refuse("a Postgres connection")
    monkeypatch.setattr(psycopg, "connect", connect)
    monkeypatch.setattr(psycopg.Connection, "connect", classmethod(connect))
    for method in ("connect", "connect_check_health"):
        if hasattr(redis.connection.AbstractConnection, method):
            monkeypatch.setattr(redis.connection.AbstractConnection, method, _refuse("a Redis connection"))
    monkeypatch.setattr(foundation.servers, "ensure_servers", _refuse("the embedded servers"))
    yield
