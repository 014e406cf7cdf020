"""What ``transcrawl status`` shows: queues, workers, sites, the last 24 h of articles, failures."""

from __future__ import annotations

import json
import time
from typing import Any

import psycopg
import redis

from foundation.settings import Settings
from schemas.keys import LAST_REPORT_PREFIX
from schemas.pipeline import queue_names
from workers import store

STALE_AFTER = 24 * 3600  # a site not crawled for this long is shown as stale


def queue_depths(client: redis.Redis) -> dict[str, int]:
    """Messages waiting per queue, plus those delivered but not yet acknowledged."""
    depths = {queue: int(client.llen(queue)) for queue in queue_names(client)}
    depths["unacked"] = int(client.hlen("unacked"))
    return depths


def last_crawls(client: redis.Redis) -> list[dict[str, Any]]:
    """The last crawl report of every site, with its health (``ok``, ``failing``, ``stale``, …)."""
    from crawler.records import health

    reports = []
    for key in sorted(client.scan_iter(f"{LAST_REPORT_PREFIX}*")):
        raw = client.get(key)
        if raw:
            report = json.loads(raw)
            report["health"] = site_health(report, health(client, report["site"]))
            reports.append(report)
    return reports


def site_health(report: dict[str, Any], entry: dict[str, Any], now: float | None = None) -> str:
    if entry.get("disabled"):
        return "disabled"
    if entry.get("bad_runs"):
        return "failing"
    if (now or time.time()) - float(report.get("finished_at") or 0) > STALE_AFTER:
        return "stale"
    return str(report.get("status") or ("ok" if report.get("ok") else "failing"))


def workers_alive(settings: Settings, timeout: float = 1.0) -> list[dict[str, Any]]:
    """Workers answering a broadcast ping within ``timeout`` seconds."""
    from schemas.pipeline import producer

    app = producer(settings.redis_url or "")
    try:
        replies = app.control.ping(timeout=timeout) or []
    except Exception as exc:  # status must still show the rest
        return [{"name": "?", "error": str(exc)}]
    finally:
        app.close()
    return sorted(({"name": name, "ok": reply.get("ok") == "pong"}
                   for answer in replies for name, reply in answer.items()), key=lambda w: w["name"])


def last_day(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Articles stored in the last 24 h, by status and by language."""
    recent = "stored_at > now() - interval '24 hours'"
    by_status = dict(conn.execute(
        f"SELECT status, count(*) FROM articles WHERE {recent} GROUP BY status").fetchall())
    by_language = dict(conn.execute(
        f"SELECT language, count(*) FROM articles WHERE {recent} GROUP BY language"
        " ORDER BY count(*) DESC").fetchall())
    return {"articles": sum(by_status.values()), "by_status": by_status, "by_language": by_language}


def without_route(settings: Settings) -> list[dict[str, Any]]:
    """Registry languages no installed model translates (their articles wait untranslated)."""
    from collections import Counter

    from crawler import registry
    from workers.translate.routes import coverage

    counts = Counter(site.language for site in registry.load(settings.sites))
    return [{"language": row.language, "name": row.name, "sites": row.sites, "install": row.hint}
            for row in coverage(settings.models_path, counts) if row.route is None]


def gather(settings: Settings, *, ping_timeout: float = 1.0) -> dict[str, Any]:
    """Everything for the status screen, as one JSON-able dict."""
    assert settings.redis_url and settings.database_url
    client = redis.Redis.from_url(settings.redis_url)
    try:
        result: dict[str, Any] = {"queues": queue_depths(client), "crawls": last_crawls(client)}
        # Crawlers hold article downloads while the extract queue is over this bound.
        result["backpressure"] = {
            "max_queued_pages": settings.max_queued_pages,
            "holding": bool(settings.max_queued_pages)
            and result["queues"].get("extract", 0) > settings.max_queued_pages,
        }
        from crawler.records import disabled_sites

        result["disabled_sites"] = sorted(disabled_sites(client).values(), key=lambda h: h["site"])
    finally:
        client.close()
    result["workers"] = workers_alive(settings, ping_timeout)
    result["without_route"] = without_route(settings)
    with psycopg.connect(settings.database_url) as conn:
        result.update(store.summary(conn))
        result["last_24h"] = last_day(conn)
    return result
