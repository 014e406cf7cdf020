"""A benchmark's own servers: a fresh database on the given Postgres and an empty Redis database."""

from __future__ import annotations

import uuid
from typing import Callable
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis


def scratch_servers(database_url: str, redis_url: str, prefix: str) -> tuple[str, Callable[[], None]]:
    """A new database ``<prefix>_<random>`` beside ``database_url`` (its URL), and how to drop it and
    empty the Redis database again; refuses a Redis database that holds anything (someone's data)."""
    client = redis.Redis.from_url(redis_url)
    if client.dbsize():
        raise SystemExit(f"{redis_url} is not empty: give the benchmark an empty Redis database")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def clean() -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        client.flushdb()

    return urlunsplit(urlsplit(database_url)._replace(path="/" + name)), clean
