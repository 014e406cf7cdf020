"""Delivery counters: how many deliveries of a message began in a process that never ended them.

A counter is raised when a delivery starts work and deleted when that work ends, whatever its
fate (``workers.tasks.run_with_fate``); what is left counts the deliveries whose process died
under them (a segfault, the OOM killer). Past ``max_deliveries`` the message is poison. A retry
is a new message with the same task id, so a counter is keyed on (task id, retries).
"""

from __future__ import annotations

import logging

import redis

from schemas.keys import deliveries_key
from schemas.pipeline import visibility_timeout

log = logging.getLogger(__name__)


def key(task_id: str, retries: int) -> str:
    return deliveries_key(f"{task_id}:{retries}")


def enter(client: redis.Redis, keys: list[str], *, max_deliveries: int, task_time_limit: int) -> list[int]:
    """Count one more unfinished delivery for each key; return each key's count."""
    # Outlive the redeliveries: a worker killed outright gives its messages back only after the
    # visibility timeout, once per delivery.
    ttl = visibility_timeout(task_time_limit) * (max_deliveries + 1)
    with client.pipeline() as pipe:
        for k in keys:
            pipe.incr(k)
            pipe.expire(k, ttl)
        replies = pipe.execute()
    return [int(count) for count in replies[::2]]


def forget(client: redis.Redis, counter: str) -> None:
    """The delivery ended in a live process: it was no poison."""
    try:
        client.delete(counter)
    except redis.RedisError as exc:  # the counter expires anyway
        log.info("could not delete delivery counter %s: %s", counter, exc)
