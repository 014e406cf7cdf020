"""Which translate queue an article goes to: its language's dedicated queue, or the general one.

Workers started with ``--languages zh,de`` consume ``translate.zh`` and ``translate.de`` and
advertise those languages in Redis with an expiry, renewed while they live. Articles in an
advertised language go to its queue; all others go to ``translate``, which general workers
consume. If the dedicated workers stop, the advertisement expires and new articles fall back to
the general queue; messages already waiting in a dedicated queue stay there, visible in
``transcrawl status``, until a worker for that language returns.
"""

from __future__ import annotations

import threading
import time

import redis

from schemas.contract import DEDICATED_LANGUAGES_KEY, QUEUE_TRANSLATE, translate_queue

ADVERTISE_EVERY = 30.0  # seconds between renewals
ADVERTISE_FOR = 90.0  # an advertisement outlives two missed renewals

_cache: dict[str, float] = {}
_cache_read_at = 0.0
_CACHE_SECONDS = 10.0


def queue_for(client: redis.Redis, language: str) -> str:
    """The translate queue for ``language`` (cached for a few seconds per process)."""
    global _cache, _cache_read_at
    now = time.time()
    if now - _cache_read_at > _CACHE_SECONDS:
        raw = client.hgetall(DEDICATED_LANGUAGES_KEY)
        _cache = {k.decode(): float(v) for k, v in raw.items()}
        _cache_read_at = now
    return translate_queue(language) if _cache.get(language, 0) > now else QUEUE_TRANSLATE


def advertise(client: redis.Redis, languages: list[str]) -> None:
    until = time.time() + ADVERTISE_FOR
    client.hset(DEDICATED_LANGUAGES_KEY, mapping={lang: until for lang in languages})


def keep_advertising(redis_url: str, languages: list[str]) -> threading.Thread:
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
