"""The reader page: pick a country, scroll its press in English, read an article beside its original.

Server-rendered with Jinja2 (autoescaping on, so an article's text is always text), no script at
all, and a Content-Security-Policy that would block one anyway: a hostile page's markup or a
``javascript:`` image URL does nothing here.
"""

from __future__ import annotations

import datetime as dt
import functools
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import jinja2
from fastapi import APIRouter, Query, Request
from psycopg_pool import AsyncConnectionPool
from starlette.responses import HTMLResponse, Response

from readers import params, queries
from readers.problems import not_found

PAGE_SIZE = 24
CSP = ("default-src 'none'; img-src http: https:; style-src 'self'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "Referrer-Policy": "no-referrer",
           "Cache-Control": "public, max-age=60"}


@functools.cache
def country_name(code: str) -> str:
    import pycountry

    found = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    return str(getattr(found, "common_name", None) or getattr(found, "name", None) or code.upper())


def flag(code: str) -> str:
    """The flag emoji of a two-letter country code (regional indicator symbols)."""
    return "".join(chr(0x1F1E6 + ord(c) - ord("a")) for c in code.lower() if "a" <= c <= "z")


def safe_url(value: Any) -> str | None:
    """``value`` if it is an absolute http(s) URL, else None: no javascript:, data: or relative."""
    if not isinstance(value, str):
        return None
    parts = urlsplit(value.strip())
    return value.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def day(value: Any) -> str:
    return value.strftime("%-d %B %Y") if isinstance(value, dt.datetime | dt.date) else ""


@functools.cache
def templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("readers", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(safe_url=safe_url, day=day, country_name=country_name, flag=flag)
    return env


def render(name: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates().get_template(name).render(**context), headers=HEADERS)


def router(pool: AsyncConnectionPool) -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    @pages.get("/")
    async def index() -> Response:
        async with pool.connection() as conn:
            rows = await queries.countries(conn)
        rows.sort(key=lambda r: (-r["last_24h"], country_name(r["country"])))
        return render("index.html", countries=rows, total=sum(r["last_24h"] for r in rows))

    @pages.get("/countries/{country}")
    async def country(request: Request, country: str, cursor: str | None = Query(None)) -> Response:
        code = params.country(country) or ""
        async with pool.connection() as conn:
            rows, following = await queries.list_articles(conn, queries.ArticleFilter(country=code),
                                                          params.cursor(cursor), PAGE_SIZE)
        return render("country.html", code=code, articles=rows,
                      next_cursor=following.encode() if following else None)

    @pages.get("/articles/{article_id}")
    async def article(article_id: int) -> Response:
        async with pool.connection() as conn:
            row = await queries.get_article(conn, article_id)
        if row is None:
            raise not_found(f"no article {article_id}")
        english = (row["text_en"] or row["text"]).split("\n")
        original = row["text"].split("\n")
        pairs = [(english[i] if i < len(english) else "", original[i] if i < len(original) else "")
                 for i in range(max(len(english), len(original)))]
        story = None
        if row["story_id"] is not None:
            async with pool.connection() as conn:
                story, _ = await queries.get_story(conn, row["story_id"])
        return render("article.html", a=row, pairs=[p for p in pairs if p[0] or p[1]],
                      translated=row["status"] == "translated", story=story)

    @pages.get("/stories")
    async def stories(cursor: str | None = Query(None), missing_from: str | None = Query(None)) -> Response:
        filters = params.story_filter(min_countries="2", missing_from=missing_from)
        async with pool.connection() as conn:
            rows, following = await queries.list_stories(conn, filters, params.cursor(cursor), PAGE_SIZE)
        return render("stories.html", stories=rows, missing_from=filters.missing_from,
                      next_cursor=following.encode() if following else None)

    @pages.get("/stories/{story_id}")
    async def story(story_id: int) -> Response:
        async with pool.connection() as conn:
            found, rows = await queries.get_story(conn, story_id)
        if found is None:
            raise not_found(f"no story {story_id}")
        columns: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            columns.setdefault(row["country"], []).append(row)
        return render("story.html", story=found, columns=columns)

    @pages.get("/reader.css")
    async def stylesheet() -> Response:
        css = (resources.files("readers") / "templates" / "reader.css").read_text(encoding="utf-8")
        return Response(css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})

    return pages
