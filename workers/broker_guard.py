"""Keep a worker alive when its Redis broker goes away with messages delivered but unacked.

When the broker connection drops, Celery closes the consumer's channel, and kombu's Redis QoS
then pushes the delivered-but-unacknowledged messages back onto their queues. In kombu 5.7 that
restore can run after the transport's connection info was already torn down, and building a
client from it raises ``AttributeError: 'NoneType' object has no attribute 'hostname'``
(the same failure as celery/kombu#582 and #970). Celery calls that an "Unrecoverable error" and
the worker process exits: nothing is lost (the messages stay in kombu's unacked hash in Redis and
come back after the visibility timeout), but the worker is gone until something restarts it.

The guard puts connection info made from the broker URL back on the transport before the
restore runs, so the channel builds its clients as usual (it needs them for the restore itself
and for its exchange look-ups; with a client handed in from outside, the look-up fails quietly
and kombu drops the message from the unacked hash without requeueing it). If Redis is still down,
the restore raises a Redis ``ConnectionError``, which Celery's close path ignores, and the
messages wait for the visibility timeout as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis
from kombu.connection import Connection
from kombu.transport import redis as kombu_redis

log = logging.getLogger(__name__)


def install(broker_url: Callable[[], str | None]) -> None:
    """Wrap kombu's Redis ``QoS.restore_unacked`` once per process; ``broker_url`` is read late."""
    original: Callable[..., Any] = kombu_redis.QoS.restore_unacked
    if getattr(original, "transcrawl_guard", False):
        return

    def restore_unacked(self: Any, client: Any = None) -> Any:
        transport = self.channel.connection
        if client is None and getattr(transport, "client", None) is None:
            url = broker_url()
            if not url:
                raise redis.ConnectionError("broker connection is gone and no broker URL is set")
            log.warning("broker connection gone: restoring %d unacked message(s) over a new connection",
                        len(self._delivered))
            transport.client = Connection(url)  # type: ignore[no-untyped-call]
        return original(self, client)

    restore_unacked.transcrawl_guard = True  # type: ignore[attr-defined]
    kombu_redis.QoS.restore_unacked = restore_unacked  # type: ignore[method-assign]  # the guard is a patch
