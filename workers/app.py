"""The Celery app of the workers; configuration comes from ``schemas.queues`` and the settings."""

from __future__ import annotations

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
from workers import broker_guard

app = Celery("transcrawl", include=["workers.tasks"])


def configure(settings: Settings) -> Celery:
    """Point the app at ``settings``' Redis with the shared delivery policy."""
    from workers import resources

    resources.configure(settings)
    if settings.redis_url:
        app.conf.update(celery_config(settings.redis_url, task_time_limit=settings.task_time_limit,
                                      soft_time_limit=settings.task_soft_time_limit))
    return app


configure(Settings.from_env())
broker_guard.install(lambda: app.conf.broker_url)


@worker_process_init.connect
def _init_process(**_: Any) -> None:
    # Runs in each forked child: Sentry (and, lazily, models and pools) start here, never before fork.
    from foundation.observability import init_sentry
    from workers import resources

    init_sentry(resources.settings(), component="worker")


@setup_logging.connect
def _setup_logging(loglevel: Any = None, **_: Any) -> None:
    # Connecting this signal stops Celery from configuring logging itself: our JSON/text handler
    # (with the task's site, URL and id on every line) is the only one.
    from foundation.observability import setup_logging as setup
    from workers import resources

    setup(resources.settings(), level=loglevel or "INFO")


@worker_init.connect
def _init_worker(**_: Any) -> None:
    # Main process, before the pool forks: the children inherit PROMETHEUS_MULTIPROC_DIR.
    from workers import metrics, resources

    metrics.prepare(resources.settings())


@worker_ready.connect
def _worker_ready(**_: Any) -> None:
    from workers import metrics, resources

    metrics.serve(resources.settings())


@worker_shutdown.connect
def _worker_shutdown(**_: Any) -> None:
    from workers import metrics

    metrics.cleanup()


@worker_process_shutdown.connect
def _process_shutdown(pid: int | None = None, **_: Any) -> None:
    from workers import metrics

    metrics.process_exit(pid)


@task_prerun.connect
def _task_prerun(task_id: str, task: Any, args: Any = None, **kwargs: Any) -> None:
    from foundation import logging_context
    from workers import metrics

    message = args[0] if args and isinstance(args[0], dict) else {}
    logging_context.bind(site=message.get("site"), url=message.get("url"), task_id=task_id,
                         task=task.name)
    metrics.on_prerun(task_id=task_id, task=task, args=args, **kwargs)


@task_postrun.connect
def _task_postrun(**kwargs: Any) -> None:
    from foundation import logging_context
    from workers import metrics

    metrics.on_postrun(**kwargs)
    logging_context.clear()


@task_failure.connect
def _task_failure(**kwargs: Any) -> None:
    from workers import metrics

    metrics.on_failure(**kwargs)


@task_retry.connect
def _task_retry(**kwargs: Any) -> None:
    from workers import metrics

    metrics.on_retry(**kwargs)


@after_task_publish.connect
def _after_publish(**kwargs: Any) -> None:
    from workers import metrics

    metrics.on_publish(**kwargs)
