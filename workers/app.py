"""The Celery app of the workers; configuration comes from ``schemas.queues`` and the settings."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from schemas.queues import celery_config
from transcrawl.settings import Settings

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


@worker_process_init.connect
def _init_process(**_: Any) -> None:
    # Runs in each forked child: Sentry (and, lazily, models and pools) start here, never before fork.
    from transcrawl.observability import init_sentry
    from workers import resources

    init_sentry(resources.settings(), component="worker")
