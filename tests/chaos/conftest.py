"""The chaos tier: kills workers and private servers (tests/support/private_servers.py) at will."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from schemas.migrate import migrate
from tests.support.private_servers import PrivatePostgres, PrivateRedis
from tests.support.tiers import mark_tier

DATABASE = "chaos"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_tier(items, Path(__file__).parent, "chaos")


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    """A private Postgres with a migrated ``chaos`` database, one per test module."""
    server = PrivatePostgres()
    server.start()
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {DATABASE}")
    migrate(server.database_url(DATABASE))
    yield server
    server.close()


@pytest.fixture()
def chaos_db(postgres: PrivatePostgres) -> str:
    """The private database's URL, emptied for this test."""
    url = postgres.database_url(DATABASE)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE articles, failures, sites, stories RESTART IDENTITY CASCADE")
    return url


@pytest.fixture()
def broker() -> Iterator[PrivateRedis]:
    """A private Redis that persists every write (AOF, fsync always), so a kill -9 keeps the queue."""
    server = PrivateRedis(appendonly=True)
    server.start()
    yield server
    server.close()
