"""Incremental discovery: conditional GET on feeds, sitemaps and homepages.

The validators (``ETag``, ``Last-Modified``) of each discovery URL are kept per site in one Redis
hash. They are saved only after the body parsed, so a broken feed is fetched in full again next
run instead of being answered 304 forever. A sitemap index also remembers its child sitemaps, so
a 304 on the index still lets the children be asked (conditionally) whether *they* changed.
"""

from __future__ import annotations

import json
from typing import Any

import redis
from scrapy.crawler import Crawler
from scrapy.http import Request, Response

from schemas.keys import validators_key

NOT_MODIFIED = 304



class Validators:
    """``url -> {"etag", "last_modified", "children"}`` for one site, loaded once per run."""

    def __init__(self, client: redis.Redis, site: str, *, ttl: int) -> None:
        self.client, self.key, self.ttl = client, validators_key(site), ttl
        raw = client.hgetall(self.key)
        self.known: dict[str, dict[str, Any]] = {k.decode(): json.loads(v) for k, v in raw.items()}

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


class ConditionalGet:
    """Downloader middleware: adds ``If-None-Match`` / ``If-Modified-Since`` to discovery requests
    (``meta["conditional"]``) and lets a 304 through to the callback, which counts it and stops.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalGet:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        validators = getattr(self.crawler.spider, "validators", None)
        if validators is None or not request.meta.get("conditional"):
            return None
        for name, value in validators.headers(request.meta.get("source", request.url)).items():
            request.headers.setdefault(name, value)
        # A 304 is an answer, not an error: HttpErrorMiddleware must hand it to the callback.
        handled = list(request.meta.get("handle_httpstatus_list", ()))
        if NOT_MODIFIED not in handled:
            request.meta["handle_httpstatus_list"] = [*handled, NOT_MODIFIED]
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status == NOT_MODIFIED and request.meta.get("conditional") and self.crawler.stats:
            self.crawler.stats.inc_value("transcrawl/not_modified")
        return response
