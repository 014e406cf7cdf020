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
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.conditional import NOT_MODIFIED
from crawler.discovery import NotAFeed, feed_links, sitemap_links
from crawler.politeness import UnsafeRedirect
from crawler.registry import Site
from crawler.urls import canonical_url, same_site

MAX_SITEMAP_DEPTH = 3  # index → index → urlset is already unusual; deeper is a loop or a trap


class NewsSpider(scrapy.Spider):
    """Crawls one site. Article pages become raw-page items; everything else is discovery."""

    name = "news"

    def __init__(self, site: Site, seen: Any = None, validators: Any = None, pending: Any = None,
                 max_articles: int = 0, **kwargs: Any) -> None:
        super().__init__(name=f"news:{site.id}", **kwargs)
        self.site = site
        self.seen = seen  # crawler.seen.SeenSet or None (no memory across runs)
        self.validators = validators  # crawler.conditional.Validators or None (no conditional GET)
        self.pending = pending  # crawler.frontier.Pending: URLs earlier runs found but did not queue
        self.max_articles = max_articles  # article requests per run (0 = no cap); the rest wait
        self.scheduled = 0
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
        if self.pending is not None:  # first: they may be in no feed any more
            yield from self._articles(self.pending.urls(), trusted=True)
        for url in site.feeds:
            yield self._discovery(url, self.parse_feed)
        for url in site.sitemaps:
            yield self._discovery(url, self.parse_sitemap, depth=0)
        yield self._discovery(site.homepage, self.parse_homepage)

    def _discovery(self, url: str, callback: Any, **meta: Any) -> scrapy.Request:
        meta["source"] = url
        meta["conditional"] = True  # crawler.conditional.ConditionalGet: a 304 reaches the callback
        return scrapy.Request(url, callback=callback, errback=self.discovery_failed, meta=meta, priority=10)

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        self.crawler.stats.inc_value("transcrawl/feeds_fetched")
        if self._unchanged(response):
            return
        try:
            links = feed_links(response.body)
        except NotAFeed as exc:
            self._problem(f"feed {response.url}: {exc}")
            return
        self._parsed(response, links)
        yield from self._articles(links, trusted=True)

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        self.crawler.stats.inc_value("transcrawl/sitemaps_fetched")
        depth = response.meta.get("depth", 0)
        if self._unchanged(response):
            # An unchanged index may still list changed children: ask them, conditionally too.
            children = self.validators.children(response.meta["source"]) if self.validators else []
            yield from self._nested(children, depth)
            return
        try:
            found = sitemap_links(response.body)
        except NotAFeed as exc:
            self._problem(f"sitemap {response.url}: {exc}")
            return
        if not found.pages and not found.sitemaps:  # lxml recovers a truncated file into nothing
            self._problem(f"sitemap {response.url}: lists no URLs (empty or truncated)")
            return
        self._parsed(response, found.pages, children=found.sitemaps)
        yield from self._nested(found.sitemaps, depth)
        yield from self._articles(found.pages, trusted=True)

    def _nested(self, urls: list[str], depth: int) -> Iterator[scrapy.Request]:
        for url in urls:
            if depth + 1 > MAX_SITEMAP_DEPTH:
                self._problem(f"sitemap {url}: nested deeper than {MAX_SITEMAP_DEPTH}, skipped")
            elif self._on_site(url):
                yield self._discovery(url, self.parse_sitemap, depth=depth + 1)

    def parse_homepage(self, response: Response) -> Iterator[scrapy.Request]:
        if self._unchanged(response):
            return
        if not hasattr(response, "text"):
            self._problem(f"homepage {response.url}: not an HTML page")
            return
        urls = [link.url for link in self.links.extract_links(response)]
        articles = [u for u in urls if self.pattern and self.pattern.search(canonical_url(u))]
        self._parsed(response, articles)
        yield from self._articles(urls, trusted=False)

    def _unchanged(self, response: Response) -> bool:
        """A 304: the source is fine and has nothing new (counted by ConditionalGet)."""
        if response.status != NOT_MODIFIED:
            return False
        self.crawler.stats.inc_value("transcrawl/sources_ok")
        return True

    def _parsed(self, response: Response, links: list[str], children: list[str] | None = None) -> None:
        self.crawler.stats.inc_value("transcrawl/sources_ok")
        self.crawler.stats.inc_value("transcrawl/links_found", len(links) + len(children or []))
        if self.validators is not None:
            self.validators.save(response.meta["source"], response, children)

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
        if _robots_refusal(failure):  # policy, not an error
            self.crawler.stats.inc_value("transcrawl/articles_disallowed")
            return None
        self.crawler.stats.inc_value("transcrawl/article_errors")
        reason = _failure_reason(failure)
        self.crawler.stats.inc_value(f"transcrawl/failed/{reason}")
        if self.pending is not None:
            self.pending.failed(request.meta["canonical"])
        return {
            "failure": True,
            "url": request.meta["canonical"],
            "site": self.site.id,
            "reason": reason,
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
        if self.max_articles:
            room = max(0, self.max_articles - self.scheduled)
            if len(fresh) > room:  # the next run fetches them, even if their feed is then 304
                self.crawler.stats.inc_value("transcrawl/articles_deferred", len(fresh) - room)
                if self.pending is not None:
                    self.pending.defer(fresh[room:])
                fresh = fresh[:room]
            self.scheduled += len(fresh)
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


def _robots_refusal(failure: Failure) -> bool:
    return bool(failure.check(IgnoreRequest)) and "robots.txt" in failure.getErrorMessage()


def _failure_reason(failure: Failure) -> str:
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    if failure.check(UnsafeRedirect):
        return failure.getErrorMessage().split(":", 1)[0]
    if "max redirections" in failure.getErrorMessage():
        return "redirect_loop"
    name = type(failure.value).__name__
    if "MaxSize" in name or "maxsize" in failure.getErrorMessage().lower():
        return "page_too_large"
    if "Timeout" in name:
        return "timeout"
    if "DNS" in name or "ConnectionRefused" in name or "Connection" in name:
        return "unreachable"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
