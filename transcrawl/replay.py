"""Re-run failed items once their cause is fixed: ``transcrawl failures retry``."""

from __future__ import annotations

from typing import Any

import psycopg
import redis

from foundation.settings import Settings
from schemas.keys import RAW_PAGE_PREFIX, seen_key
from schemas.messages import ExtractMessage
from schemas.pipeline import EXTRACT, REPLAY, producer, send


def open_failures(conn: psycopg.Connection[Any], *, reason: str | None = None, stage: str | None = None,
                  limit: int = 1000) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, url, site, stage, reason, detail, raw_key, payload, attempts, last_failed_at"
        " FROM failures WHERE resolved_at IS NULL"
        " AND (%(reason)s::text IS NULL OR reason = %(reason)s)"
        " AND (%(stage)s::text IS NULL OR stage = %(stage)s)"
        " ORDER BY last_failed_at DESC LIMIT %(limit)s",
        {"reason": reason, "stage": stage, "limit": limit},
    ).fetchall()
    keys = ("id", "url", "site", "stage", "reason", "detail", "raw_key", "payload", "attempts", "at")
    return [dict(zip(keys, row)) for row in rows]


def retry(settings: Settings, *, reason: str | None = None, stage: str | None = None) -> dict[str, int]:
    """Resend each open failure's message; failures whose raw page is gone are re-crawled instead.

    A retried failure stays open until its article is stored (the upsert resolves it), so nothing
    is marked done before it is.
    """
    assert settings.database_url and settings.redis_url
    celery, client = producer(settings.redis_url), redis.Redis.from_url(settings.redis_url)
    counts = {"resent": 0, "recrawl": 0}
    with psycopg.connect(settings.database_url) as conn:
        for failure in open_failures(conn, reason=reason, stage=stage):
            resend = failure["stage"] in REPLAY and failure["payload"]
            if failure["stage"] == "extract" and not client.exists(failure["raw_key"] or ""):
                resend = False  # the raw page expired: only a new fetch can help
            if resend:
                send(celery, REPLAY[failure["stage"]], failure["payload"])
                counts["resent"] += 1
            elif failure["site"]:
                # Forget that the URL was seen, so the site's next crawl fetches it again.
                client.zrem(seen_key(failure["site"]), failure["url"])
                counts["recrawl"] += 1
    client.close()
    return counts


def requeue_orphans(settings: Settings, *, older_than: float = 600.0) -> int:
    """Send ``extract`` again for raw pages still in Redis with neither a stored article nor an open failure.

    After a Redis crash a message can be gone while its raw page survives (kombu pops a message and
    records it as unacknowledged in two commands). Pages fetched less than ``older_than`` seconds
    ago are left alone: their task is probably still queued. Sending one twice is harmless.
    """
    import json
    from datetime import datetime

    assert settings.database_url and settings.redis_url
    celery, client = producer(settings.redis_url), redis.Redis.from_url(settings.redis_url)
    cutoff = datetime.now().timestamp() - older_than
    pages = []
    for key in client.scan_iter(match=f"{RAW_PAGE_PREFIX}*", count=500):
        meta = json.loads(client.hget(key, "meta") or b"{}")
        if meta and datetime.fromisoformat(meta["fetched_at"]).timestamp() <= cutoff:
            pages.append((key.decode(), meta))
    with psycopg.connect(settings.database_url) as conn:
        # Stored articles are done; pages with an open failure wait for the operator (a poison page
        # sent again would kill workers again): `failures retry` is the way back for those.
        settled = {row[0] for row in conn.execute(
            "SELECT url FROM articles WHERE url = ANY(%(urls)s)"
            " UNION SELECT url FROM failures WHERE url = ANY(%(urls)s) AND resolved_at IS NULL",
            {"urls": [m["url"] for _, m in pages]})}
    count = 0
    for key, meta in pages:
        if meta["url"] not in settled:
            send(celery, EXTRACT, ExtractMessage(raw_key=key, url=meta["url"], site=meta["site"]).to_json())
            count += 1
    client.close()
    return count
