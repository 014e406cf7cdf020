"""Per-site memory of URLs already queued, in Redis: bounded in size, entries expire."""

from __future__ import annotations

import time
from collections.abc import Iterable

import redis

from schemas.keys import seen_key


class SeenSet:
    """A sorted set per site: member = canonical URL, score = when it was queued.

    Bounded two ways: entries older than ``ttl`` seconds are forgotten (so updated articles can be
    fetched again), and only the newest ``max_size`` entries are kept.
    """

    def __init__(self, client: redis.Redis, site: str, *, max_size: int, ttl: int) -> None:
        self.client, self.key, self.max_size, self.ttl = client, seen_key(site), max_size, ttl

    def unseen(self, urls: Iterable[str]) -> list[str]:
        """The URLs not queued within the last ``ttl`` seconds, in the order given."""
        urls = list(dict.fromkeys(urls))
        if not urls:
            return []
        scores = self.client.zmscore(self.key, urls)
        cutoff = time.time() - self.ttl
        return [u for u, s in zip(urls, scores) if s is None or s < cutoff]

    def add(self, url: str) -> None:
        now = time.time()
        with self.client.pipeline() as pipe:
            pipe.zadd(self.key, {url: now})
            pipe.zremrangebyscore(self.key, "-inf", now - self.ttl)
            pipe.zremrangebyrank(self.key, 0, -self.max_size - 1)
            pipe.execute()

    def __len__(self) -> int:
        return int(self.client.zcard(self.key))
