"""Run the spiders for some sites in this process (one Twisted reactor) and report per site."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess

from crawler.registry import Site
from crawler.seen import SeenSet
from crawler.settings import scrapy_settings
from crawler.spider import NewsSpider
from schemas.contract import KEY_PREFIX
from transcrawl.settings import Settings


@dataclass
class SiteReport:
    """What one site's crawl did; ``problems`` are feed/sitemap/homepage errors."""

    site: str
    started_at: float
    finished_at: float = 0.0
    pages_fetched: int = 0
    articles_skipped_seen: int = 0
    article_errors: int = 0
    discovery_errors: int = 0
    finish_reason: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.finish_reason == "finished" and not self.problems

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def last_report_key(site: str) -> str:
    return f"{KEY_PREFIX}crawl:last:{site}"


def crawl(sites: list[Site], settings: Settings, *, log_level: str = "WARNING") -> list[SiteReport]:
    """Crawl ``sites`` until each spider has nothing left; blocks. One call per process."""
    assert settings.redis_url, "crawling needs a Redis URL"
    client = redis.Redis.from_url(settings.redis_url)
    process = CrawlerProcess({**scrapy_settings(settings), "LOG_LEVEL": log_level}, install_root_handler=True)
    reports: list[SiteReport] = []
    for site in sites:
        seen = SeenSet(client, site.id, max_size=settings.seen_max, ttl=settings.seen_ttl)
        crawler = process.create_crawler(NewsSpider)
        report = SiteReport(site=site.id, started_at=time.time())
        crawler.signals.connect(_on_close(crawler, report, client), signal=signals.spider_closed, weak=False)
        reports.append(report)
        process.crawl(crawler, site=site, seen=seen)
    process.start()
    client.close()
    return reports


def _on_close(crawler: Crawler, report: SiteReport, client: redis.Redis) -> Any:
    def closed(spider: NewsSpider, reason: str) -> None:
        stats = crawler.stats.get_stats() if crawler.stats else {}
        report.finished_at = time.time()
        report.finish_reason = reason
        report.pages_fetched = int(stats.get("transcrawl/pages_fetched", 0))
        report.articles_skipped_seen = int(stats.get("transcrawl/articles_skipped_seen", 0))
        report.article_errors = int(stats.get("transcrawl/article_errors", 0))
        report.discovery_errors = int(stats.get("transcrawl/discovery_errors", 0))
        report.problems = list(spider.problems)
        client.set(last_report_key(report.site), json.dumps(report.to_json()))

    return closed
