"""Re-run failed items once their cause is fixed (``transcrawl failures retry``), and settle the raw
pages a Redis crash leaves behind (``transcrawl failures requeue-orphans``)."""

from __future__ import annotations

from typing import Any

import psycopg
import redis

from foundation.settings import Settings
from schemas.keys import seen_key
from schemas.pipeline import REPLAY, producer, send
from workers.orphans import settle


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


def requeue_orphans(settings: Settings, *, older_than: float = 600.0) -> dict[str, int]:
    """After a Redis crash, settle every raw page still in Redis against ``articles`` and ``failures``.

    A page whose article is not stored (or is stored from an older fetch) has probably lost its
    message, or its message is parked in ``unacked`` until the visibility timeout because the
    channel that held it died with the connection: it is sent to ``extract`` again, referenced or
    not (sending one twice is harmless). A page whose article is stored from this very fetch is a
    spent claim check whose delete was lost: it is deleted. A page with an open failure waits for
    the operator (a poison page sent again would kill workers again): ``transcrawl failures retry``
    is the way back for those. Pages fetched less than ``older_than`` seconds ago are left alone:
    their task is probably still queued. Workers settle lost messages by themselves between
    crashes (workers/orphans.py); this is the by-age sweep for after one.
    """
    return settle(settings, min_age=older_than, by_age=True).as_dict()
