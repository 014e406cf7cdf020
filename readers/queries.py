"""The read API's SQL: parameterised, over the read contract (``schemas/README.md``) only.

Lists are newest first by ``listed_at`` (the stated publication time, never after the fetch) and
paged by keyset: a cursor is the (listed_at, id) of the last row a page showed, so a page costs the
same at any depth and rows stored meanwhile neither repeat nor vanish. Every list query walks one of
the ``(…, listed_at DESC, id DESC)`` indexes of migration 0004, or the full-text GIN index for ``q``.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

READABLE = ("translated", "original_english")  # statuses with English to read
STATUSES = ("translated", "original_english", "untranslated", "pending")
FEED_SIZE = 50

_SUMMARY = """
    a.id, a.url, a.site, a.country, a.language, a.status,
    coalesce(a.title_en, a.title) AS title, a.title AS title_original,
    coalesce(a.description_en, a.description) AS description,
    a.image_url, a.image_caption, a.image_credit,
    split_part(coalesce(a.text_en, a.text), E'\n', 1) AS lead,
    a.published_at, a.listed_at, a.authors, s.name AS site_name, a.story_id, a.duplicate_of
"""
_ARTICLE = _SUMMARY + """,
    a.title_en, a.text_en, a.text, a.description AS description_original, a.description_en,
    a.fetched_at, a.translated_at, a.translation_model, a.status_reason, a.updated_at
"""


class BadCursor(ValueError):
    """A cursor this service did not hand out."""


@dataclasses.dataclass(frozen=True)
class Cursor:
    """Where a page ended: the (listed_at, id) of its last row, opaque to clients."""

    listed_at: dt.datetime
    id: int

    def encode(self) -> str:
        raw = json.dumps([self.listed_at.isoformat(), self.id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            at, row_id = json.loads(raw)
            listed = dt.datetime.fromisoformat(at)
            if listed.tzinfo is None or not isinstance(row_id, int):
                raise ValueError(text)
        except (ValueError, TypeError) as exc:
            raise BadCursor("not a cursor from this service's next_cursor") from exc
        return cls(listed, row_id)


@dataclasses.dataclass(frozen=True)
class ArticleFilter:
    """The filters of ``GET /v1/articles`` and of the feeds, already validated."""

    country: str | None = None
    language: str | None = None
    site: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    q: str | None = None
    statuses: tuple[str, ...] = READABLE

    def where(self) -> tuple[sql.Composed, dict[str, Any]]:
        clauses: list[sql.Composable] = [sql.SQL("a.status = ANY(%(statuses)s)")]
        params: dict[str, Any] = {"statuses": list(self.statuses)}
        for column in ("country", "language", "site"):
            value = getattr(self, column)
            if value is not None:
                clauses.append(sql.SQL("a.{} = {}").format(sql.Identifier(column), sql.Placeholder(column)))
                params[column] = value
        if self.since is not None:
            clauses.append(sql.SQL("a.listed_at >= %(since)s"))
            params["since"] = self.since
        if self.until is not None:
            clauses.append(sql.SQL("a.listed_at < %(until)s"))
            params["until"] = self.until
        if self.q:
            clauses.append(sql.SQL("a.search_en @@ websearch_to_tsquery('english', %(q)s)"))
            params["q"] = self.q
        return sql.SQL(" AND ").join(clauses), params


def list_sql(filters: ArticleFilter, cursor: Cursor | None, limit: int) -> tuple[sql.Composed, dict[str, Any]]:
    """The query of one list page (``limit + 1`` rows: the extra one says whether there is more)."""
    where, params = filters.where()
    if cursor is not None:
        where = sql.SQL("{} AND (a.listed_at, a.id) < (%(c_at)s, %(c_id)s)").format(where)
        params.update(c_at=cursor.listed_at, c_id=cursor.id)
    params["limit"] = limit + 1
    query = sql.SQL(
        "SELECT " + _SUMMARY + " FROM articles a LEFT JOIN sites s ON s.id = a.site"
        " WHERE {} ORDER BY a.listed_at DESC, a.id DESC LIMIT %(limit)s"
    ).format(where)
    return query, params


async def list_articles(conn: AsyncConnection[Any], filters: ArticleFilter, cursor: Cursor | None,
                        limit: int) -> tuple[list[dict[str, Any]], Cursor | None]:
    """One page of articles, newest first, and the cursor of the next page (None at the end)."""
    query, params = list_sql(filters, cursor, limit)
    return await _page(conn, query, params, limit, "listed_at")


async def _page(conn: AsyncConnection[Any], query: sql.Composed, params: dict[str, Any], limit: int,
                at: str) -> tuple[list[dict[str, Any]], Cursor | None]:
    """Run a keyset page query (``limit + 1`` rows); its rows and the next page's cursor."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        rows = await cur.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    following = Cursor(rows[-1][at], rows[-1]["id"]) if more and rows else None
    return rows, following


async def get_article(conn: AsyncConnection[Any], article_id: int) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT " + _ARTICLE + " FROM articles a LEFT JOIN sites s ON s.id = a.site"
                          " WHERE a.id = %s", (article_id,))
        return await cur.fetchone()


# Per country: its sites, its readable articles of the last 24 h (one range of the listed_at
# index for all countries) and its latest (one probe of the (country, listed_at) index each).
_COUNTRIES = """
    WITH recent AS (SELECT country, count(*) AS last_24h FROM articles
                    WHERE listed_at > now() - interval '24 hours' AND status = ANY(%(statuses)s)
                    GROUP BY country),
         c AS (SELECT country, count(*) AS sites FROM sites GROUP BY country)
    SELECT c.country, c.sites, coalesce(recent.last_24h, 0) AS last_24h, l.latest
    FROM c LEFT JOIN recent USING (country)
    LEFT JOIN LATERAL (SELECT a.listed_at AS latest FROM articles a WHERE a.country = c.country
                       AND a.status = ANY(%(statuses)s) ORDER BY a.listed_at DESC, a.id DESC LIMIT 1) l ON true
    ORDER BY c.country
"""
_SITES = """
    WITH recent AS (SELECT site, count(*) AS last_24h FROM articles
                    WHERE listed_at > now() - interval '24 hours' AND status = ANY(%(statuses)s)
                    GROUP BY site)
    SELECT s.id, s.name, s.country, s.language, s.homepage, coalesce(recent.last_24h, 0) AS last_24h, l.latest
    FROM sites s LEFT JOIN recent ON recent.site = s.id
    LEFT JOIN LATERAL (SELECT a.listed_at AS latest FROM articles a WHERE a.site = s.id
                       AND a.status = ANY(%(statuses)s) ORDER BY a.listed_at DESC, a.id DESC LIMIT 1) l ON true
    WHERE (%(country)s::text IS NULL OR s.country = %(country)s::text)
    ORDER BY s.country, s.id
"""


async def countries(conn: AsyncConnection[Any]) -> list[dict[str, Any]]:
    """Every country of the registry with its sites, readable articles of the last 24 h, latest."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_COUNTRIES, {"statuses": list(READABLE)})
        return await cur.fetchall()


async def sites(conn: AsyncConnection[Any], country: str | None = None) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_SITES, {"statuses": list(READABLE), "country": country})
        return await cur.fetchall()


async def site(conn: AsyncConnection[Any], site_id: str) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT id, name, country, language, homepage FROM sites WHERE id = %s", (site_id,))
        return await cur.fetchone()


_STORY = "id, title_en, first_seen, last_seen, article_count, countries, languages"


@dataclasses.dataclass(frozen=True)
class StoryFilter:
    """The filters of ``GET /v1/stories``, already validated."""

    since: dt.datetime | None = None
    country: str | None = None  # stories this country's sites carried
    min_countries: int = 1
    missing_from: str | None = None  # stories this country's sites did not carry

    def where(self) -> tuple[sql.Composed, dict[str, Any]]:
        clauses: list[sql.Composable] = [sql.SQL("cardinality(countries) >= %(min_countries)s")]
        params: dict[str, Any] = {"min_countries": self.min_countries}
        if self.since is not None:
            clauses.append(sql.SQL("last_seen >= %(since)s"))
            params["since"] = self.since
        if self.country is not None:
            clauses.append(sql.SQL("countries @> ARRAY[%(country)s::text]"))
            params["country"] = self.country
        if self.missing_from is not None:
            clauses.append(sql.SQL("NOT countries @> ARRAY[%(missing)s::text]"))
            params["missing"] = self.missing_from
        return sql.SQL(" AND ").join(clauses), params


async def list_stories(conn: AsyncConnection[Any], filters: StoryFilter, cursor: Cursor | None,
                       limit: int) -> tuple[list[dict[str, Any]], Cursor | None]:
    """Stories, most recently active first (a cursor pages on (last_seen, id))."""
    where, params = filters.where()
    if cursor is not None:
        where = sql.SQL("{} AND (last_seen, id) < (%(c_at)s, %(c_id)s)").format(where)
        params.update(c_at=cursor.listed_at, c_id=cursor.id)
    params["limit"] = limit + 1
    query = sql.SQL("SELECT " + _STORY + " FROM stories WHERE {} ORDER BY last_seen DESC, id DESC"
                    " LIMIT %(limit)s").format(where)
    return await _page(conn, query, params, limit, "last_seen")


async def get_story(conn: AsyncConnection[Any], story_id: int) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """A story and its articles (by country, then oldest first)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT " + _STORY + " FROM stories WHERE id = %s", (story_id,))
        story = await cur.fetchone()
        if story is None:
            return None, []
        await cur.execute("SELECT " + _SUMMARY + " FROM articles a LEFT JOIN sites s ON s.id = a.site"
                          " WHERE a.story_id = %s ORDER BY a.country, a.listed_at, a.id", (story_id,))
        return story, await cur.fetchall()
