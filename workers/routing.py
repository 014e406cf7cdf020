"""A dedicated translate worker keeps its languages advertised (the rule is ``schemas.pipeline``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import redis

from schemas.pipeline import ADVERTISE_EVERY, advertise


def keep_advertising(redis_url: str, languages: Sequence[str]) -> threading.Thread:
    """Renew the advertisement from a daemon thread for as long as this process lives."""

    def loop() -> None:
        client = redis.Redis.from_url(redis_url)
        while True:
            try:
                advertise(client, languages)
            except redis.RedisError:
                pass  # Redis is down: the next renewal (or the expiry) settles it
            time.sleep(ADVERTISE_EVERY)

    thread = threading.Thread(target=loop, name="advertise-languages", daemon=True)
    thread.start()
    return thread
