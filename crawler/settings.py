"""Scrapy settings derived from Transcrawl's settings: politeness, limits and the pipeline."""

from __future__ import annotations

from typing import Any

from foundation.settings import Settings

RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]


def scrapy_settings(settings: Settings) -> dict[str, Any]:
    """The Scrapy settings dict for one crawler process."""
    return {
        "BOT_NAME": "transcrawl",
        "USER_AGENT": settings.full_user_agent,
        "ROBOTSTXT_OBEY": settings.obey_robots,
        "DOWNLOAD_DELAY": settings.download_delay,
        "DOWNLOAD_DELAY_JITTER": 0.5,  # ±50% around DOWNLOAD_DELAY
        "CONCURRENT_REQUESTS": settings.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.concurrency_per_domain,
        "AUTOTHROTTLE_ENABLED": settings.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(settings.download_delay, 0.5),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(settings.concurrency_per_domain),
        "DOWNLOAD_TIMEOUT": settings.download_timeout,
        "DOWNLOAD_MAXSIZE": settings.max_page_bytes,
        "DOWNLOAD_WARNSIZE": settings.max_page_bytes // 2,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": 2,
        "RETRY_HTTP_CODES": RETRY_HTTP_CODES,
        "REDIRECT_MAX_TIMES": 5,  # a loop ends here, recorded as redirect_loop
        # Discovery is feeds/sitemaps/homepage -> articles; nested sitemaps add at most 3 levels.
        # Anything deeper is a trap (endless calendar pages), whatever the article pattern says.
        "DEPTH_LIMIT": 5,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
        # The spider caps article requests exactly (max_articles); this backstop also bounds
        # discovery (robots.txt, feeds, endless nested sitemaps) around that cap.
        "CLOSESPIDER_PAGECOUNT": settings.max_pages_per_run + 100 if settings.max_pages_per_run else 0,
        "ITEM_PIPELINES": {"crawler.pipelines.RawPageQueuePipeline": 300},
        # Order is data: SafeRedirects (650) sees each 3xx before RedirectMiddleware (600) follows
        # it; BackoffRetry replaces RetryMiddleware at its place (550).
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.backpressure.QueueBackpressure": 50,
            "crawler.conditional.ConditionalGet": 560,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "crawler.politeness.BackoffRetry": 550,
            "crawler.politeness.SafeRedirects": 650,
        },
        "TRANSCRAWL_MAX_QUEUED_PAGES": settings.max_queued_pages,
        "TRANSCRAWL_REDIS_URL": settings.redis_url,
        "TRANSCRAWL_RAW_PAGE_TTL": settings.raw_page_ttl,
        "TRANSCRAWL_SEEN_MAX": settings.seen_max,
        "TRANSCRAWL_SEEN_TTL": settings.seen_ttl,
        "TRANSCRAWL_RETRY_BASE_DELAY": settings.retry_base_delay,
        "TRANSCRAWL_RETRY_MAX_DELAY": settings.retry_max_delay,
    }
