"""Every Redis key the pipeline uses, in one place: claim checks, crawl state, routing, counters.

Keys share one prefix so that an operator can see (and ``SCAN``) all of Transcrawl's state.
Per-site keys are bounded by the code that writes them (sizes and TTLs in the settings).
"""

from __future__ import annotations

import hashlib

KEY_PREFIX = "transcrawl:"

# Hash: language → unix time until which a dedicated translate worker for it is known to be alive.
DEDICATED_LANGUAGES_KEY = f"{KEY_PREFIX}translate:languages"

RAW_PAGE_PREFIX = f"{KEY_PREFIX}raw:"
LAST_REPORT_PREFIX = f"{KEY_PREFIX}crawl:last:"


def raw_page_key(url: str) -> str:
    """Hash of a raw page (the claim check): one per canonical URL, so a re-fetch replaces it."""
    return f"{RAW_PAGE_PREFIX}{hashlib.sha1(url.encode()).hexdigest()}"


def seen_key(site: str) -> str:
    """Sorted set of URLs a site's spider has already queued (score: when)."""
    return f"{KEY_PREFIX}seen:{site}"


def pending_key(site: str) -> str:
    """Sorted set of a site's article URLs found but not yet fetched (the crawl frontier)."""
    return f"{KEY_PREFIX}pending:{site}"


def validators_key(site: str) -> str:
    """Hash of feed/sitemap URL → its ETag and Last-Modified, for conditional GETs."""
    return f"{KEY_PREFIX}validators:{site}"


def crawl_lock_key(site: str) -> str:
    """String holding the token of the one crawl that may run for a site."""
    return f"{KEY_PREFIX}crawl:lock:{site}"


def last_report_key(site: str) -> str:
    """String: the JSON report of a site's last crawl run."""
    return f"{LAST_REPORT_PREFIX}{site}"


def site_health_key(site: str) -> str:
    """Hash of a site's crawl health (failed runs in a row, disabled flag)."""
    return f"{KEY_PREFIX}site:health:{site}"


def deliveries_key(message_id: str) -> str:
    """Counter of how many times one task message was delivered (poison-page detection)."""
    return f"{KEY_PREFIX}deliveries:{message_id}"


def held_key(node: str) -> str:
    """Hash of the deliveries a supervised translate node holds: delivery tag -> task id."""
    return f"{KEY_PREFIX}held:{node}"


def stats_key(name: str) -> str:
    """Hash of counters kept by one component (``crawler``, …)."""
    return f"{KEY_PREFIX}stats:{name}"
