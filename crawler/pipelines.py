"""Item pipeline: raw page → Redis (compressed, with a TTL) → ``extract`` task sent by name.

The crawler never imports the workers: it only knows the contract in ``schemas``.
"""

from __future__ import annotations

from typing import TypeVar

from celery import Celery
from redis.typing import EncodableT, FieldT
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.backpressure import QueueBackpressure
from crawler.items import CrawlFailure, FetchedPage
from crawler.state import CrawlState, off_reactor
from crawler.urls import canonical_url
from schemas.keys import raw_page_key, stats_key
from schemas.messages import ExtractMessage
from schemas.pipeline import EXTRACT, RECORD_FAILURE, producer, send

Item = TypeVar("Item")


class RawPageQueuePipeline:
    """Stores each fetched page under a claim-check key and queues its extraction; sends each
    crawl failure to ``record_failure``. Both go through Redis and the broker, off the reactor."""

    def __init__(self, state: CrawlState, celery: Celery, ttl: int) -> None:
        self.state, self.celery, self.ttl = state, celery, ttl

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RawPageQueuePipeline:
        url = crawler.settings.get("TRANSCRAWL_REDIS_URL")
        if not url:
            raise NotConfigured("TRANSCRAWL_REDIS_URL is not set")
        return cls(CrawlState.of(crawler), producer(url), crawler.settings.getint("TRANSCRAWL_RAW_PAGE_TTL"))

    async def process_item(self, item: Item) -> Item:
        if isinstance(item, FetchedPage):
            try:
                await off_reactor(self._queue_page, item)
            finally:
                if item.holds_place:  # queued (or failed): the queue depth counts it from now on
                    QueueBackpressure.release_place()
        elif isinstance(item, CrawlFailure):
            await off_reactor(self._record_failure, item)
        return item

    def _queue_page(self, item: FetchedPage) -> None:
        page, state = item.page, self.state
        key = raw_page_key(page.url)
        fields = dict[FieldT, EncodableT](page.encode(item.body).items())  # str keys are fields too
        with state.client.pipeline() as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, self.ttl)
            pipe.hincrby(stats_key("crawler"), "pages_queued", 1)
            pipe.execute()
        send(self.celery, EXTRACT, ExtractMessage(raw_key=key, url=page.url, site=page.site).to_json())
        # Marked seen only once safely queued: a page lost before this point is fetched again.
        state.seen.add(page.url)
        final = canonical_url(page.final_url)
        if final != page.url:  # redirected: the target may be listed too (its own request was a dupe)
            state.seen.add(final)
        state.pending.done(page.url)

    def _record_failure(self, item: CrawlFailure) -> None:
        self.state.pending.failed(item.url)  # tried again next run, up to frontier.MAX_ATTEMPTS
        send(self.celery, RECORD_FAILURE, item.message().to_json())
