"""Production crawling against small local news webs: incremental runs, caps, politeness, bad input."""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis

from crawler.lock import SiteLock
from foundation.settings import Settings
from tests.support.pages import article, site
from tests.support.processes import run_crawl
from transcrawl.localweb.newsweb import LocalSite, NewsWeb

ARTICLE = re.compile(r"^/\d{4}/\d{2}/\d{2}/")


def tuned(settings: Settings, **overrides: Any) -> Settings:
    return Settings.from_env(**{**settings.__dict__, "retry_base_delay": 0.1, **overrides})


def article_requests(web: NewsWeb, site_id: str) -> list[str]:
    return [p for p in web.paths(site_id) if ARTICLE.match(p)]


def runs(settings: Settings, site_id: str) -> list[dict[str, Any]]:
    with psycopg.connect(settings.database_url or "") as conn, conn.cursor() as cursor:
        cursor.execute("SELECT pages_fetched, new_articles, not_modified, errors, status, problems"
                       " FROM crawl_runs WHERE site = %s ORDER BY id", (site_id,))
        names = [c.name for c in cursor.description or []]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


# -- pure pieces ------------------------------------------------------------------------------------


def test_site_lock_is_exclusive_and_token_checked(servers: Settings) -> None:
    client = redis.Redis.from_url(servers.redis_url or "")
    first, second = SiteLock(client, "lock-test", ttl=5), SiteLock(client, "lock-test", ttl=5)
    assert first.acquire() and not second.acquire()
    assert first.renew()
    second.held = True  # a holder whose lock expired must not release or renew someone else's
    second.release()
    assert not second.renew() and first.holder() == first.token
    first.release()
    assert second.acquire()
    second.release()
    short = SiteLock(client, "lock-test", ttl=1)
    assert short.acquire()
    time.sleep(1.2)  # a crashed crawler's lock expires by itself
    assert SiteLock(client, "lock-test", ttl=5).acquire()
    client.delete("transcrawl:crawl:lock:lock-test")
    client.close()


# -- crawls ---------------------------------------------------------------------------------------
def test_incremental_runs_fetch_only_new_articles_and_ask_feeds_conditionally(
        settings: Settings, clean_state: None, tmp_path: Path) -> None:
    with NewsWeb([site("incr", 4)]) as web:
        sites = web.registry()
        first = run_crawl(settings, sites, tmp_path)["incr"]
        assert first["pages_fetched"] == 4 and first["status"] == "ok", first
        assert sorted(article_requests(web, "incr")) == sorted(a.removeprefix(web.origin("incr"))
                                                               for a in web.article_urls("incr"))

        web.clear_requests()
        web.add_article("incr", article("incr-breaking", 10))
        second = run_crawl(settings, sites, tmp_path)["incr"]
        assert second["pages_fetched"] == 1 and second["articles_skipped_seen"] >= 4
        assert article_requests(web, "incr") == [web.article_url("incr", "incr-breaking").removeprefix(web.origin("incr"))]
        feed = [r for r in web.requests if r.path == "/feed.xml"][0]
        assert "If-None-Match" in feed.headers and feed.status == 200  # asked conditionally, and it changed

        web.clear_requests()
        third = run_crawl(settings, sites, tmp_path)["incr"]
        assert third["pages_fetched"] == 0 and third["status"] == "ok", third
        answered = {r.path: r.status for r in web.requests}
        for path in ("/feed.xml", "/atom.xml", "/sitemap.xml", "/news-sitemap.xml", "/sitemap-articles.xml.gz", "/"):
            assert answered[path] == 304, answered  # nested sitemaps asked too, though the index was 304
        assert not article_requests(web, "incr")

    rows = runs(settings, "incr")
    assert [r["new_articles"] for r in rows] == [4, 1, 0]
    assert rows[2]["not_modified"] == 6 and all(r["status"] == "ok" for r in rows)
    assert rows[0]["pages_fetched"] >= 4 + 6  # articles + robots.txt, feeds, sitemaps, homepage


def test_page_cap_leaves_the_rest_for_the_next_run(settings: Settings, clean_state: None, tmp_path: Path) -> None:
    capped = tuned(settings, max_pages_per_run=3)
    with NewsWeb([site("capped", 8)]) as web:
        sites = web.registry()
        first = run_crawl(capped, sites, tmp_path)["capped"]
        assert first["pages_fetched"] == 3 and first["articles_deferred"] >= 5, first
        assert len(article_requests(web, "capped")) == 3
        second = run_crawl(capped, sites, tmp_path)["capped"]
        assert second["pages_fetched"] == 3
        assert len(set(article_requests(web, "capped"))) == 6  # never the same page twice


def bad_web() -> list[LocalSite]:
    """One healthy site and one site per kind of trouble."""
    healthy = site("healthy", 3)

    traps = site("traps", 2, disallow=["/private/", "/2026/12/01/"])
    hidden = article("traps-robots-only")
    hidden.published = datetime(2026, 12, 1, 9, tzinfo=UTC)
    loop = article("traps-loop", 20)
    offsite, private = article("traps-offsite", 21), article("traps-private", 22)
    limited, gone, flaky = article("traps-limited", 23), article("traps-gone-for-long", 24), article("traps-flaky", 25)
    traps.articles += [hidden, loop, offsite, private, limited, gone, flaky]
    traps.extra_pages[loop.path()] = (302, "text/html", b"", {"Location": "/chain/1"})
    for i in range(1, 30):  # a redirect chain longer than REDIRECT_MAX_TIMES
        traps.extra_pages[f"/chain/{i}"] = (302, "text/html", b"", {"Location": f"/chain/{i + 1}"})
    traps.extra_pages[offsite.path()] = (302, "text/html", b"", {"Location": "http://203.0.113.9/x.html"})
    traps.extra_pages[private.path()] = (301, "text/html", b"", {"Location": "http://127.0.0.1:1/admin"})
    traps.extra_pages[limited.path()] = (429, "text/plain", b"slow down", {"Retry-After": "1"})
    traps.extra_pages[gone.path()] = (503, "text/plain", b"maintenance", {"Retry-After": "3600"})
    traps.extra_pages[flaky.path()] = (503, "text/plain", b"oops")
    calendar = "".join(f'<a href="/calendar/2026/{m:02d}/?page={p}">{m}/{p}</a>' for m in range(1, 13) for p in range(5))
    traps.extra_pages["/"] = (200, "text/html", f"<html><body>{calendar}</body></html>".encode())

    slow = site("slow", 2, delay=3.0)
    broken_maps = site("broken-maps", 2)
    broken_maps.extra_pages["/sitemap.xml"] = (200, "application/xml", b"<?xml version='1.0'?><sitemapindex><sitem")
    deep = site("deep-maps", 2)
    for level in range(6):  # index -> index -> ... deeper than MAX_SITEMAP_DEPTH
        deep.extra_pages[f"/deep-{level}.xml"] = (200, "application/xml", (
            "<?xml version='1.0'?><sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
            f"<sitemap><loc>{{origin}}/deep-{level + 1}.xml</loc></sitemap></sitemapindex>").encode())
    dead = site("dead", 2, dead=True)
    return [healthy, traps, slow, broken_maps, deep, dead]


def test_bad_input_is_bounded_recorded_per_site_and_stops_no_other_site(
        settings: Settings, clean_state: None, tmp_path: Path) -> None:
    strict = tuned(settings, download_timeout=1.0, retry_max_delay=5.0)
    with NewsWeb(bad_web()) as web:
        for local in web.sites.values():  # {{origin}} is only filled in article html
            for path, page in list(local.extra_pages.items()):
                if path.startswith("/deep-"):
                    local.extra_pages[path] = (page[0], page[1], page[2].replace(b"{origin}", web.origin(local.id).encode()))
        entries = [dataclasses.replace(e, sitemaps=(web.origin(e.id) + "/deep-0.xml",)) if e.id == "deep-maps" else e
                   for e in web.registry()]
        started = time.monotonic()
        reports = run_crawl(strict, entries, tmp_path)
        elapsed = time.monotonic() - started

        assert reports["healthy"]["pages_fetched"] == 3 and reports["healthy"]["status"] == "ok"
        assert elapsed < 40, elapsed  # the slow site is bounded by DOWNLOAD_TIMEOUT and retries

        traps = reports["traps"]
        traps_paths = web.paths("traps")
        assert not [p for p in traps_paths if p.startswith(("/private/", "/2026/12/01/", "/calendar/"))]
        assert not [r for r in web.requests if r.path.startswith("/x.html") or r.path == "/admin"]
        assert traps["pages_fetched"] == 2, traps  # only the two plain articles
        # Retry-After: 1 is honoured (a busy machine may time out one try: hence "2 or 3" below).
        limited = [r.time for r in web.requests if r.path.endswith("traps-limited.html") and r.status == 429]
        assert 2 <= len(limited) <= 3 and all(b - a >= 0.9 for a, b in zip(limited, limited[1:]))
        assert len([p for p in traps_paths if p.endswith("traps-gone-for-long.html")]) == 1  # 1 h: next run
        flaky = [r for r in traps_paths if r.endswith("traps-flaky.html")]
        assert 2 <= len(flaky) <= 3  # retried (RETRY_TIMES 2) with backoff, then recorded
        # Each failure is recorded with its reason (sent to the failures table; counted per run).
        reasons = traps["failure_reasons"]
        assert reasons.get("redirect_offsite") == 2  # a local site: any other origin is offsite
        assert reasons.get("http_503") == 2 and reasons.get("http_429") == 1
        assert reasons.get("redirect_loop") == 1
        assert len([p for p in traps_paths if p.startswith("/chain/")]) <= 5  # REDIRECT_MAX_TIMES
        assert any("redirect_offsite" in p for p in runs(settings, "traps")[-1]["problems"])

        slow = reports["slow"]
        assert slow["status"] == "failed" and any("timeout" in p for p in slow["problems"]), slow
        assert any("sitemap" in p for p in reports["broken-maps"]["problems"])
        assert reports["broken-maps"]["pages_fetched"] == 2 and reports["broken-maps"]["status"] == "partial"
        assert any("nested deeper" in p for p in reports["deep-maps"]["problems"])
        assert max(int(p[6]) for p in web.paths("deep-maps") if p.startswith("/deep-")) <= 4
        assert reports["deep-maps"]["pages_fetched"] == 2  # the homepage still found its articles
        assert reports["dead"]["status"] == "failed" and reports["dead"]["health"]["bad_runs"] == 1

    assert runs(settings, "dead")[-1]["status"] == "failed" and runs(settings, "healthy")[-1]["status"] == "ok"
