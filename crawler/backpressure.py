"""Hold article downloads while the workers are behind, so Redis never grows without bound."""

from __future__ import annotations

import logging
from typing import Any

import redis
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request

from crawler.politeness import sleep
from crawler.state import CrawlState, off_reactor
from schemas.pipeline import QUEUE_EXTRACT

log = logging.getLogger(__name__)


class QueueBackpressure:
    """Downloader middleware: an article request waits while queued extract tasks plus article
    downloads in flight exceed ``high``, until they drop below ``low``. Feeds and sitemaps go on.

    Waiting here, before the download, is what bounds Redis: pausing the engine would not stop
    requests already handed to the downloader. In-flight downloads are counted across all the
    spiders of this process, so the bound holds however many sites crawl at once. The queue depth
    is read in a thread (``LLEN`` is network I/O); the in-flight count is read after that read
    returns and raised at once, so requests let through together still count each other.
    """

    in_flight = 0  # article requests let through and not yet answered, in this process

    def __init__(self, client: redis.Redis, high: int, interval: float) -> None:
        self.client, self.high, self.low, self.interval = client, high, max(1, high * 3 // 4), interval
        self.full = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> QueueBackpressure:
        settings = crawler.settings
        high = settings.getint("TRANSCRAWL_MAX_QUEUED_PAGES")
        if not high:
            raise NotConfigured("no raw-page queue bound")
        return cls(CrawlState.of(crawler).client, high, settings.getfloat("TRANSCRAWL_BACKPRESSURE_INTERVAL", 0.5))

    async def process_request(self, request: Request, spider: Any = None) -> None:
        if "canonical" not in request.meta:  # only article pages feed the queue
            return
        if request.meta.get("transcrawl_gated"):
            # A retry or redirect of a request let through already: a middleware returned it
            # before our process_response saw the answer, so it still holds its place.
            return
        waited = False
        while self._is_full(await off_reactor(self._depth)):
            if not waited:
                log.info("backpressure: over %d pages queued; holding %s", self.high, request.url)
                waited = True
            await sleep(self.interval)
        QueueBackpressure.in_flight += 1  # no await since the check: nothing else ran in between
        request.meta["transcrawl_gated"] = True
        return

    def process_response(self, request: Request, response: Any, spider: Any = None) -> Any:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> None:
        self._release(request)

    def _release(self, request: Request) -> None:
        if request.meta.pop("transcrawl_gated", False):
            QueueBackpressure.in_flight -= 1

    def _is_full(self, queued: int) -> bool:
        depth = queued + QueueBackpressure.in_flight
        if depth > self.high:
            self.full = True
        elif depth < self.low:
            self.full = False
        return self.full

    def _depth(self) -> int:
        """Blocking: the extract tasks waiting in the broker."""
        try:
            return int(self.client.llen(QUEUE_EXTRACT))
        except redis.RedisError as exc:  # cannot tell: holding is the safe side
            log.warning("backpressure: cannot read queue depth (%s)", exc)
            return self.high + 1
