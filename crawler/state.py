"""The crawl state of one site's crawler: its registry entry and its memory in Redis, built once.

    NewsSpider.from_crawler ──builds──▶ CrawlState(site, Redis client, SeenSet, Pending, Validators)
    ConditionalGet, SafeRedirects, QueueBackpressure, RawPageQueuePipeline ──CrawlState.of(crawler)──▶ the same one

Scrapy builds the spider before any middleware or pipeline, so the spider's ``from_crawler`` makes
the state and every later component asks for it by crawler; a component built for a crawler
without one (another spider) is switched off with ``NotConfigured``. The state closes its Redis
client when the spider closes.

Redis is network I/O: nothing may call it on the reactor thread. :func:`off_reactor` runs a
blocking call in the reactor's thread pool and awaits it.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import redis
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.frontier import Pending
from crawler.registry import Site
from crawler.seen import SeenSet
from crawler.validators import Validators

P = ParamSpec("P")
T = TypeVar("T")

_STATES: weakref.WeakKeyDictionary[Crawler, CrawlState] = weakref.WeakKeyDictionary()


async def off_reactor(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking call (Redis, the broker) in the reactor's thread pool and await its result."""
    return await deferred_to_future(deferToThread(function, *args, **kwargs))


@dataclasses.dataclass(eq=False)
class CrawlState:
    """What the components of one site's crawler share; see the module docstring."""

    site: Site
    client: redis.Redis
    seen: SeenSet
    pending: Pending
    validators: Validators

    @classmethod
    def from_crawler(cls, crawler: Crawler, site: Site) -> CrawlState:
        """The state of ``crawler``, built on the first call (by the spider) from its settings."""
        if crawler in _STATES:
            state = _STATES[crawler]
            assert state.site.id == site.id, f"crawler already crawls {state.site.id}, not {site.id}"
            return state
        settings = crawler.settings
        url = settings.get("TRANSCRAWL_REDIS_URL")
        if not url:
            raise NotConfigured("TRANSCRAWL_REDIS_URL is not set: a crawl keeps its memory in Redis")
        client = redis.Redis.from_url(url)
        size, ttl = settings.getint("TRANSCRAWL_SEEN_MAX"), settings.getint("TRANSCRAWL_SEEN_TTL")
        state = cls(site=site, client=client,
                    seen=SeenSet(client, site.id, max_size=size, ttl=ttl),
                    pending=Pending(client, site.id, max_size=size, ttl=ttl),
                    validators=Validators(client, site.id, ttl=ttl))
        _STATES[crawler] = state
        crawler.signals.connect(state._closed, signal=signals.spider_closed)
        return state

    @classmethod
    def of(cls, crawler: Crawler) -> CrawlState:
        """The state the spider of ``crawler`` built; ``NotConfigured`` when it built none."""
        try:
            return _STATES[crawler]
        except KeyError:
            raise NotConfigured("no crawl state: this crawler's spider is not a NewsSpider") from None

    def load(self) -> list[str]:
        """Blocking: read what earlier runs left (validators, then the pending URLs to ask first)."""
        self.validators.load()
        return self.pending.urls()

    async def _closed(self) -> None:
        await off_reactor(self.client.close)
