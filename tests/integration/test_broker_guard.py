"""A worker whose Redis broker drops with messages delivered but unacked keeps them and lives on."""

from __future__ import annotations

import contextlib
import uuid

import redis
from kombu import Connection

from foundation.settings import Settings
from workers.app import (
    configure,  # importing the app installs the guard, as in every worker
)


def test_unacked_messages_are_restored_when_the_transport_is_torn_down(settings: Settings) -> None:
    """What Celery does when the broker connection drops: close the channel, which pushes the
    delivered-but-unacked messages back. kombu may already have cleared the transport's
    connection info by then; without the guard that raised AttributeError and the worker exited."""
    configure(settings)  # the worker's broker URL
    url = settings.redis_url or ""
    name = f"guard-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(url)
    conn = Connection(url)
    try:
        queue = conn.SimpleQueue(name)
        queue.put({"page": 1})
        message = queue.get(timeout=5)  # delivered, not acknowledged
        assert message.payload == {"page": 1} and client.llen(name) == 0
        queue.channel.connection.client = None  # the state kombu leaves after a lost connection
        queue.channel.close()  # drops its pools, then restores the unacked messages
        assert client.llen(name) == 1  # back on its queue at once, not after the visibility timeout
    finally:
        with contextlib.suppress(Exception):
            conn.close()
        client.delete(name)
        client.close()
