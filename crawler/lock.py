"""One crawler per site at a time: a Redis lock with a token and an expiry, renewed while crawling.

``SET key token NX PX ttl`` takes it; renewing and releasing compare the token first (in Lua, so
the check and the write are one step), so a crawler whose lock expired can never extend or delete
the lock another crawler has taken since. A crawler that dies leaves a lock that expires by itself.
"""

from __future__ import annotations

import os
import socket
import uuid

import redis

from schemas.keys import crawl_lock_key

_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"



class SiteLock:
    """The crawl lock of one site; the token names the holder (host, pid) for humans."""

    def __init__(self, client: redis.Redis, site: str, *, ttl: float) -> None:
        self.client, self.site, self.key = client, site, crawl_lock_key(site)
        self.ttl_ms = max(1000, int(ttl * 1000))
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.held = False

    def acquire(self) -> bool:
        self.held = bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
        return self.held

    def renew(self) -> bool:
        """Extend the expiry; False means the lock was lost (expired, maybe taken by another)."""
        self.held = bool(self.client.eval(_RENEW, 1, self.key, self.token, self.ttl_ms))
        return self.held

    def release(self) -> None:
        if self.held:
            self.client.eval(_RELEASE, 1, self.key, self.token)
            self.held = False

    def holder(self) -> str | None:
        raw = self.client.get(self.key)
        return raw.decode() if isinstance(raw, bytes) else raw


def locked_sites(client: redis.Redis, sites: list[str]) -> set[str]:
    """Which of ``sites`` some crawler holds the lock of right now."""
    if not sites:
        return set()
    values = client.mget([crawl_lock_key(s) for s in sites])
    return {s for s, v in zip(sites, values) if v is not None}
