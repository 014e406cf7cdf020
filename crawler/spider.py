"""One generic news spider, driven by a registry entry: feeds, sitemaps and homepage → articles."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.linkextractors import LinkExtractor
from twisted.python.failure import Failure

from crawler.discovery import NotAFeed, feed_links, sitemap_links
from crawler.registry import Site
from crawler.urls import canonical_url, same_site

MAX_SITEMAP_DEPTH = 3  # index → index → urlset is already unusual; deeper is a loop or a trap


class NewsSpider(scrapy.Spider):
    """Crawls one site. Article pages become raw-page items; everything else is discovery."""

    name = "news"

    def __init__(self, site: Site, seen: Any = None, **kwargs: Any) -> None:
        super().__init__(name=f"news:{site.id}", **kwargs)
        self.site = site
        self.seen = seen  # crawler.seen.SeenSet or None (no memory across runs)
        self.origins = _local_origins(site)
        self.pattern = re.compile(site.article_pattern) if site.article_pattern else None
        self.links = LinkExtractor(deny_extensions=None)
        self.problems: list[str] = []  # per-site discovery problems, for the crawl report

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for request in self._discovery_requests():
            yield request

    def start_requests(self) -> Iterator[scrapy.Request]:  # Scrapy < 2.13
        yield from self._discovery_requests()

    def _discovery_requests(self) -> Iterator[scrapy.Request]:
        site = self.site
        for url in site.feeds:
            yield self._discovery(url, self.parse_feed)
        for url in site.sitemaps:
            yield self._discovery(url, self.parse_sitemap, depth=0)
        yield self._discovery(site.homepage, self.parse_homepage)

    def _discovery(self, url: str, callback: Any, **meta: Any) -> scrapy.Request:
        meta["source"] = url
        return scrapy.Request(url, callback=callback, errback=self.discovery_failed, meta=meta, priority=10)

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        self.crawler.stats.inc_value("transcrawl/feeds_fetched")
        try:
            links = feed_links(response.body)
        except NotAFeed as exc:
            self._problem(f"feed {response.url}: {exc}")
            return
        yield from self._articles(links, trusted=True)

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        self.crawler.stats.inc_value("transcrawl/sitemaps_fetched")
        try:
            found = sitemap_links(response.body)
        except NotAFeed as exc:
            self._problem(f"sitemap {response.url}: {exc}")
            return
        depth = response.meta.get("depth", 0)
        for url in found.sitemaps:
            if depth + 1 > MAX_SITEMAP_DEPTH:
                self._problem(f"sitemap {url}: nested deeper than {MAX_SITEMAP_DEPTH}, skipped")
            elif self._on_site(url):
                yield self._discovery(url, self.parse_sitemap, depth=depth + 1)
        yield from self._articles(found.pages, trusted=True)

    def parse_homepage(self, response: Response) -> Iterator[scrapy.Request]:
        if not hasattr(response, "text"):
            self._problem(f"homepage {response.url}: not an HTML page")
            return
        urls = [link.url for link in self.links.extract_links(response)]
        yield from self._articles(urls, trusted=False)

    def parse_article(self, response: Response) -> Iterator[dict[str, Any]]:
        self.crawler.stats.inc_value("transcrawl/pages_fetched")
        yield {
            "url": response.meta["canonical"],
            "final_url": response.url,
            "site": self.site.id,
            "country": self.site.country,
            "site_language": self.site.language,
            "status": response.status,
            "content_type": response.headers.get("Content-Type", b"").decode("latin-1"),
            "fetched_at": datetime.now(UTC).isoformat(),
            "overrides": dict(self.site.extract),
            "body": response.body,
        }

    def article_failed(self, failure: Failure) -> dict[str, Any] | None:
        """A dead article URL is recorded as a crawl failure, never silently dropped."""
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(IgnoreRequest) and not failure.check(HttpError):  # robots.txt: policy, not an error
            self.crawler.stats.inc_value("transcrawl/articles_disallowed")
            return None
        self.crawler.stats.inc_value("transcrawl/article_errors")
        return {
            "failure": True,
            "url": request.meta["canonical"],
            "site": self.site.id,
            "reason": _failure_reason(failure),
            "detail": f"{request.url}: {failure.getErrorMessage()}"[:1000],
        }

    def discovery_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        self._problem(f"{request.meta.get('source', request.url)}: {_failure_reason(failure)}: "
                      f"{failure.getErrorMessage()}"[:500])

    def _articles(self, urls: Iterable[str], *, trusted: bool) -> Iterator[scrapy.Request]:
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
        fresh = self.seen.unseen(candidates) if self.seen is not None else candidates
        self.crawler.stats.inc_value("transcrawl/articles_skipped_seen", len(candidates) - len(fresh))
        for url in fresh:
            yield scrapy.Request(url, callback=self.parse_article, errback=self.article_failed,
                                 meta={"canonical": url})

    def _on_site(self, url: str) -> bool:
        return same_site(url, self.site.domains, self.origins)

    def _problem(self, message: str) -> None:
        self.logger.warning("site %s: %s", self.site.id, message)
        self.crawler.stats.inc_value("transcrawl/discovery_errors")
        self.problems.append(message)


def _local_origins(site: Site) -> tuple[str, ...]:
    parts = urlsplit(site.homepage)
    return (f"{parts.scheme}://{parts.netloc}".lower(),)


def _failure_reason(failure: Failure) -> str:
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    name = type(failure.value).__name__
    if "MaxSize" in name or "maxsize" in failure.getErrorMessage().lower():
        return "page_too_large"
    if "Timeout" in name:
        return "timeout"
    if "DNS" in name or "ConnectionRefused" in name or "Connection" in name:
        return "unreachable"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
