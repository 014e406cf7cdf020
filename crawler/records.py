"""What a crawl run leaves behind: a ``crawl_runs`` row per site and the site's health in Redis.

The rows are written with psycopg by the crawl process *after* its reactor stopped: one short
transaction per process, nothing blocking inside Scrapy, and no Celery round trip whose worker
might be down exactly when a crawl wants to report that things are down. Health lives in Redis,
where the scheduler reads it every tick: a site whose runs fail (every feed, sitemap and homepage
failed, or none of them listed a single article) ``site_failure_runs`` times in a row is flagged
with the reason and skipped by the scheduler until ``transcrawl sites enable SITE``.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import redis

from schemas.keys import site_health_key

if TYPE_CHECKING:
    from crawler.run import SiteReport

log = logging.getLogger(__name__)


def update_health(client: redis.Redis, report: SiteReport, threshold: int) -> dict[str, Any]:
    """Count consecutive failed runs; flag the site at ``threshold``. Returns the health entry."""
    key = site_health_key(report.site)
    if report.status != "failed":
        client.hset(key, mapping={"bad_runs": 0, "last_status": report.status})
        return health(client, report.site)
    reason = report.failure_reason or "failed"
    bad = int(client.hincrby(key, "bad_runs", 1))
    client.hset(key, mapping={"last_status": "failed", "reason": reason})
    if threshold and bad >= threshold and not client.hget(key, "disabled_at"):
        client.hset(key, mapping={"disabled_at": time.time(),
                                  "disabled_reason": f"{bad} failed runs in a row; last: {reason}"})
        log.warning("site %s disabled after %d failed runs: %s", report.site, bad, reason)
    return health(client, report.site)


def health(client: redis.Redis, site: str) -> dict[str, Any]:
    entry = cast(dict[bytes, bytes], client.hgetall(site_health_key(site)))
    raw = {k.decode(): v.decode() for k, v in entry.items()}
    return {"site": site, "bad_runs": int(raw.get("bad_runs", 0)), "reason": raw.get("reason"),
            "disabled": "disabled_at" in raw, "disabled_reason": raw.get("disabled_reason"),
            "disabled_at": float(raw["disabled_at"]) if "disabled_at" in raw else None}


def disabled_sites(client: redis.Redis) -> dict[str, dict[str, Any]]:
    """Every flagged site with its health entry."""
    found = {}
    for key in client.scan_iter(site_health_key("*")):
        site = key.decode().removeprefix(site_health_key(""))
        entry = health(client, site)
        if entry["disabled"]:
            found[site] = entry
    return found


def disable(client: redis.Redis, site: str, reason: str) -> None:
    client.hset(site_health_key(site), mapping={"disabled_at": time.time(), "disabled_reason": reason})


def enable(client: redis.Redis, site: str) -> bool:
    """Clear the flag and the failure count; True when the site was flagged."""
    return bool(client.delete(site_health_key(site)))


INSERT_RUN = (
    "INSERT INTO crawl_runs (site, started_at, finished_at, pages_fetched, new_articles, not_modified,"
    " errors, status, finish_reason, problems) VALUES (%(site)s, %(started_at)s, %(finished_at)s,"
    " %(pages_fetched)s, %(new_articles)s, %(not_modified)s, %(errors)s, %(status)s, %(finish_reason)s,"
    " %(problems)s)"
)


def write_runs(database_url: str | None, reports: list[SiteReport]) -> bool:
    """Insert one ``crawl_runs`` row per crawled site; False (logged) when Postgres is unavailable."""
    rows = [_row(r) for r in reports if r.status in ("ok", "partial", "failed")]
    if not rows:
        return True
    if not database_url:
        log.warning("no database URL: %d crawl run(s) not recorded in crawl_runs", len(rows))
        return False
    import psycopg
    from psycopg.types.json import Jsonb

    try:
        with psycopg.connect(database_url, connect_timeout=10) as conn, conn.cursor() as cursor:
            cursor.executemany(INSERT_RUN, [{**row, "problems": Jsonb(row["problems"])} for row in rows])
    except psycopg.Error as exc:  # the crawl itself succeeded: say so loudly, do not fail it
        log.error("could not record %d crawl run(s): %s", len(rows), exc)
        return False
    return True


def _row(report: SiteReport) -> dict[str, Any]:
    return {
        "site": report.site,
        "started_at": datetime.fromtimestamp(report.started_at, UTC),
        "finished_at": datetime.fromtimestamp(report.finished_at or report.started_at, UTC),
        "pages_fetched": report.responses,
        "new_articles": report.pages_fetched,
        "not_modified": report.not_modified,
        "errors": report.article_errors + report.discovery_errors,
        "status": report.status,
        "finish_reason": report.finish_reason,
        "problems": report.problems[:50] + [f"{n} article(s) failed: {reason}"
                                            for reason, n in sorted(report.failure_reasons.items())],
    }


def recent_runs(database_url: str, site: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(database_url) as conn, conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute("SELECT * FROM crawl_runs WHERE (%(site)s::text IS NULL OR site = %(site)s)"
                       " ORDER BY id DESC LIMIT %(limit)s", {"site": site, "limit": limit})
        return list(cursor.fetchall())

