"""Run the spiders for some sites in this process (one Twisted reactor) and report per site.

Each site is crawled only under its lock (:mod:`crawler.lock`): a site another process is
crawling is skipped and reported as ``locked``. Locks are renewed while the reactor runs and
released as each site's spider closes (both in a thread: Redis never blocks the reactor). When the
reactor has stopped, every crawled site gets a ``crawl_runs`` row and its health is updated
(:mod:`crawler.records`).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import redis
from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from crawler import records
from crawler.lock import SiteLock
from crawler.registry import Site
from crawler.settings import scrapy_settings
from crawler.spider import NewsSpider
from crawler.state import off_reactor
from foundation.settings import Settings
from schemas.keys import last_report_key

log = logging.getLogger(__name__)
LOCKED = "locked"


@dataclass
class SiteReport:
    """What one site's crawl did; ``problems`` are feed/sitemap/homepage errors."""

    site: str
    started_at: float
    finished_at: float = 0.0
    pages_fetched: int = 0  # article pages fetched and queued
    articles_skipped_seen: int = 0
    articles_deferred: int = 0  # over the per-run cap: left for the next run
    article_errors: int = 0
    discovery_errors: int = 0
    responses: int = 0  # every HTTP response, robots.txt and discovery included
    not_modified: int = 0  # discovery URLs answered 304
    sources_ok: int = 0  # discovery URLs that parsed (or were unchanged)
    links_found: int = 0  # article and sitemap links their bodies listed
    finish_reason: str = ""
    problems: list[str] = field(default_factory=list)
    failure_reasons: dict[str, int] = field(default_factory=dict)  # article failures by reason
    health: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.finish_reason == "finished" and not self.problems

    @property
    def failure_reason(self) -> str | None:
        """Why this run counts as failed for the site's health, or None."""
        if self.finish_reason == LOCKED:
            return None
        if self.sources_ok == 0:
            return self.problems[0] if self.problems else "no feed, sitemap or homepage could be read"
        if self.links_found == 0 and self.not_modified == 0:
            return "feeds, sitemaps and homepage list no article links"
        return None

    @property
    def status(self) -> str:
        if self.finish_reason == LOCKED:
            return LOCKED
        if self.failure_reason:
            return "failed"
        return "partial" if self.problems or self.article_errors else "ok"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "status": self.status}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SiteReport:
        """Rebuild a report printed by ``transcrawl crawl --json`` (derived keys are dropped)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def crawl(sites: list[Site], settings: Settings, *, log_level: str = "WARNING") -> list[SiteReport]:
    """Crawl ``sites`` until each spider has nothing left; blocks. One call per process."""
    assert settings.redis_url, "crawling needs a Redis URL"
    client = redis.Redis.from_url(settings.redis_url)
    reports: list[SiteReport] = []
    locks: list[SiteLock] = []
    try:
        process = CrawlerProcess({**scrapy_settings(settings), "LOG_LEVEL": log_level,
                                  "LOG_INSTALL_ROOT_HANDLER": True})
        crawlers: list[tuple[Crawler, SiteLock]] = []
        for site in sites:
            lock = SiteLock(client, site.id, ttl=settings.crawl_lock_ttl)
            report = SiteReport(site=site.id, started_at=time.time())
            reports.append(report)
            if not lock.acquire():
                _skip_locked(report, lock)
                continue
            locks.append(lock)
            crawler = process.create_crawler(NewsSpider)
            crawler.signals.connect(_on_close(crawler, report, client, lock), signal=signals.spider_closed,
                                    weak=False)
            crawlers.append((crawler, lock))
            # NewsSpider.from_crawler builds the site's crawl state (crawler.state) from the settings.
            process.crawl(crawler, site=site, max_articles=settings.max_pages_per_run)
        if crawlers:
            renewer = task.LoopingCall(_renew, crawlers)
            renewer.start(max(1.0, settings.crawl_lock_ttl / 3), now=False)
            process.start()
    finally:
        for lock in locks:
            lock.release()
    crawled = [r for r in reports if r.status != LOCKED]
    for report in crawled:
        report.health = records.update_health(client, report, settings.site_failure_runs)
    records.write_runs(settings.database_url, crawled)
    client.close()
    return reports


def _skip_locked(report: SiteReport, lock: SiteLock) -> None:
    report.finished_at, report.finish_reason = time.time(), LOCKED
    report.problems.append(f"skipped: another crawler holds the lock ({lock.holder() or 'just released'})")
    log.warning("site %s: %s", report.site, report.problems[-1])


def _renew(crawlers: list[tuple[Crawler, SiteLock]]) -> Deferred[None]:
    """Extend the locks of running spiders (in a thread); a spider whose lock was lost stops at once."""
    running = [(crawler, lock) for crawler, lock in crawlers if lock.held and crawler.crawling]

    def stop_lost(lost: list[SiteLock]) -> None:
        for crawler, lock in running:
            if lock in lost:
                log.error("site %s: crawl lock lost; stopping its spider", lock.site)
                task.deferLater(_reactor(), 0, crawler.stop)

    return deferToThread(_lost_locks, [lock for _, lock in running]).addCallback(stop_lost)


def _lost_locks(locks: list[SiteLock]) -> list[SiteLock]:
    """Blocking: renew each lock; the ones lost (expired, maybe taken by another crawler)."""
    lost = []
    for lock in locks:
        try:
            if not lock.renew():
                lost.append(lock)
        except redis.RedisError as exc:  # it has ttl left; the next renewal may succeed
            log.warning("site %s: cannot renew the crawl lock: %s", lock.site, exc)
    return lost


def _reactor() -> Any:
    from twisted.internet import reactor

    return reactor


def _on_close(crawler: Crawler, report: SiteReport, client: redis.Redis, lock: SiteLock) -> Any:
    async def closed(spider: NewsSpider, reason: str) -> None:
        stats = crawler.stats.get_stats() if crawler.stats else {}

        def count(name: str) -> int:
            return int(stats.get(f"transcrawl/{name}", 0))

        report.finished_at = time.time()
        report.finish_reason = "lock_lost" if not lock.held and reason != "finished" else reason
        report.pages_fetched = count("pages_fetched")
        report.articles_skipped_seen = count("articles_skipped_seen")
        report.articles_deferred = count("articles_deferred")
        report.article_errors = count("article_errors")
        report.discovery_errors = count("discovery_errors")
        report.not_modified = count("not_modified")
        report.sources_ok = count("sources_ok")
        report.links_found = count("links_found")
        report.responses = int(stats.get("downloader/response_count", 0))
        report.problems = list(spider.problems)
        report.failure_reasons = {k.removeprefix("transcrawl/failed/"): int(v) for k, v in stats.items()
                                  if k.startswith("transcrawl/failed/")}
        await off_reactor(_closed, client, report.site, json.dumps(report.to_json()), lock)

    return closed


def _closed(client: redis.Redis, site: str, report: str, lock: SiteLock) -> None:
    """Blocking: keep the site's last report, then let other crawlers have the site."""
    client.set(last_report_key(site), report)
    lock.release()
