"""Per-site memory of discovery validators (``ETag``, ``Last-Modified``) in Redis, for conditional GET.

The validators of each feed, sitemap and homepage URL are kept per site in one Redis hash. They
are saved only after the body parsed, so a broken feed is fetched in full again next run instead
of being answered 304 forever. A sitemap index also remembers its child sitemaps, so a 304 on the
index still lets the children be asked (conditionally) whether *they* changed.
"""

from __future__ import annotations

import json
from typing import Any, cast

import redis
from scrapy.http import Response

from schemas.keys import validators_key


class Validators:
    """``url -> {"etag", "last_modified", "children"}`` for one site, loaded once per run.

    :meth:`load`, :meth:`save` and :meth:`forget` call Redis (blocking: keep them off the reactor);
    :meth:`headers` and :meth:`children` read the copy in memory.
    """

    def __init__(self, client: redis.Redis, site: str, *, ttl: int) -> None:
        self.client, self.key, self.ttl = client, validators_key(site), ttl
        self.known: dict[str, dict[str, Any]] = {}

    def load(self) -> None:
        raw = cast(dict[bytes, bytes], self.client.hgetall(self.key))
        self.known = {k.decode(): json.loads(v) for k, v in raw.items()}

    def headers(self, url: str) -> dict[str, str]:
        entry = self.known.get(url) or {}
        headers = {}
        if entry.get("etag"):
            headers["If-None-Match"] = entry["etag"]
        if entry.get("last_modified"):
            headers["If-Modified-Since"] = entry["last_modified"]
        return headers

    def children(self, url: str) -> list[str]:
        return list((self.known.get(url) or {}).get("children", []))

    def save(self, url: str, response: Response, children: list[str] | None = None) -> None:
        """Remember the validators of a 200 whose body parsed (nothing to remember: forget)."""
        etag = response.headers.get("ETag")
        modified = response.headers.get("Last-Modified")
        if not etag and not modified:
            self.forget(url)
            return
        entry = {"etag": etag.decode("latin-1") if etag else None,
                 "last_modified": modified.decode("latin-1") if modified else None,
                 "children": children or []}
        self.known[url] = entry
        with self.client.pipeline() as pipe:
            pipe.hset(self.key, url, json.dumps(entry))
            pipe.expire(self.key, self.ttl)
            pipe.execute()

    def forget(self, url: str) -> None:
        if self.known.pop(url, None) is not None:
            self.client.hdel(self.key, url)
