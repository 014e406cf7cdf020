"""Scrapy settings derived from Transcrawl's settings: politeness, limits and the pipeline."""

from __future__ import annotations

from typing import Any

from transcrawl.settings import Settings

RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]


def scrapy_settings(settings: Settings) -> dict[str, Any]:
    """The Scrapy settings dict for one crawler process."""
    return {
        "BOT_NAME": "transcrawl",
        "USER_AGENT": settings.full_user_agent,
        "ROBOTSTXT_OBEY": settings.obey_robots,
        "DOWNLOAD_DELAY": settings.download_delay,
        "RANDOMIZE_DOWNLOAD_DELAY": True,
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.concurrency_per_domain,
        "AUTOTHROTTLE_ENABLED": settings.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(settings.download_delay, 0.5),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(settings.concurrency_per_domain),
        "DOWNLOAD_TIMEOUT": 30,
        "DOWNLOAD_MAXSIZE": settings.max_page_bytes,
        "DOWNLOAD_WARNSIZE": settings.max_page_bytes // 2,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": 2,
        "RETRY_HTTP_CODES": RETRY_HTTP_CODES,
        "REDIRECT_MAX_TIMES": 5,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "CLOSESPIDER_PAGECOUNT": settings.max_pages_per_run,
        "ITEM_PIPELINES": {"crawler.pipelines.RawPageQueuePipeline": 300},
        "DOWNLOADER_MIDDLEWARES": {"crawler.backpressure.QueueBackpressure": 50},
        "TRANSCRAWL_MAX_QUEUED_PAGES": settings.max_queued_pages,
        "TRANSCRAWL_REDIS_URL": settings.redis_url,
        "TRANSCRAWL_RAW_PAGE_TTL": settings.raw_page_ttl,
        "TRANSCRAWL_SEEN_MAX": settings.seen_max,
        "TRANSCRAWL_SEEN_TTL": settings.seen_ttl,
    }
