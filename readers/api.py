"""The read API: versioned JSON over the read contract, feeds, health and metrics (FastAPI).

    GET /v1/articles          filters country, language, site, since, until, q, status; cursor, limit
    GET /v1/articles/{id}     the whole article, English beside the original
    GET /v1/countries         per country: sites, articles of the last 24 h, latest
    GET /v1/sites             per site (filter country)
    GET /v1/stories           filters since, country, min_countries, missing_from; cursor, limit
    GET /v1/stories/{id}      one story, its articles by country
    GET /feeds/{country}.atom|.json, /feeds/sites/{site}.atom|.json
    GET /openapi.json, /healthz, /metrics; the reader page at / (readers.page)

Every answer carries an ETag (a hash of its body; If-None-Match gives 304) and Cache-Control.
Errors are problem documents (readers.problems).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import psycopg
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from starlette.exceptions import HTTPException
from starlette.responses import Response

from foundation import __version__
from readers import feeds, params, queries
from readers.db import reader_pool
from readers.problems import Problem, bad_parameter, not_found, unavailable

log = logging.getLogger(__name__)

LIST_MAX_AGE = 60  # seconds a list, a feed or the countries may be cached
ARTICLE_MAX_AGE = 300


def to_json(value: Any) -> bytes:
    """orjson: several times faster than json for these answers (datetimes natively, as RFC 3339)."""
    return orjson.dumps(value)


def cached(request: Request, body: bytes, media_type: str, max_age: int) -> Response:
    """``body`` with its ETag and Cache-Control, or 304 when the client already has it."""
    tag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={max_age}"}
    wanted = request.headers.get("if-none-match", "")
    if tag in {t.strip().removeprefix("W/") for t in wanted.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def image(row: dict[str, Any]) -> dict[str, Any] | None:
    if not row.get("image_url"):
        return None
    return {"url": row["image_url"], "caption": row.get("image_caption"), "credit": row.get("image_credit")}


def summary(row: dict[str, Any], base: str) -> dict[str, Any]:
    return {
        "id": row["id"], "url": row["url"], "title": row["title"], "title_original": row["title_original"],
        "description": row["description"], "lead": row["lead"], "image": image(row),
        "source": {"id": row["site"], "name": row["site_name"], "country": row["country"]},
        "language": row["language"], "status": row["status"], "authors": row["authors"],
        "published_at": row["published_at"], "listed_at": row["listed_at"],
        "story_id": row["story_id"], "duplicate_of": row["duplicate_of"],
        "links": {"self": f"{base}v1/articles/{row['id']}", "reader": f"{base}articles/{row['id']}",
                  "original": row["url"]},
    }


def full(row: dict[str, Any], base: str) -> dict[str, Any]:
    out = summary(row, base)
    del out["lead"]
    out.update({
        "title_en": row["title_en"], "text": row["text_en"] or row["text"], "text_en": row["text_en"],
        "text_original": row["text"], "description_en": row["description_en"],
        "description_original": row["description_original"], "status_reason": row["status_reason"],
        "fetched_at": row["fetched_at"], "translated_at": row["translated_at"],
        "translation_model": row["translation_model"], "updated_at": row["updated_at"],
    })
    return out


def story_summary(row: dict[str, Any], base: str) -> dict[str, Any]:
    return {
        "id": row["id"], "title": row["title_en"], "first_seen": row["first_seen"],
        "last_seen": row["last_seen"], "article_count": row["article_count"], "countries": row["countries"],
        "languages": row["languages"],
        "links": {"self": f"{base}v1/stories/{row['id']}", "reader": f"{base}stories/{row['id']}"},
    }


class Metrics:
    """Prometheus metrics of one serve process (its own registry: no clash with a worker's)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("transcrawl_api_requests", "Read API requests", ["route", "status"],
                                registry=self.registry)
        self.seconds = Histogram("transcrawl_api_request_seconds", "Read API request time", ["route"],
                                 buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
                                 registry=self.registry)


def create_app(database_url: str, *, statement_timeout_ms: int = 2000, pool_size: int = 8) -> FastAPI:
    """The whole service: API, feeds and the reader page, reading through the reader role."""
    from readers import page

    pool = reader_pool(database_url, statement_timeout_ms=statement_timeout_ms, max_size=pool_size)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.open(wait=False)
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(title="Transcrawl read API", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                  description="The world's news in English: articles, countries, sites and feeds.")
    app.state.pool = pool
    metrics = Metrics()

    @app.exception_handler(Problem)
    async def problem(request: Request, exc: Problem) -> Response:
        return exc.response(request.url.path)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": ["query", "?"], "msg": "invalid"}
        return bad_parameter(str(first["loc"][-1]), str(first["msg"])).response(request.url.path)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        title = "Not found" if exc.status_code == 404 else "HTTP error"
        return Problem(exc.status_code, title, str(exc.detail)).response(request.url.path)

    @app.exception_handler(psycopg.errors.QueryCanceled)
    async def too_slow(request: Request, exc: Exception) -> Response:
        return unavailable("the query ran past the statement timeout").response(request.url.path)

    @app.exception_handler(psycopg.OperationalError)
    async def database_down(request: Request, exc: Exception) -> Response:
        return unavailable("the database is not reachable").response(request.url.path)

    @app.exception_handler(PoolTimeout)
    async def pool_exhausted(request: Request, exc: Exception) -> Response:
        return unavailable("no database connection came free in time").response(request.url.path)

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> Response:
        log.exception("read API request %s failed", request.url.path)  # and to Sentry, when it is on
        return Problem(500, "Internal error", "the request failed; it has been logged").response(request.url.path)

    @app.get("/v1/articles", summary="Articles, newest first")
    async def list_articles(
        request: Request,
        country: str | None = Query(None, description="ISO 3166-1 alpha-2 of the site's country"),
        language: str | None = Query(None, description="ISO 639-1 of the original text"),
        site: str | None = Query(None, description="site id (GET /v1/sites)"),
        since: str | None = Query(None, description="listed at or after (ISO 8601)"),
        until: str | None = Query(None, description="listed before (ISO 8601)"),
        q: str | None = Query(None, description="full-text search of the English title, standfirst and text"
                                                " (web search syntax: words, \"phrases\", -not, or)"),
        status: str | None = Query(None, description="comma-separated statuses, or all "
                                                     "(default: translated,original_english)"),
        cursor: str | None = Query(None, description="next_cursor of the previous page"),
        limit: str | None = Query(None, description="articles per page, 1 to 100 (default 20)"),
    ) -> Response:
        filters = params.article_filter(country_=country, language_=language, site_=site, since=since,
                                        until=until, q=q, status=status)
        after, size = params.cursor(cursor), params.limit(limit)
        async with pool.connection() as conn:
            rows, following = await queries.list_articles(conn, filters, after, size)
        base = str(request.base_url)
        body = {"articles": [summary(r, base) for r in rows], "count": len(rows),
                "next_cursor": following.encode() if following else None}
        return cached(request, to_json(body), "application/json", LIST_MAX_AGE)

    @app.get("/v1/articles/{article_id}", summary="One article, English beside the original")
    async def get_article(request: Request, article_id: int) -> Response:
        async with pool.connection() as conn:
            row = await queries.get_article(conn, article_id)
        if row is None:
            raise not_found(f"no article {article_id}")
        return cached(request, to_json(full(row, str(request.base_url))), "application/json", ARTICLE_MAX_AGE)

    @app.get("/v1/countries", summary="Countries: sites, articles of the last 24 hours, latest")
    async def list_countries(request: Request) -> Response:
        async with pool.connection() as conn:
            rows = await queries.countries(conn)
        return cached(request, to_json({"countries": rows}), "application/json", LIST_MAX_AGE)

    @app.get("/v1/sites", summary="Sites of the registry, with their articles of the last 24 hours")
    async def list_sites(request: Request,
                         country: str | None = Query(None, description="only this country's sites")) -> Response:
        async with pool.connection() as conn:
            rows = await queries.sites(conn, params.country(country))
        return cached(request, to_json({"sites": rows}), "application/json", LIST_MAX_AGE)

    @app.get("/v1/stories", summary="Stories across countries, most recently active first")
    async def list_stories(
        request: Request,
        since: str | None = Query(None, description="active (an article listed) at or after (ISO 8601)"),
        country: str | None = Query(None, description="stories this country's sites carried"),
        min_countries: str | None = Query(None, description="stories carried in at least this many countries"),
        missing_from: str | None = Query(None, description="stories this country's sites did not carry, e.g. us"),
        cursor: str | None = Query(None, description="next_cursor of the previous page"),
        limit: str | None = Query(None, description="stories per page, 1 to 100 (default 20)"),
    ) -> Response:
        filters = params.story_filter(since=since, country_=country, min_countries=min_countries,
                                      missing_from=missing_from)
        after, size = params.cursor(cursor), params.limit(limit)
        async with pool.connection() as conn:
            rows, following = await queries.list_stories(conn, filters, after, size)
        base = str(request.base_url)
        body = {"stories": [story_summary(r, base) for r in rows], "count": len(rows),
                "next_cursor": following.encode() if following else None}
        return cached(request, to_json(body), "application/json", LIST_MAX_AGE)

    @app.get("/v1/stories/{story_id}", summary="One story: its articles, by country")
    async def get_story(request: Request, story_id: int) -> Response:
        async with pool.connection() as conn:
            story, rows = await queries.get_story(conn, story_id)
        if story is None:
            raise not_found(f"no story {story_id}")
        base = str(request.base_url)
        by_country: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_country.setdefault(row["country"], []).append(summary(row, base))
        body = {**story_summary(story, base),
                "by_country": [{"country": c, "articles": items} for c, items in by_country.items()]}
        return cached(request, to_json(body), "application/json", LIST_MAX_AGE)

    async def feed(request: Request, filters: queries.ArticleFilter, title: str, home: str,
                   kind: str) -> Response:
        async with pool.connection() as conn:
            rows, _ = await queries.list_articles(conn, filters, None, queries.FEED_SIZE)
        base = str(request.base_url)
        args: dict[str, Any] = {"title": title, "feed_url": str(request.url.remove_query_params(list(request.query_params))),
                "home_url": base.rstrip("/") + home, "rows": rows,
                "article_url": lambda r: f"{base}articles/{r['id']}"}
        if kind == "atom":
            return cached(request, feeds.atom(**args), "application/atom+xml", LIST_MAX_AGE)
        if kind == "json":
            return cached(request, to_json(feeds.json_feed(**args)), "application/feed+json", LIST_MAX_AGE)
        raise not_found("feeds end in .atom or .json")

    @app.get("/feeds/sites/{site_id}.{kind}", summary="Feed of one site (Atom or JSON Feed)")
    async def site_feed(request: Request, site_id: str, kind: str) -> Response:
        site_id = params.site(site_id, "site") or ""
        async with pool.connection() as conn:
            found = await queries.site(conn, site_id)
        if found is None:
            raise not_found(f"no site {site_id}")
        return await feed(request, queries.ArticleFilter(site=site_id), f"{found['name']} in English",
                          f"/countries/{found['country']}", kind)

    @app.get("/feeds/{country}.{kind}", summary="Feed of one country (Atom or JSON Feed)")
    async def country_feed(request: Request, country: str, kind: str) -> Response:
        code = params.country(country) or ""
        return await feed(request, queries.ArticleFilter(country=code),
                          f"{page.country_name(code)}'s press in English", f"/countries/{code}", kind)

    @app.get("/healthz", summary="200 when the database answers")
    async def healthz() -> Response:
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")
        return Response(to_json({"status": "ok", "database": "ok"}), media_type="application/json",
                        headers={"Cache-Control": "no-store"})

    @app.get("/metrics", include_in_schema=False)
    async def serve_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST,
                        headers={"Cache-Control": "no-store"})

    app.include_router(page.router(pool))
    app.add_middleware(Measured, metrics=metrics)
    return app


class Measured:
    """Pure ASGI middleware: request counts and times by route, and ``nosniff`` on every answer.

    Not ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware wraps every response in a
    stream and costs about a millisecond of CPU a request, a third of a list page here.
    """

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-content-type-options", b"nosniff"))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(route, str(status)).inc()
            self.metrics.seconds.labels(route).observe(time.perf_counter() - started)

