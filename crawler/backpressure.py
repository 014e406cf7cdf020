"""Hold article downloads while the workers are behind, so Redis never grows without bound."""

from __future__ import annotations

import logging
from typing import Any

import redis
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request
from scrapy.utils.defer import deferred_to_future
from twisted.internet.defer import DeferredLock

from crawler.politeness import sleep
from crawler.state import CrawlState, off_reactor
from schemas.pipeline import QUEUE_EXTRACT

log = logging.getLogger(__name__)

GATED = "transcrawl_gated"  # request.meta: let through by the gate, holding a place


class QueueBackpressure:
    """Downloader middleware: an article request waits while queued extract tasks plus article
    downloads in flight exceed ``high``, until they drop below ``low``. Feeds and sitemaps go on.

    Waiting here, before the download, is what bounds Redis: pausing the engine would not stop
    requests already handed to the downloader. In-flight downloads are counted across all the
    spiders of this process, so the bound holds however many sites crawl at once. The queue depth
    is read in a thread (``LLEN`` is network I/O), one request at a time, so requests let through
    together still count each other.
    """

    in_flight = 0  # article requests let through whose page is not yet queued, in this process
    gate = DeferredLock()  # held while one request reads the depth and takes its place

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
        if request.meta.get(GATED):
            # A retry or redirect of a request let through already: a middleware returned it
            # before our process_response saw the answer, so it still holds its place.
            return
        # One request at a time reads the depth and takes its place: requests that read the
        # queue together would each see it before the others were let through, and overshoot.
        await deferred_to_future(QueueBackpressure.gate.acquire())
        try:
            waited = False
            while self._is_full(await off_reactor(self._depth)):
                if not waited:
                    log.info("backpressure: over %d pages queued; holding %s", self.high, request.url)
                    waited = True
                await sleep(self.interval)
            QueueBackpressure.in_flight += 1
        finally:
            QueueBackpressure.gate.release()
        request.meta[GATED] = True

    def process_response(self, request: Request, response: Any, spider: Any = None) -> Any:
        # A page on its way to the spider keeps its place until the item pipeline has queued it
        # (``FetchedPage.holds_place``): between the two it is in neither count, and a fast site
        # could otherwise run the whole crawl through that gap.
        if not 200 <= response.status < 300:
            self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> None:
        self._release(request)

    def _release(self, request: Request) -> None:
        if request.meta.pop(GATED, False):
            QueueBackpressure.release_place()

    @staticmethod
    def release_place() -> None:
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
