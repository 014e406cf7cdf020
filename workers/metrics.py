"""Prometheus metrics of a worker: one /metrics endpoint per worker, fed by all its processes.

How it fits together (prometheus_client multiprocess mode):

- ``prepare`` runs in the worker's main process before the pool forks (Celery ``worker_init``):
  it points ``PROMETHEUS_MULTIPROC_DIR`` at an empty folder, so that every pool process writes
  its counters and histograms to files there.
- Celery signals (``task_prerun``/``task_postrun``/``task_failure``/``task_retry`` and
  ``after_task_publish``) update the metrics inside the pool processes; tasks know nothing of them.
- ``serve`` runs in the main process once the pool is up (``worker_ready``): an HTTP server on
  ``metrics_port`` that merges the files and adds gauges read from Redis at scrape time.

The Redis-backed series (queue depth, pages fetched by crawlers) describe the whole cluster; every
worker exports the same values, so aggregate them with ``max``, not ``sum``.
prometheus_client is imported lazily: it picks its storage mode when first imported.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

from foundation.settings import Settings
from schemas.keys import stats_key
from schemas.pipeline import FAILURE_TASK, STORE_TASK, TRANSLATE_TASK

log = logging.getLogger("workers.metrics")

ENV_DIR = "PROMETHEUS_MULTIPROC_DIR"
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)

_metrics: dict[str, Any] = {}
# The task now running in this thread: one per pool process in prefork, one per task in the
# translate node's threads.
_local = threading.local()
_created: dict[str, str] = {}


def enabled() -> bool:
    return bool(os.environ.get(ENV_DIR)) and os.path.isdir(os.environ[ENV_DIR])


def prepare(settings: Settings) -> str | None:
    """Give this worker (and the processes it forks) an empty metrics folder; None when off."""
    if not settings.metrics_port:
        return None
    folder = os.environ.get(ENV_DIR)
    if folder:  # set by the operator (e.g. an emptyDir volume): start it empty, as the docs ask
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)
    else:
        folder = _created["folder"] = tempfile.mkdtemp(prefix="transcrawl-metrics-")
    os.environ[ENV_DIR] = folder
    return folder


def cleanup() -> None:
    """The worker is stopping: remove the metrics folder ``prepare`` made (not an operator's)."""
    folder = _created.pop("folder", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def serve(settings: Settings) -> Any:
    """Start the /metrics HTTP server in this (main) process; returns the server, or None."""
    if not settings.metrics_port or not enabled():
        return None
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    registry.register(RedisCollector(settings.redis_url))
    try:
        server, _thread = start_http_server(settings.metrics_port, registry=registry)
    except OSError as exc:  # the worker still works; its operator must see why there are no metrics
        log.error("metrics: cannot serve on :%d (%s); this worker runs without /metrics",
                  settings.metrics_port, exc)
        return None
    log.info("metrics on :%d/metrics (files in %s)", settings.metrics_port, os.environ[ENV_DIR])
    return server


def process_exit(pid: int | None = None) -> None:
    """A pool process is leaving: its live gauges no longer count."""
    if enabled():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]


def _m() -> dict[str, Any]:
    """The metric objects, created on first use (after ``PROMETHEUS_MULTIPROC_DIR`` is set)."""
    if not _metrics:
        from prometheus_client import Counter, Histogram, values

        # Celery's CLI loads its plugins (Flower imports prometheus_client) before worker_init set
        # the folder: choose the storage again, now that PROMETHEUS_MULTIPROC_DIR is set.
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]

        _metrics.update(
            tasks=Counter("transcrawl_tasks", "Tasks finished, by task name and outcome",
                          ["task", "outcome"]),
            task_seconds=Histogram("transcrawl_task_duration_seconds", "Task run time, by task name",
                                   ["task"], buckets=DURATION_BUCKETS),
            exceptions=Counter("transcrawl_task_exceptions", "Exceptions that ended or retried a task",
                               ["task", "exception"]),
            articles=Counter("transcrawl_articles_stored", "Articles written to Postgres",
                             ["status", "language"]),
            failures=Counter("transcrawl_failures", "Pages recorded as failures, by stage and reason",
                             ["stage", "reason"]),
            tokens=Counter("transcrawl_translate_tokens", "Target tokens produced by translation",
                           ["source"]),
            round_articles=Histogram("transcrawl_translate_round_articles",
                                     "Articles translated together in one engine round", ["source"],
                                     buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512)),
            round_tokens=Histogram("transcrawl_translate_round_source_tokens",
                                   "Source tokens of one engine round", ["source"],
                                   buckets=(64, 256, 1024, 4096, 16384, 65536, 262144)),
            orphans=Counter("transcrawl_orphans_settled",
                            "What the orphan sweep settled: raw pages requeued (their message was lost) or "
                            "spent (stored, claim check deleted), articles sent to group again",
                            ["outcome"]),
            translate_seconds=Histogram("transcrawl_translate_duration_seconds",
                                        "Run time of translate tasks, by source language", ["source"],
                                        buckets=DURATION_BUCKETS),
        )
    return _metrics


# -- Celery signal handlers (connected in workers.app) ---------------------------------------


def on_prerun(task_id: str, task: Any, args: Any, **_: Any) -> None:
    message = _message(args)
    _local.running = {"start": time.perf_counter(), "failed": False,
                      "source": message.get("language") or "unknown"}


def on_postrun(task: Any, state: str | None, args: Any, **_: Any) -> None:
    running: dict[str, Any] = getattr(_local, "running", None) or {}
    _local.running = None
    if not enabled() or "start" not in running:
        return
    m, name = _m(), task.name
    elapsed = time.perf_counter() - running["start"]
    outcome = "failed" if running["failed"] else (state or "unknown").lower()
    m["tasks"].labels(name, outcome).inc()
    m["task_seconds"].labels(name).observe(elapsed)
    if outcome != "success":
        return
    message = _message(args)
    if name == STORE_TASK:
        m["articles"].labels(message.get("status") or "unknown", message.get("language") or "unknown").inc()
    elif name == TRANSLATE_TASK:
        m["translate_seconds"].labels(running["source"]).observe(elapsed)


def on_round(source: str, articles: int, source_tokens: int, target_tokens: int) -> None:
    """An engine round finished (workers/translate/batcher.py, in its own thread)."""
    if not enabled():
        return
    m = _m()
    m["tokens"].labels(source).inc(target_tokens)
    m["round_articles"].labels(source).observe(articles)
    m["round_tokens"].labels(source).observe(source_tokens)


def on_orphans(requeued: int, spent: int, grouped: int) -> None:
    """The orphan sweep (workers/orphans.py, in a worker's main process) settled what it found."""
    if not enabled():
        return
    m = _m()
    m["orphans"].labels("requeued").inc(requeued)
    m["orphans"].labels("spent").inc(spent)
    m["orphans"].labels("grouped").inc(grouped)


def on_failure(sender: Any = None, exception: BaseException | None = None, **_: Any) -> None:
    if enabled() and sender is not None:
        _m()["exceptions"].labels(sender.name, type(exception).__name__).inc()


def on_retry(sender: Any = None, reason: Any = None, request: Any = None, **_: Any) -> None:
    if enabled() and sender is not None:
        exc = getattr(reason, "exc", None) or reason
        _m()["exceptions"].labels(sender.name, type(exc).__name__).inc()


def on_publish(sender: str | None = None, body: Any = None, **_: Any) -> None:
    """A task sent a failure record: count it, and mark the running task as failed."""
    if sender != FAILURE_TASK or not enabled():
        return
    failure = _message(body[0] if isinstance(body, (list, tuple)) and body else [])
    _m()["failures"].labels(failure.get("stage") or "unknown", failure.get("reason") or "unknown").inc()
    running = getattr(_local, "running", None)
    if running is not None:
        running["failed"] = True


def _message(args: Any) -> dict[str, Any]:
    if isinstance(args, (list, tuple)) and args and isinstance(args[0], dict):
        return args[0]
    return {}


class RedisCollector:
    """Gauges read from Redis at scrape time: queue depths and pages fetched by crawlers."""

    def __init__(self, redis_url: str | None) -> None:
        self.redis_url = redis_url
        self._client: Any = None

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        from schemas.pipeline import queue_names

        depth = GaugeMetricFamily("transcrawl_queue_depth", "Messages waiting per queue (cluster-wide)",
                                  labels=["queue"])
        fetched = CounterMetricFamily("transcrawl_pages_fetched", "Pages fetched and queued by crawlers"
                                      " (cluster-wide)")
        up = GaugeMetricFamily("transcrawl_redis_up", "1 when Redis answered this scrape")
        try:
            client = self._redis()
            queues = queue_names(client)
            with client.pipeline() as pipe:
                for queue in queues:
                    pipe.llen(queue)
                pipe.hlen("unacked")
                pipe.hget(stats_key("crawler"), "pages_queued")
                *lengths, unacked, pages = pipe.execute()
        except Exception as exc:  # a scrape must answer even while Redis is down
            log.warning("metrics: Redis unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        for queue, length in zip(queues, lengths, strict=True):
            depth.add_metric([queue], int(length))
        depth.add_metric(["unacked"], int(unacked))
        fetched.add_metric([], int(pages or 0))
        up.add_metric([], 1)
        yield from (depth, fetched, up)

    def _redis(self) -> Any:
        if self._client is None:
            import redis

            if not self.redis_url:
                raise RuntimeError("no Redis URL")
            self._client = redis.Redis.from_url(self.redis_url, socket_timeout=2)
        return self._client

