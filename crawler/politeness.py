"""Downloader middlewares for being a good guest and a careful one.

* :class:`BackoffRetry` — Scrapy's RetryMiddleware retries at once; this one waits first: the
  server's ``Retry-After`` (seconds or an HTTP date) when given, else exponential backoff with
  jitter, both bounded by ``TRANSCRAWL_RETRY_MAX_DELAY``. A ``Retry-After`` beyond that bound is
  not retried in this run at all: the URL stays unseen and the next scheduled run fetches it.
* :class:`SafeRedirects` — a redirect may not leave the site (another domain or another local
  origin), and, for a site that is not itself local, may not point at a loopback, private,
  link-local or reserved address (an SSRF path into the crawler's own network).
"""

from __future__ import annotations

import ipaddress
import logging
import random
import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import deferred_to_future
from scrapy.utils.response import response_status_message

from crawler.state import CrawlState
from crawler.urls import local_origins, same_site

log = logging.getLogger(__name__)
REDIRECTS = (301, 302, 303, 307, 308)
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


class UnsafeRedirect(IgnoreRequest):
    """A redirect that leaves the site or points into a private network; never followed.

    ``reason`` is the code :func:`redirect_problem` gave (``redirect_offsite``, ...).
    """

    def __init__(self, reason: str, source: str, target: str) -> None:
        super().__init__(f"{reason}: {source} -> {target}")
        self.reason = reason


async def sleep(seconds: float) -> None:
    from twisted.internet import (  # imported late: Scrapy installs the reactor first
        reactor,
        task,
    )

    await deferred_to_future(task.deferLater(reactor, seconds, lambda: None))


def retry_after(value: bytes | None, now: float | None = None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header, or None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


class BackoffRetry(RetryMiddleware):
    """RetryMiddleware that waits before the retry (see the module docstring)."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.base = settings.getfloat("TRANSCRAWL_RETRY_BASE_DELAY", 1.0)
        self.max_delay = settings.getfloat("TRANSCRAWL_RETRY_MAX_DELAY", 60.0)

    def backoff(self, attempt: int) -> float:
        """Exponential with full jitter over the upper half: base·2^(n-1) · [0.5, 1)."""
        ceiling = min(self.max_delay, self.base * 2 ** max(0, attempt - 1))
        return float(ceiling * (0.5 + random.random() / 2))

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        asked = retry_after(response.headers.get("Retry-After"))
        if asked is not None and asked > self.max_delay:
            log.info("not retrying %s this run: Retry-After %.0fs", request.url, asked)
            self._count("retry_after_too_long")
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        delay = asked if asked is not None else self.backoff(retry.meta.get("retry_times", 1))
        self._count("retries_delayed")
        await sleep(min(delay, self.max_delay))
        return retry

    async def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:  # type: ignore[override]
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry"):
            return None
        retry = self._retry(request, exception)
        if retry is not None:
            self._count("retries_delayed")
            await sleep(self.backoff(retry.meta.get("retry_times", 1)))
        return retry

    def _count(self, name: str) -> None:
        if self.crawler.stats:
            self.crawler.stats.inc_value(f"transcrawl/{name}")


def is_local_host(host: str) -> bool:
    """Loopback, private, link-local or reserved IP literal, or a local host name."""
    host = host.lower().strip("[]")
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return (address.is_loopback or address.is_private or address.is_link_local
            or address.is_reserved or address.is_unspecified or address.is_multicast)


def redirect_problem(target: str, homepage: str, domains: tuple[str, ...], origins: tuple[str, ...]) -> str | None:
    """Why a redirect to ``target`` must not be followed, or None when it may."""
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https"):
        return "redirect_bad_scheme"
    host = (parts.hostname or "").lower()
    site_is_local = is_local_host(urlsplit(homepage).hostname or "")
    if is_local_host(host) and not site_is_local:
        return "redirect_private_address"
    if same_site(target, domains, origins):
        return None
    # example.com -> www.example.com is the same site even when only one of them is registered.
    if not site_is_local and any(d.endswith("." + host) or host.endswith("." + d.removeprefix("www."))
                                 or host == d.removeprefix("www.") for d in domains):
        return None
    return "redirect_offsite"


class SafeRedirects:
    """Downloader middleware, ordered after RedirectMiddleware so it sees each 3xx first."""

    def __init__(self, state: CrawlState, stats: StatsCollector) -> None:
        self.state, self.stats = state, stats
        self.origins = local_origins(state.site.homepage)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SafeRedirects:
        return cls(CrawlState.of(crawler), crawler.stats)

    def process_request(self, request: Request) -> None:
        """Meta-refresh redirects come back as new requests: check those here."""
        if request.meta.get("redirect_urls"):
            self._check(request.meta["redirect_urls"][-1], request.url)

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get("Location")
        if response.status in REDIRECTS and location and not request.meta.get("dont_redirect"):
            self._check(request.url, urljoin(request.url, location.decode("latin-1")))
            if "canonical" in request.meta:
                # An article's redirect must land, even on a URL fetched already this run: dropped
                # as a duplicate, its own URL would never be marked seen and be fetched every run.
                # (RedirectMiddleware copies dont_filter; REDIRECT_MAX_TIMES still ends loops.)
                request.dont_filter = True
        return response

    def _check(self, source: str, target: str) -> None:
        site = self.state.site
        problem = redirect_problem(target, site.homepage, site.domains, self.origins)
        if problem is None:
            return
        self.stats.inc_value(f"transcrawl/{problem}")
        raise UnsafeRedirect(problem, source, target)
