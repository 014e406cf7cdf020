"""Article URLs found but not yet queued: carried over to the site's next run.

Conditional GET means an unchanged feed is not read again, so a URL that a run found but did not
fetch (over the per-run cap, or its fetch failed) would never be found again. Each such URL waits
here, per site, with the number of runs that tried it; the next run asks for it first. A URL leaves
when its page is queued, after ``MAX_ATTEMPTS`` failed runs (the ``failures`` table has it), or
when the whole set expires unused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import cast

import redis
from redis.client import Pipeline

from schemas.keys import pending_key

MAX_ATTEMPTS = 3


class Pending:
    """A sorted set per site: member = canonical URL, score = failed runs so far."""

    def __init__(self, client: redis.Redis, site: str, *, max_size: int, ttl: int) -> None:
        self.client, self.key, self.max_size, self.ttl = client, pending_key(site), max_size, ttl

    def urls(self) -> list[str]:
        """The URLs still worth a try, fewest failures first."""
        self.client.zremrangebyscore(self.key, MAX_ATTEMPTS, "+inf")
        members = cast(list[bytes], self.client.zrangebyscore(self.key, 0, MAX_ATTEMPTS - 1))
        return [m.decode() for m in members]

    def defer(self, urls: Iterable[str]) -> None:
        """Found but left for later (no failure counted)."""
        members = {u: 0 for u in urls}
        if members:
            self._write(lambda pipe: pipe.zadd(self.key, members, nx=True))

    def failed(self, url: str) -> None:
        self._write(lambda pipe: pipe.zincrby(self.key, 1, url))

    def done(self, url: str) -> None:
        self.client.zrem(self.key, url)

    def _write(self, command: Callable[[Pipeline], object]) -> None:
        with self.client.pipeline() as pipe:
            command(pipe)
            pipe.expire(self.key, self.ttl)
            pipe.zremrangebyrank(self.key, self.max_size, -1)  # bounded: the most-failed go first
            pipe.execute()
