"""Item pipeline: raw page → Redis (compressed, with a TTL) → ``extract`` task sent by name.

The crawler never imports the workers: it only knows the contract in ``schemas``.
"""

from __future__ import annotations

from typing import Any

import redis
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.frontier import Pending
from crawler.seen import SeenSet
from crawler.urls import canonical_url
from schemas.keys import raw_page_key, stats_key
from schemas.messages import ExtractMessage, FailureMessage, RawPage
from schemas.pipeline import EXTRACT, RECORD_FAILURE, producer, send


class RawPageQueuePipeline:
    """Stores each fetched page under a claim-check key and queues its extraction."""

    def __init__(self, redis_url: str, ttl: int, seen_max: int, seen_ttl: int) -> None:
        self.redis = redis.Redis.from_url(redis_url)
        self.celery = producer(redis_url)
        self.ttl, self.seen_max, self.seen_ttl = ttl, seen_max, seen_ttl

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RawPageQueuePipeline:
        settings = crawler.settings
        url = settings.get("TRANSCRAWL_REDIS_URL")
        if not url:
            raise NotConfigured("TRANSCRAWL_REDIS_URL is not set")
        return cls(url, settings.getint("TRANSCRAWL_RAW_PAGE_TTL"),
                   settings.getint("TRANSCRAWL_SEEN_MAX"), settings.getint("TRANSCRAWL_SEEN_TTL"))

    async def process_item(self, item: dict[str, Any]) -> Any:
        # Redis and the broker are network I/O: keep them off the reactor thread.
        handler = self._record_failure if item.get("failure") else self._queue_page
        return await deferred_to_future(deferToThread(handler, item))

    def _queue_page(self, item: dict[str, Any]) -> dict[str, Any]:
        body: bytes = item["body"]
        page = RawPage(**{k: item[k] for k in ("url", "site", "country", "site_language",
                                              "fetched_at", "status", "content_type", "final_url", "overrides")})
        key = raw_page_key(page.url)
        with self.redis.pipeline() as pipe:
            pipe.hset(key, mapping=page.encode(body))
            pipe.expire(key, self.ttl)
            pipe.hincrby(stats_key("crawler"), "pages_queued", 1)
            pipe.execute()
        send(self.celery, EXTRACT, ExtractMessage(raw_key=key, url=page.url, site=page.site).to_json())
        # Marked seen only once safely queued: a page lost before this point is fetched again.
        seen = SeenSet(self.redis, page.site, max_size=self.seen_max, ttl=self.seen_ttl)
        seen.add(page.url)
        final = canonical_url(page.final_url)
        if final != page.url:  # redirected: the target may be listed too (its own request was a dupe)
            seen.add(final)
        Pending(self.redis, page.site, max_size=self.seen_max, ttl=self.seen_ttl).done(page.url)
        return {"url": page.url, "site": page.site, "raw_key": key, "bytes": len(body)}

    def _record_failure(self, item: dict[str, Any]) -> dict[str, Any]:
        failure = FailureMessage(url=item["url"], site=item["site"], stage="crawl",
                                 reason=item["reason"], detail=item["detail"])
        send(self.celery, RECORD_FAILURE, failure.to_json())
        return failure.to_json()

    def close_spider(self, spider: Any = None) -> None:
        self.redis.close()
