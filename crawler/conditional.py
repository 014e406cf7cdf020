"""Incremental discovery: conditional GET on feeds, sitemaps and homepages.

The validators come from the crawl state (:class:`crawler.validators.Validators`, read from Redis
once when the spider starts); this middleware only adds them to discovery requests, in memory.
"""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from scrapy.statscollectors import StatsCollector

from crawler.state import CrawlState

NOT_MODIFIED = 304


class ConditionalGet:
    """Downloader middleware: adds ``If-None-Match`` / ``If-Modified-Since`` to discovery requests
    (``meta["conditional"]``) and lets a 304 through to the callback, which counts it and stops.
    """

    def __init__(self, state: CrawlState, stats: StatsCollector) -> None:
        self.state, self.stats = state, stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalGet:
        return cls(CrawlState.of(crawler), crawler.stats)

    def process_request(self, request: Request) -> None:
        if not request.meta.get("conditional"):
            return
        for name, value in self.state.validators.headers(request.meta.get("source", request.url)).items():
            request.headers.setdefault(name, value)
        # A 304 is an answer, not an error: HttpErrorMiddleware must hand it to the callback.
        handled = list(request.meta.get("handle_httpstatus_list", ()))
        if NOT_MODIFIED not in handled:
            request.meta["handle_httpstatus_list"] = [*handled, NOT_MODIFIED]
        return

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status == NOT_MODIFIED and request.meta.get("conditional"):
            self.stats.inc_value("transcrawl/not_modified")
        return response
