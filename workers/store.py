"""Postgres writes and reads, all parameterised; article writes are upserts on the canonical URL."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from schemas.messages import Article, FailureMessage

_ARTICLE_COLUMNS = (
    "url", "site", "country", "language", "title", "text", "title_en", "text_en", "authors",
    "published_at", "fetched_at", "translated_at", "translation_model", "status", "status_reason",
    "extraction", "image_url", "image_caption", "image_credit", "description", "description_en",
)
# Columns whose change is a real change; timestamps of a redelivered message are not compared.
_COMPARED = ("site", "country", "language", "title", "text", "title_en", "text_en", "authors",
             "published_at", "status", "status_reason", "extraction", "image_url", "image_caption",
             "image_credit", "description", "description_en")

UPSERT_ARTICLE = (
    f"INSERT INTO articles ({', '.join(_ARTICLE_COLUMNS)}) VALUES ("
    + ", ".join(f"%({c})s" for c in _ARTICLE_COLUMNS)
    + ") ON CONFLICT (url) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _ARTICLE_COLUMNS if c != "url")
    + ", updated_at = now() WHERE ("
    + ", ".join(f"articles.{c}" for c in _COMPARED)
    + ") IS DISTINCT FROM ("
    + ", ".join(f"EXCLUDED.{c}" for c in _COMPARED)
    + ")"
)


def upsert_article(conn: psycopg.Connection[Any], article: Article) -> bool:
    """Insert or update ``article``; True when a row changed (False for a redelivered message)."""
    row = article.to_json()
    params = {c: row[c] for c in _ARTICLE_COLUMNS}
    params["extraction"] = Jsonb(row["extraction"] or {})
    cursor = conn.execute(UPSERT_ARTICLE, params)
    conn.execute(
        "UPDATE failures SET resolved_at = now() WHERE url = %s AND resolved_at IS NULL",
        (article.url,),
    )
    return cursor.rowcount > 0


def record_failure(conn: psycopg.Connection[Any], failure: FailureMessage) -> None:
    """One row per (url, stage); a repeat counts an attempt and keeps the latest reason.

    A raw page missing for an article already stored is a redelivered extract (its ack was lost
    in a crash after the store spent the claim check): recorded, but resolved at once.
    """
    conn.execute(
        "INSERT INTO failures (url, site, stage, reason, detail, raw_key, payload, resolved_at)"
        " VALUES (%(url)s, %(site)s, %(stage)s, %(reason)s, %(detail)s, %(raw_key)s, %(payload)s,"
        " (SELECT now() FROM articles WHERE url = %(url)s AND %(reason)s = 'raw_page_missing'))"
        " ON CONFLICT (url, stage) DO UPDATE SET reason = EXCLUDED.reason,"
        " detail = EXCLUDED.detail, raw_key = EXCLUDED.raw_key, payload = EXCLUDED.payload,"
        " attempts = failures.attempts + 1, last_failed_at = now(), resolved_at = EXCLUDED.resolved_at",
        {
            "url": failure.url,
            "site": failure.site,
            "stage": failure.stage,
            "reason": failure.reason,
            "detail": (failure.detail or "")[:4000],
            "raw_key": failure.raw_key,
            "payload": Jsonb(failure.payload) if failure.payload is not None else None,
        },
    )


def sync_sites(conn: psycopg.Connection[Any], sites: Iterable[Any]) -> int:
    """Upsert registry entries (crawler.registry.Site) into ``sites``."""
    count = 0
    for site in sites:
        conn.execute(
            "INSERT INTO sites (id, name, country, language, homepage, feeds, sitemaps)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
            " name = EXCLUDED.name, country = EXCLUDED.country, language = EXCLUDED.language,"
            " homepage = EXCLUDED.homepage, feeds = EXCLUDED.feeds, sitemaps = EXCLUDED.sitemaps,"
            " updated_at = now()",
            (site.id, site.name, site.country, site.language, site.homepage,
             Jsonb(list(site.feeds)), Jsonb(list(site.sitemaps))),
        )
        count += 1
    return count


def load_article(conn: psycopg.Connection[Any], url: str) -> Article | None:
    cursor = conn.execute(
        f"SELECT {', '.join(_ARTICLE_COLUMNS)} FROM articles WHERE url = %s", (url,)
    )
    row = cursor.fetchone()
    if row is None:
        return None
    data = dict(zip(_ARTICLE_COLUMNS, row))
    for key in ("published_at", "fetched_at", "translated_at"):
        if data[key] is not None:
            data[key] = data[key].isoformat()
    return Article.from_json(data)


def untranslated_urls(conn: psycopg.Connection[Any], languages: Iterable[str] | None = None) -> list[str]:
    """URLs of articles waiting for a model, optionally only in ``languages``."""
    langs = list(languages or [])
    if langs:
        cursor = conn.execute(
            "SELECT url FROM articles WHERE status = 'untranslated' AND language = ANY(%s) ORDER BY id",
            (langs,),
        )
    else:
        cursor = conn.execute("SELECT url FROM articles WHERE status = 'untranslated' ORDER BY id")
    return [row[0] for row in cursor]


def summary(conn: psycopg.Connection[Any], *, failures_limit: int = 10,
            sites: list[str] | None = None) -> dict[str, Any]:
    """Counts for ``transcrawl status`` and the demo's closing summary (optionally for ``sites``)."""
    # "%(sites)s IS NULL OR site = ANY(...)": one parameterised query for both cases.
    where = "(%(sites)s::text[] IS NULL OR site = ANY(%(sites)s::text[]))"
    params = {"sites": sites, "limit": failures_limit}
    by_status = dict(conn.execute(
        f"SELECT status, count(*) FROM articles WHERE {where} GROUP BY status", params).fetchall())
    by_language = dict(conn.execute(
        f"SELECT language, count(*) FROM articles WHERE {where} GROUP BY language"
        " ORDER BY count(*) DESC", params).fetchall())
    open_failures = conn.execute(
        f"SELECT stage, reason, count(*) FROM failures WHERE resolved_at IS NULL AND {where}"
        " GROUP BY stage, reason ORDER BY count(*) DESC", params).fetchall()
    recent = conn.execute(
        f"SELECT url, stage, reason, detail, last_failed_at FROM failures WHERE resolved_at IS NULL"
        f" AND {where} ORDER BY last_failed_at DESC LIMIT %(limit)s", params).fetchall()
    return {
        "articles": sum(by_status.values()),
        "by_status": by_status,
        "by_language": by_language,
        "failures": sum(row[2] for row in open_failures),
        "failures_by_reason": [{"stage": s, "reason": r, "count": n} for s, r, n in open_failures],
        "recent_failures": [
            {"url": u, "stage": s, "reason": r, "detail": d, "at": t.isoformat()}
            for u, s, r, d, t in recent
        ],
    }


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
