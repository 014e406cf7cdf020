"""The read API as a client sees it: a real ``transcrawl serve`` over real rows in Postgres."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from foundation.settings import Settings
from schemas.messages import Article, ArticleStatus
from tests.support.processes import ServerProcess
from transcrawl.testing.articles import generate
from tests.support.stories import harbour_story
from workers import store
from workers.grouping.stories import group_article

pytestmark = [pytest.mark.slow]

ATOM = "{http://www.w3.org/2005/Atom}"
NOW = dt.datetime.now(dt.UTC)


def german() -> Article:
    return Article(
        url="https://de-bild.example/hafen", site="de-bild", country="de", language="de",
        title="Streik im Hafen", text="Die Arbeiter streiken.\nDer Hafen steht still.",
        title_en="Strike at the harbour", text_en="The dockers are on strike.\nThe port stands still.",
        authors=["Anna Beispiel"], published_at=(NOW - dt.timedelta(minutes=30)).isoformat(),
        fetched_at=NOW.isoformat(), translated_at=NOW.isoformat(), translation_model="opus-mt-de-en",
        status=ArticleStatus.TRANSLATED, image_url="https://de-bild.example/img/hafen-1600.jpg",
        image_caption="Kräne im Hafen", image_credit="Foto: dpa", description="Nichts geht mehr.",
        description_en="Nothing moves any more.",
    )


@pytest.fixture(scope="module")
def api(servers: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    with psycopg.connect(servers.database_url or "") as conn:
        conn.execute("TRUNCATE articles, failures, sites, stories RESTART IDENTITY CASCADE")
        conn.commit()
        generate(conn, 400, seed=7, now=NOW - dt.timedelta(hours=1))
        store.upsert_article(conn, german())
        for version in harbour_story():
            store.upsert_article(conn, version)
            conn.commit()
            group_article(conn, version.url, window=dt.timedelta(hours=72))
        conn.commit()
    server = ServerProcess(servers, tmp_path_factory.mktemp("serve") / "serve.log")
    try:
        yield server.url, servers
    finally:
        server.stop()


def sql(settings: Settings, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(settings.database_url or "") as conn:
        return conn.execute(query, args).fetchall()


def test_paging_walks_every_readable_article_once_newest_first(api: tuple[str, Settings]) -> None:
    url, settings = api
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = httpx.get(f"{url}/v1/articles", params={"limit": 100, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200 and page.headers["content-type"] == "application/json"
        body = page.json()
        assert len(body["articles"]) <= 100
        seen += body["articles"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    readable = sql(settings, "SELECT id FROM articles WHERE status IN ('translated', 'original_english')")
    assert sorted(a["id"] for a in seen) == sorted(r[0] for r in readable)
    times = [dt.datetime.fromisoformat(a["listed_at"]) for a in seen]
    assert times == sorted(times, reverse=True)
    assert seen[0]["title"] == "Strike at the harbour"  # the newest, in English
    assert seen[0]["source"] == {"id": "de-bild", "name": "Bild", "country": "de"}


def test_filters_match_what_postgres_holds(api: tuple[str, Settings]) -> None:
    url, settings = api
    since = (NOW - dt.timedelta(days=3)).isoformat()
    got = httpx.get(f"{url}/v1/articles", params={"country": "JP", "since": since, "limit": 100}).json()
    expected = sql(settings, "SELECT id FROM articles WHERE country = 'jp' AND listed_at >= %s"
                             " AND status IN ('translated', 'original_english')", since)
    assert {a["id"] for a in got["articles"]} == {r[0] for r in expected}
    assert all(a["source"]["country"] == "jp" for a in got["articles"])
    pending = httpx.get(f"{url}/v1/articles", params={"status": "pending,untranslated", "limit": 100}).json()
    assert pending["articles"] and {a["status"] for a in pending["articles"]} <= {"pending", "untranslated"}
    by_site = httpx.get(f"{url}/v1/articles", params={"site": "de-bild"}).json()
    assert [a["url"] for a in by_site["articles"]][:1] == [german().url]


def test_full_text_search_over_the_english(api: tuple[str, Settings]) -> None:
    url, settings = api
    found = httpx.get(f"{url}/v1/articles", params={"q": "strikes harbour"}).json()["articles"]
    assert german().url in [a["url"] for a in found]  # stemmed: strikes ~ strike
    found = httpx.get(f"{url}/v1/articles", params={"q": "the port standing still"}).json()["articles"]
    assert [a["url"] for a in found] == [german().url]
    assert httpx.get(f"{url}/v1/articles", params={"q": "Streik"}).json()["articles"] == []  # not the German
    floods = httpx.get(f"{url}/v1/articles", params={"q": "flood", "limit": 100}).json()
    expected = sql(settings, "SELECT count(*) FROM articles WHERE status IN ('translated', 'original_english')"
                             " AND search_en @@ websearch_to_tsquery('english', 'flood')")[0][0]
    assert 0 < expected <= 100 and floods["count"] == expected
    hostile = httpx.get(f"{url}/v1/articles", params={"q": "'; DROP TABLE articles; --"})
    assert hostile.status_code == 200 and sql(settings, "SELECT count(*) FROM articles")[0][0] > 400


def test_one_article_with_everything_a_reader_shows(api: tuple[str, Settings]) -> None:
    url, _ = api
    first = httpx.get(f"{url}/v1/articles", params={"site": "de-bild"}).json()["articles"][0]
    article = httpx.get(first["links"]["self"]).json()
    assert article["title"] == "Strike at the harbour" and article["title_original"] == "Streik im Hafen"
    assert article["text"] == "The dockers are on strike.\nThe port stands still."
    assert article["text_original"] == "Die Arbeiter streiken.\nDer Hafen steht still."
    assert article["image"] == {"url": "https://de-bild.example/img/hafen-1600.jpg",
                                "caption": "Kräne im Hafen", "credit": "Foto: dpa"}
    assert article["description"] == "Nothing moves any more."
    assert article["description_original"] == "Nichts geht mehr."
    assert article["authors"] == ["Anna Beispiel"] and article["translation_model"] == "opus-mt-de-en"
    assert article["language"] == "de" and article["source"]["country"] == "de"
    missing = httpx.get(f"{url}/v1/articles/999999999")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["status"] == 404


@pytest.mark.parametrize(("params", "name"), [
    ({"limit": "500"}, "limit"), ({"limit": "x"}, "limit"), ({"country": "germany"}, "country"),
    ({"since": "yesterday"}, "since"), ({"cursor": "not-a-cursor"}, "cursor"), ({"status": "gone"}, "status"),
    ({"site": "../etc"}, "site"), ({"since": "2026-12-02", "until": "2026-12-01"}, "until"),
])
def test_bad_parameters_get_a_problem_naming_them(api: tuple[str, Settings], params: dict[str, str],
                                                  name: str) -> None:
    answer = httpx.get(f"{api[0]}/v1/articles", params=params)
    assert answer.status_code == 400 and answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 400 and problem["invalid_params"][0]["name"] == name, problem
    assert httpx.get(f"{api[0]}/v1/articles/abc").json()["invalid_params"][0]["name"] == "article_id"


def test_countries_and_sites_count_the_last_day(api: tuple[str, Settings]) -> None:
    url, settings = api
    countries = {c["country"]: c for c in httpx.get(f"{url}/v1/countries").json()["countries"]}
    expected = dict(sql(settings, "SELECT country, count(*) FROM articles WHERE listed_at > now() - interval '24 hours'"
                                  " AND status IN ('translated', 'original_english') GROUP BY country"))
    assert {c: v["last_24h"] for c, v in countries.items() if v["last_24h"]} == expected
    assert countries["de"]["sites"] == sql(settings, "SELECT count(*) FROM sites WHERE country = 'de'")[0][0]
    sites = httpx.get(f"{url}/v1/sites", params={"country": "de"}).json()["sites"]
    assert sites and {s["country"] for s in sites} == {"de"}


def test_feeds_are_valid_atom_and_json_feed(api: tuple[str, Settings]) -> None:
    url, _ = api
    atom = httpx.get(f"{url}/feeds/de.atom")
    assert atom.status_code == 200 and atom.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(atom.content)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):  # RFC 4287 4.1.1
        assert feed.find(f"{ATOM}{required}") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert entries and entries[0].findtext(f"{ATOM}title") == "Strike at the harbour"
    for entry in entries:  # RFC 4287 4.1.2: id, title, updated; an author (feed or entry)
        assert all(entry.find(f"{ATOM}{tag}") is not None for tag in ("id", "title", "updated", "author"))
    json_feed = httpx.get(f"{url}/feeds/de.json")
    assert json_feed.headers["content-type"].startswith("application/feed+json")
    body = json_feed.json()
    assert body["version"] == "https://jsonfeed.org/version/1.1" and body["title"]
    assert body["items"][0]["image"] == "https://de-bild.example/img/hafen-1600.jpg"
    assert all(item["id"] and ("content_text" in item or "content_html" in item) for item in body["items"])
    site_feed = httpx.get(f"{url}/feeds/sites/de-bild.json").json()
    assert site_feed["items"][0]["id"] == german().url
    assert httpx.get(f"{url}/feeds/sites/no-such-site.atom").status_code == 404
    assert httpx.get(f"{url}/feeds/de.rss").status_code == 404


def test_answers_carry_etag_and_cache_control(api: tuple[str, Settings]) -> None:
    url, _ = api
    first = httpx.get(f"{url}/v1/articles", params={"country": "de"})
    assert first.headers["cache-control"].startswith("public, max-age=")
    again = httpx.get(f"{url}/v1/articles", params={"country": "de"}, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    other = httpx.get(f"{url}/v1/articles", params={"country": "fr"}, headers={"If-None-Match": first.headers["etag"]})
    assert other.status_code == 200


def test_health_metrics_and_openapi(api: tuple[str, Settings]) -> None:
    url, _ = api
    assert httpx.get(f"{url}/healthz").json()["database"] == "ok"
    metrics = httpx.get(f"{url}/metrics").text
    assert 'transcrawl_api_requests_total{route="/v1/articles",status="200"}' in metrics
    spec = httpx.get(f"{url}/openapi.json").json()
    names = {p["name"] for p in spec["paths"]["/v1/articles"]["get"]["parameters"]}
    assert {"country", "language", "site", "since", "until", "q", "status", "cursor", "limit"} <= names


def test_the_service_reads_as_the_read_only_reader_role(api: tuple[str, Settings]) -> None:
    """Its connections cannot write, nor read what the contract does not list."""
    import asyncio

    from readers.db import reader_pool

    async def attempt() -> tuple[str, str]:
        pool = reader_pool(api[1].database_url or "", statement_timeout_ms=1000, max_size=1)
        await pool.open()
        try:
            async with pool.connection() as conn:
                write = read = "allowed"
                try:
                    await conn.execute("DELETE FROM articles")
                except psycopg.Error as exc:
                    write = type(exc).__name__
                try:
                    await conn.execute("SELECT * FROM failures")
                except psycopg.Error as exc:
                    read = type(exc).__name__
                return write, read
        finally:
            await pool.close()

    write, read = asyncio.run(attempt())
    assert write in ("ReadOnlySqlTransaction", "InsufficientPrivilege") and read == "InsufficientPrivilege"


def test_stories_across_countries_and_the_ones_a_country_missed(api: tuple[str, Settings]) -> None:
    url, _ = api
    stories = httpx.get(f"{url}/v1/stories", params={"min_countries": 2}).json()["stories"]
    assert [(s["title"], s["countries"], s["article_count"]) for s in stories] == [
        ("Hamburg dockers strike over pay", ["cn", "de"], 2)]
    assert httpx.get(f"{url}/v1/stories", params={"missing_from": "us", "min_countries": 2}).json()["count"] == 1
    assert httpx.get(f"{url}/v1/stories", params={"missing_from": "de", "min_countries": 2}).json()["count"] == 0
    assert httpx.get(f"{url}/v1/stories", params={"country": "cn"}).json()["count"] == 1
    assert httpx.get(f"{url}/v1/stories", params={"min_countries": 3}).json()["count"] == 0
    story = httpx.get(stories[0]["links"]["self"]).json()
    assert [(c["country"], [a["title"] for a in c["articles"]]) for c in story["by_country"]] == [
        ("cn", ["Hamburg harbour workers strike for wages"]), ("de", ["Hamburg dockers strike over pay"])]
    assert all(a["story_id"] == story["id"] for c in story["by_country"] for a in c["articles"])
    bad = httpx.get(f"{url}/v1/stories", params={"min_countries": "many"})
    assert bad.status_code == 400 and bad.json()["invalid_params"][0]["name"] == "min_countries"
    assert httpx.get(f"{url}/v1/stories/987654").status_code == 404
