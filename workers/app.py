"""The workers' Celery app: the delivery policy from ``schemas.pipeline``, settings handed in.

:func:`configure` gives the app its settings (``transcrawl worker`` calls it before
``worker_main``, so the pool's processes inherit them); each pool process then builds its own
``workers.context`` in ``worker_process_init``. Started by ``celery -A workers.app`` (``worker``,
``flower``) nobody configured it: the settings are read from the environment when the app's
configuration is first needed (Celery's ``on_configure``). Importing this module reads nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery
from celery.signals import (
    after_task_publish,
    setup_logging,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

from foundation.settings import Settings
from schemas.pipeline import celery_config
from workers import broker_guard, context

app = Celery("transcrawl", include=["workers.tasks"])

Handler = Callable[..., None]


def configure(settings: Settings) -> Celery:
    """Use ``settings`` in this worker and the processes it forks; point the app at their Redis."""
    context.configure(settings)
    _apply(settings)
    return app


def _apply(settings: Settings) -> None:
    if settings.redis_url:
        app.conf.update(celery_config(settings.redis_url, task_time_limit=settings.task_time_limit,
                                      soft_time_limit=settings.task_soft_time_limit))


def _on(signal: Any) -> Callable[[Handler], Handler]:
    """Connect a handler to a Celery signal (Celery ships no type hints: this keeps them)."""

    def connect(handler: Handler) -> Handler:
        signal.connect(handler, weak=False)
        return handler

    return connect


@_on(app.on_configure)
def _configure_on_first_use(**_: Any) -> None:
    # The app's configuration is read for the first time: settings given to configure(), or
    # (``celery -A workers.app ...``) the environment, read now rather than at import.
    _apply(context.settings())


broker_guard.install(lambda: app.conf.broker_url)


@_on(worker_process_init)
def _init_process(**_: Any) -> None:
    # Runs in each forked child: its context (and Sentry) start here, never before the fork.
    from foundation.observability import init_sentry

    init_sentry(context.start().settings, component="worker")


@_on(setup_logging)
def _setup_logging(loglevel: Any = None, **_: Any) -> None:
    # Connecting this signal stops Celery from configuring logging itself: our JSON/text handler
    # (with the task's site, URL and id on every line) is the only one.
    from foundation.observability import setup_logging as setup

    setup(context.settings(), level=loglevel or "INFO")


@_on(worker_init)
def _init_worker(**_: Any) -> None:
    # Main process, before the pool forks: the children inherit PROMETHEUS_MULTIPROC_DIR.
    from workers import metrics

    metrics.prepare(context.settings())


@_on(worker_ready)
def _worker_ready(**_: Any) -> None:
    from workers import metrics

    metrics.serve(context.settings())


@_on(worker_shutdown)
def _worker_shutdown(**_: Any) -> None:
    from workers import metrics

    metrics.cleanup()


@_on(worker_process_shutdown)
def _process_shutdown(pid: int | None = None, **_: Any) -> None:
    from workers import metrics

    metrics.process_exit(pid)
    context.stop()


@_on(task_prerun)
def _task_prerun(task_id: str, task: Any, args: Any = None, **kwargs: Any) -> None:
    from foundation import logging_context
    from workers import metrics

    message = args[0] if args and isinstance(args[0], dict) else {}
    logging_context.bind(site=message.get("site"), url=message.get("url"), task_id=task_id,
                         task=task.name)
    metrics.on_prerun(task_id=task_id, task=task, args=args, **kwargs)


@_on(task_postrun)
def _task_postrun(**kwargs: Any) -> None:
    from foundation import logging_context
    from workers import metrics

    metrics.on_postrun(**kwargs)
    logging_context.clear()


@_on(task_failure)
def _task_failure(**kwargs: Any) -> None:
    from workers import metrics

    metrics.on_failure(**kwargs)


@_on(task_retry)
def _task_retry(**kwargs: Any) -> None:
    from workers import metrics

    metrics.on_retry(**kwargs)


@_on(after_task_publish)
def _after_publish(**kwargs: Any) -> None:
    from workers import metrics

    metrics.on_publish(**kwargs)
