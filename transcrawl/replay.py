"""Re-run failed items once their cause is fixed (``transcrawl failures retry``), and settle the raw
pages a Redis crash leaves behind (``transcrawl failures requeue-orphans``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

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


# Deletes a raw page only if it is still the fetch that was read: the crawler may have fetched the
# URL again since (same key), and that page waits for its own extraction.
_DELETE_IF_UNCHANGED = ("if redis.call('hget', KEYS[1], 'meta') == ARGV[1] then"
                        " return redis.call('del', KEYS[1]) end return 0")


def requeue_orphans(settings: Settings, *, older_than: float = 600.0) -> dict[str, int]:
    """After a Redis crash, settle every raw page still in Redis against ``articles`` and ``failures``.

    A page whose article is not stored (or is stored from an older fetch) has probably lost its
    message: kombu pops a message and records it as unacknowledged in two commands. It is sent to
    ``extract`` again; sending one twice is harmless.

    A page whose article is stored from this very fetch is a spent claim check whose delete was
    lost: a store that had just started when the broker dropped commits, fails on the delete, and
    asks for its message back, but Celery has already forgotten a request it had not seen start,
    so the message waits in ``unacked`` for the visibility timeout. The page is deleted.

    A page with an open failure waits for the operator (a poison page sent again would kill
    workers again): ``transcrawl failures retry`` is the way back for those. Pages fetched less
    than ``older_than`` seconds ago are left alone: their task is probably still queued.
    """
    assert settings.database_url and settings.redis_url
    celery, client = producer(settings.redis_url), redis.Redis.from_url(settings.redis_url)
    pages = _raw_pages(client, older_than)
    urls = [meta["url"] for _, _, meta in pages]
    with psycopg.connect(settings.database_url) as conn:
        stored = _stored_fetches(conn, urls)
        failed = _open_failures(conn, urls)
    counts = {"requeued": 0, "spent": 0}
    for key, raw_meta, meta in pages:
        if _already_stored(meta, stored.get(meta["url"])):
            counts["spent"] += int(client.eval(_DELETE_IF_UNCHANGED, 1, key, raw_meta))
        elif meta["url"] not in failed:
            send(celery, EXTRACT, ExtractMessage(raw_key=key, url=meta["url"], site=meta["site"]).to_json())
            counts["requeued"] += 1
    client.close()
    return counts


def _raw_pages(client: redis.Redis, older_than: float) -> list[tuple[str, bytes, dict[str, Any]]]:
    """(key, meta as stored, meta) of each raw page fetched at least ``older_than`` seconds ago."""
    cutoff = datetime.now().timestamp() - older_than
    pages = []
    for key in client.scan_iter(match=f"{RAW_PAGE_PREFIX}*", count=500):
        raw_meta = cast("bytes | None", client.hget(key, "meta"))
        meta = json.loads(raw_meta or b"{}")
        if raw_meta and meta and _fetched(meta) <= cutoff:
            pages.append((key.decode(), raw_meta, meta))
    return pages


def _stored_fetches(conn: psycopg.Connection[Any], urls: list[str]) -> dict[str, datetime]:
    """``fetched_at`` of the stored article of each URL that has one."""
    rows = conn.execute("SELECT url, fetched_at FROM articles WHERE url = ANY(%s)", (urls,)).fetchall()
    return {url: fetched_at for url, fetched_at in rows}


def _open_failures(conn: psycopg.Connection[Any], urls: list[str]) -> set[str]:
    rows = conn.execute("SELECT url FROM failures WHERE url = ANY(%s) AND resolved_at IS NULL", (urls,))
    return {row[0] for row in rows}


def _already_stored(meta: dict[str, Any], stored_fetch: datetime | None) -> bool:
    # An upsert that changes nothing keeps the older fetched_at: such a page is extracted again,
    # which stores nothing new and then spends the claim check.
    return stored_fetch is not None and stored_fetch.timestamp() >= _fetched(meta)


def _fetched(meta: dict[str, Any]) -> float:
    return datetime.fromisoformat(meta["fetched_at"]).timestamp()
