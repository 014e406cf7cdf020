"""A translate node's record of what it holds: kept until the message is acknowledged."""

from __future__ import annotations

from types import SimpleNamespace

import redis
from kombu.transport.redis import Channel

from foundation.settings import Settings
from transcrawl.nodes import HeldDeliveries


def received(held: HeldDeliveries, task_id: str, tag: str) -> None:
    held._hold(tag, task_id)  # as the node's kombu records it
    held._received(request=SimpleNamespace(id=task_id, message=SimpleNamespace(delivery_tag=tag)))


def test_a_record_outlives_its_task_until_the_ack(settings: Settings) -> None:
    """Celery sends task_postrun before the late ack: a node killed in between must still give
    the message back, so the record goes only once kombu's ``unacked`` entry has gone."""
    client = redis.Redis.from_url(settings.redis_url or "")
    held = HeldDeliveries(settings.redis_url or "", "translate@test-held")
    client.delete(held.key, Channel.unacked_key)
    client.hset(Channel.unacked_key, "tag-1", "{}")  # delivered, as kombu records it
    received(held, "task-1", "tag-1")
    held._ended(task_id="task-1")  # postrun: the task returned, the ack has not happened yet
    assert client.hkeys(held.key) == [b"tag-1"]

    client.hdel(Channel.unacked_key, "tag-1")  # the ack
    client.hset(Channel.unacked_key, "tag-2", "{}")
    received(held, "task-2", "tag-2")
    held._ended(task_id="task-2")
    assert client.hkeys(held.key) == [b"tag-2"]  # tag-1 forgotten; tag-2 waits for its ack
    client.delete(held.key, Channel.unacked_key)
