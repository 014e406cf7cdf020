"""The whole queue topology and Celery delivery policy, in one place.

Both the crawler (which only *sends* tasks, by name) and the workers build their Celery app from
:func:`celery_config`, so routing and serialisation can never disagree.
"""

from __future__ import annotations

from typing import Any

from schemas.contract import (
    EXTRACT_TASK,
    FAILURE_TASK,
    QUEUE_EXTRACT,
    QUEUE_STORE,
    QUEUE_TRANSLATE,
    STORE_TASK,
    TRANSLATE_TASK,
)

TASK_ROUTES = {
    EXTRACT_TASK: {"queue": QUEUE_EXTRACT},
    TRANSLATE_TASK: {"queue": QUEUE_TRANSLATE},
    STORE_TASK: {"queue": QUEUE_STORE},
    FAILURE_TASK: {"queue": QUEUE_STORE},
}


def celery_config(redis_url: str, *, task_time_limit: int = 600, soft_time_limit: int = 540) -> dict[str, Any]:
    """Celery settings for producers and workers alike."""
    return {
        "broker_url": redis_url,
        "task_ignore_result": True,
        "result_backend": None,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_routes": TASK_ROUTES,
        "task_default_queue": QUEUE_EXTRACT,
        # Redelivery safety: a task is acknowledged only after it ran, and a worker that dies
        # mid-task gives it back. Tasks are idempotent (upserts keyed on the canonical URL).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": task_time_limit,
        "task_soft_time_limit": soft_time_limit,
        # Must exceed the hard time limit, or a long task is redelivered while it still runs.
        "broker_transport_options": {"visibility_timeout": task_time_limit * 6},
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": True,
        "task_send_sent_event": False,
    }
