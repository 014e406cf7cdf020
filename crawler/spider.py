"""One generic news spider, driven by a registry entry: feeds, sitemaps and homepage → articles."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Self

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from twisted.python.failure import Failure

from crawler.backpressure import GATED
from crawler.conditional import NOT_MODIFIED
from crawler.discovery import NotAFeed, feed_links, sitemap_links
from crawler.failures import failure_reason, robots_refusal
from crawler.items import CrawlFailure, FetchedPage
from crawler.registry import Site
from crawler.state import CrawlState, off_reactor
from crawler.urls import canonical_url, local_origins, same_site
from schemas.messages import RawPage

MAX_SITEMAP_DEPTH = 3  # index → index → urlset is already unusual; deeper is a loop or a trap


class NewsSpider(scrapy.Spider):
    """Crawls one site. Article pages become :class:`FetchedPage` items, dead article URLs
    :class:`CrawlFailure` items; everything else is discovery.

    Its memory across runs (seen URLs, the frontier, the validators) is the crawler's
    :class:`CrawlState`, built here and shared with the middlewares and the pipeline; every Redis
    call the spider makes runs off the reactor thread, one round trip per listing page.
    """

    name = "news"

    def __init__(self, site: Site, state: CrawlState, max_articles: int = 0, **kwargs: Any) -> None:
        super().__init__(name=f"news:{site.id}", **kwargs)
        self.site, self.state = site, state
        self.max_articles = max_articles  # article requests per run (0 = no cap); the rest wait
        self.scheduled = 0
        self.origins = local_origins(site.homepage)
        self.pattern = re.compile(site.article_pattern) if site.article_pattern else None
        self.links = LinkExtractor(deny_extensions=None)
        self.problems: list[str] = []  # per-site discovery problems, for the crawl report

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        """``crawler.crawl(site=..., max_articles=...)``: the crawl state is built here, once."""
        kwargs["state"] = CrawlState.from_crawler(crawler, kwargs["site"])
        return super().from_crawler(crawler, *args, **kwargs)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        pending = await off_reactor(self.state.load)  # validators first: discovery asks with them
        for request in await self._articles(pending, trusted=True):  # they may be in no feed any more
            yield request
        for url in self.site.feeds:
            yield self._discovery(url, self.parse_feed)
        for url in self.site.sitemaps:
            yield self._discovery(url, self.parse_sitemap, depth=0)
        yield self._discovery(self.site.homepage, self.parse_homepage)

    def _discovery(self, url: str, callback: Any, **meta: Any) -> scrapy.Request:
        meta["source"] = url
        meta["conditional"] = True  # crawler.conditional.ConditionalGet: a 304 reaches the callback
        return scrapy.Request(url, callback=callback, errback=self.discovery_failed, meta=meta, priority=10)

    async def parse_feed(self, response: Response) -> AsyncIterator[scrapy.Request]:
        self.crawler.stats.inc_value("transcrawl/feeds_fetched")
        if self._unchanged(response):
            return
        try:
            links = feed_links(response.body)
        except NotAFeed as exc:
            self._problem(f"feed {response.url}: {exc}")
            return
        await self._parsed(response, links)
        for request in await self._articles(links, trusted=True):
            yield request

    async def parse_sitemap(self, response: Response) -> AsyncIterator[scrapy.Request]:
        self.crawler.stats.inc_value("transcrawl/sitemaps_fetched")
        depth = response.meta.get("depth", 0)
        if self._unchanged(response):
            # An unchanged index may still list changed children: ask them, conditionally too.
            for request in self._nested(self.state.validators.children(response.meta["source"]), depth):
                yield request
            return
        try:
            found = sitemap_links(response.body)
        except NotAFeed as exc:
            self._problem(f"sitemap {response.url}: {exc}")
            return
        if not found.pages and not found.sitemaps:  # lxml recovers a truncated file into nothing
            self._problem(f"sitemap {response.url}: lists no URLs (empty or truncated)")
            return
        await self._parsed(response, found.pages, children=found.sitemaps)
        for request in [*self._nested(found.sitemaps, depth), *await self._articles(found.pages, trusted=True)]:
            yield request

    def _nested(self, urls: list[str], depth: int) -> Iterator[scrapy.Request]:
        for url in urls:
            if depth + 1 > MAX_SITEMAP_DEPTH:
                self._problem(f"sitemap {url}: nested deeper than {MAX_SITEMAP_DEPTH}, skipped")
            elif self._on_site(url):
                yield self._discovery(url, self.parse_sitemap, depth=depth + 1)

    async def parse_homepage(self, response: Response) -> AsyncIterator[scrapy.Request]:
        if self._unchanged(response):
            return
        if not isinstance(response, TextResponse):
            self._problem(f"homepage {response.url}: not an HTML page")
            return
        urls = [link.url for link in self.links.extract_links(response)]
        articles = [u for u in urls if self.pattern and self.pattern.search(canonical_url(u))]
        await self._parsed(response, articles)
        for request in await self._articles(urls, trusted=False):
            yield request

    def _unchanged(self, response: Response) -> bool:
        """A 304: the source is fine and has nothing new (counted by ConditionalGet)."""
        if response.status != NOT_MODIFIED:
            return False
        self.crawler.stats.inc_value("transcrawl/sources_ok")
        return True

    async def _parsed(self, response: Response, links: list[str], children: list[str] | None = None) -> None:
        self.crawler.stats.inc_value("transcrawl/sources_ok")
        self.crawler.stats.inc_value("transcrawl/links_found", len(links) + len(children or []))
        await off_reactor(self.state.validators.save, response.meta["source"], response, children)

    def parse_article(self, response: Response) -> Iterator[FetchedPage]:
        self.crawler.stats.inc_value("transcrawl/pages_fetched")
        page = RawPage(
            url=response.meta["canonical"],
            final_url=response.url,
            site=self.site.id,
            country=self.site.country,
            site_language=self.site.language,
            status=response.status,
            content_type=(response.headers.get("Content-Type") or b"").decode("latin-1"),
            fetched_at=datetime.now(UTC).isoformat(),
            overrides=dict(self.site.extract),
        )
        yield FetchedPage(page=page, body=response.body, holds_place=bool(response.meta.get(GATED)))

    def article_failed(self, failure: Failure) -> CrawlFailure | None:
        """A dead article URL is recorded as a crawl failure, never silently dropped."""
        request = failure.request  # type: ignore[attr-defined]  # set by Scrapy on errback failures
        if robots_refusal(failure):  # policy, not an error
            self.crawler.stats.inc_value("transcrawl/articles_disallowed")
            return None
        self.crawler.stats.inc_value("transcrawl/article_errors")
        reason = failure_reason(failure)
        self.crawler.stats.inc_value(f"transcrawl/failed/{reason}")
        return CrawlFailure(url=request.meta["canonical"], site=self.site.id, reason=reason,
                            detail=f"{request.url}: {failure.getErrorMessage()}"[:1000])

    def discovery_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        self._problem(f"{request.meta.get('source', request.url)}: {failure_reason(failure)}: "
                      f"{failure.getErrorMessage()}"[:500])

    async def _articles(self, urls: Iterable[str], *, trusted: bool) -> list[scrapy.Request]:
        """Requests for article URLs not seen before; feeds and sitemaps list only articles."""
        candidates = []
        for url in urls:
            url = canonical_url(url)
            if not self._on_site(url):
                continue
            if not trusted and not (self.pattern and self.pattern.search(url)):
                continue
            candidates.append(url)
        candidates = list(dict.fromkeys(candidates))
        fresh = await off_reactor(self.state.seen.unseen, candidates) if candidates else []  # one ZMSCORE
        self.crawler.stats.inc_value("transcrawl/articles_skipped_seen", len(candidates) - len(fresh))
        if self.max_articles:
            # Counted before the next await, so callbacks running side by side share the cap exactly.
            room = max(0, self.max_articles - self.scheduled)
            fresh, later = fresh[:room], fresh[room:]
            self.scheduled += len(fresh)
            if later:  # the next run fetches them, even if their feed is then 304
                self.crawler.stats.inc_value("transcrawl/articles_deferred", len(later))
                await off_reactor(self.state.pending.defer, later)
        return [scrapy.Request(url, callback=self.parse_article, errback=self.article_failed,
                               meta={"canonical": url}) for url in fresh]

    def _on_site(self, url: str) -> bool:
        return same_site(url, self.site.domains, self.origins)

    def _problem(self, message: str) -> None:
        self.logger.warning("site %s: %s", self.site.id, message)
        self.crawler.stats.inc_value("transcrawl/discovery_errors")
        self.problems.append(message)
