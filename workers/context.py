"""One context per worker process: its settings, Redis client, Postgres pool and translator.

    transcrawl worker ── configure(settings) ──▶ worker (main process) ── fork ──▶ pool process
                                                                    worker_process_init: start()
    task ── current() ──▶ this process's WorkerContext

Whoever starts a worker hands it its settings: ``transcrawl worker`` calls :func:`configure`
before ``worker_main``, in the main process, and the pool's processes inherit them through fork,
embedded server URLs included. A worker nobody configured (``celery -A workers.app worker``)
reads them from the environment when it starts (:func:`settings`), never at import. Each pool
process builds its own context in ``worker_process_init``; a thread pool, which sends no such
signal, builds one on first use. A forked child drops any context it inherited: sockets and
model handles are never shared across fork. The pool and the translator open on first use.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import psycopg
import redis
from psycopg_pool import ConnectionPool

from foundation.settings import Settings
from schemas.pipeline import DedicatedLanguages

if TYPE_CHECKING:
    from workers.translate.batcher import Batcher
    from workers.translate.engine import Translator


class NotInitialised(RuntimeError):
    """A task asked for the worker context in a process that was never given settings."""


@dataclasses.dataclass
class WorkerContext:
    """The heavy state of one worker process, built from settings handed in, never from globals."""

    settings: Settings
    redis: redis.Redis
    dedicated: DedicatedLanguages  # languages with live dedicated translate workers (routing)
    _pool: ConnectionPool[psycopg.Connection[Any]] | None = None
    _translator: Translator | None = None
    _batcher: Batcher | None = None
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    @classmethod
    def build(cls, settings: Settings) -> WorkerContext:
        if not settings.redis_url:
            raise NotInitialised("no Redis URL: set TRANSCRAWL_REDIS_URL, or start the worker with "
                                 "`transcrawl worker` (which starts an embedded Redis)")
        client = redis.Redis.from_url(settings.redis_url, health_check_interval=30)
        return cls(settings, client, DedicatedLanguages(client))

    def pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        """This process's Postgres pool, opened on first use (extract and translate never do)."""
        with self._lock:
            if self._pool is None:
                if not self.settings.database_url:
                    raise RuntimeError("TRANSCRAWL_DATABASE_URL is not set")
                # check= drops connections that died with a Postgres restart before handing them out.
                self._pool = ConnectionPool(self.settings.database_url, min_size=1, max_size=4, open=True,
                                            check=ConnectionPool.check_connection,
                                            kwargs={"autocommit": False}, reconnect_timeout=60)
            return self._pool

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection: commits on success, rolls back on error."""
        with self.pool().connection() as conn:
            yield conn

    def translator(self) -> Translator:
        """This process's translator, created on first use (models load lazily inside it)."""
        with self._lock:
            if self._translator is None:
                from workers.translate.engine import Translator

                self._translator = Translator(self.settings)
            return self._translator

    def batcher(self) -> Batcher:
        """This process's batcher: the translate tasks of all its threads share its rounds."""
        translator = self.translator()
        with self._lock:
            if self._batcher is None:
                from workers import deliveries, metrics
                from workers.translate.batcher import Batcher
                from workers.translate.loading import choose_round_tokens

                settings = self.settings

                def count(keys: list[str]) -> list[int]:
                    return deliveries.enter(self.redis, keys, max_deliveries=settings.max_deliveries,
                                            task_time_limit=settings.task_time_limit)

                self._batcher = Batcher(
                    translator, budget_tokens=choose_round_tokens(settings, translator.device()[0]),
                    max_wait=settings.translate_batch_wait_ms / 1000, count_deliveries=count,
                    max_deliveries=settings.max_deliveries, on_round=metrics.on_round)
            return self._batcher

    @property
    def loaded_batcher(self) -> Batcher | None:
        return self._batcher

    @property
    def loaded_translator(self) -> Translator | None:
        """The translator if one was created, without creating it (for metrics)."""
        return self._translator

    def close(self) -> None:
        """Close the pool and the Redis client (the process is leaving)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close(timeout=2)
        self.redis.close()


_lock = threading.RLock()
_settings: Settings | None = None  # given to configure(), or read from the environment once
_current: WorkerContext | None = None
_inherited: list[WorkerContext] = []  # contexts a fork left behind: never used, closed or collected


def configure(settings: Settings) -> None:
    """Use ``settings`` in this process and in every process it forks from now on."""
    global _settings
    with _lock:
        _settings = settings


def settings() -> Settings:
    """The worker's settings: those given to :func:`configure`, else the environment, read now."""
    global _settings
    with _lock:
        if _settings is None:
            _settings = Settings.from_env()
        return _settings


def start() -> WorkerContext:
    """Build this process's context from :func:`settings` (``worker_process_init`` calls it)."""
    global _current
    with _lock:
        if _current is not None:
            _current.close()
        _current = WorkerContext.build(settings())
        return _current


def current() -> WorkerContext:
    """This process's context; built now in a process that has settings but no context yet."""
    context = _current
    if context is not None:
        return context
    with _lock:
        if _current is not None:
            return _current
        if _settings is None:
            raise NotInitialised("no worker context in this process: workers.app.configure(settings) "
                                 "(or a worker start) must come first")
        return start()


def peek() -> WorkerContext | None:
    """This process's context if it has one; never builds it."""
    return _current


def stop() -> None:
    """Close and forget this process's context (``worker_process_shutdown``)."""
    global _current
    with _lock:
        context, _current = _current, None
    if context is not None:
        context.close()


def _after_fork_in_child() -> None:
    # The parent's sockets must not be used, nor closed (that would shut them for the parent too),
    # nor garbage-collected (a pool's finaliser may close them): park the context and forget it.
    global _current, _lock
    if _current is not None:
        _inherited.append(_current)
    _current, _lock = None, threading.RLock()


os.register_at_fork(after_in_child=_after_fork_in_child)
