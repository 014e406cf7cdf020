"""Production crawling against small local news webs: incremental runs, caps, politeness, bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from crawler import registry as reg
from crawler.politeness import (
    BackoffRetry,
    is_local_host,
    redirect_problem,
    retry_after,
)
from foundation.servers import child_env
from foundation.settings import Settings
from transcrawl.localweb.newsweb import LocalArticle, LocalSite, NewsWeb

WHEN = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
ARTICLE = re.compile(r"^/\d{4}/\d{2}/\d{2}/")


def article(slug: str, day: int = 0) -> LocalArticle:
    text = " ".join(f"Sentence {i} of the story {slug} tells what happened in town." for i in range(12))
    html = (f"<!DOCTYPE html><html lang='en'><head><title>{slug}</title></head><body><article>"
            f"<h1>{slug}</h1><p>{text}</p></article></body></html>").encode()
    return LocalArticle(slug=slug, title=slug, html=html, published=WHEN + timedelta(days=day, minutes=len(slug)))


def site(site_id: str, count: int = 3, **kwargs: Any) -> LocalSite:
    return LocalSite(id=site_id, name=site_id, country="gb", language="en",
                     articles=[article(f"{site_id}-story-{i}", i) for i in range(count)], **kwargs)


def tuned(settings: Settings, **overrides: Any) -> Settings:
    return Settings.from_env(**{**settings.__dict__, "retry_base_delay": 0.1, **overrides})


def crawl(settings: Settings, sites: list[reg.Site], tmp_path: Path, *ids: str) -> dict[str, dict[str, Any]]:
    registry_file = tmp_path / "sites.toml"
    registry_file.write_text(reg.dumps(sites), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "transcrawl.cli", "crawl", "--registry", str(registry_file),
                           "--json", *ids], env=child_env(settings), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return {r["site"]: r for r in json.loads(done.stdout.strip().splitlines()[-1])}


def article_requests(web: NewsWeb, site_id: str) -> list[str]:
    return [p for p in web.paths(site_id) if ARTICLE.match(p)]


def runs(settings: Settings, site_id: str) -> list[dict[str, Any]]:
    with psycopg.connect(settings.database_url or "") as conn, conn.cursor() as cursor:
        cursor.execute("SELECT pages_fetched, new_articles, not_modified, errors, status, problems"
                       " FROM crawl_runs WHERE site = %s ORDER BY id", (site_id,))
        names = [c.name for c in cursor.description or []]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


# -- pure pieces ------------------------------------------------------------------------------------
def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after(b"7") == 7.0
    assert retry_after(b"Fri, 27 Nov 2026 10:00:30 GMT", now=datetime(2026, 11, 27, 10, 0, tzinfo=UTC).timestamp()) == 30
    assert retry_after(b"soon") is None and retry_after(None) is None


def test_backoff_grows_and_is_bounded() -> None:
    from scrapy.settings import Settings as ScrapySettings

    middleware = BackoffRetry(ScrapySettings({"TRANSCRAWL_RETRY_BASE_DELAY": 1.0, "TRANSCRAWL_RETRY_MAX_DELAY": 5.0}))
    assert 0.5 <= middleware.backoff(1) < 1.0
    assert 2.0 <= middleware.backoff(3) < 4.0
    assert all(middleware.backoff(n) <= 5.0 for n in range(1, 30))


def test_redirect_rules() -> None:
    domains = ("www.example.com",)
    home = "https://www.example.com/"
    assert redirect_problem("https://www.example.com/a", home, domains, ()) is None
    assert redirect_problem("https://example.com/a", home, domains, ()) is None  # apex and www are one site
    assert redirect_problem("https://evil.test/a", home, domains, ()) == "redirect_offsite"
    assert redirect_problem("http://127.0.0.1:6379/", home, domains, ()) == "redirect_private_address"
    assert redirect_problem("http://169.254.169.254/latest", home, domains, ()) == "redirect_private_address"
    assert redirect_problem("ftp://www.example.com/a", home, domains, ()) == "redirect_bad_scheme"
    local = ("http://127.0.0.1:8001",)  # a local test site: its own origin only
    assert redirect_problem("http://127.0.0.1:8001/x", "http://127.0.0.1:8001/", ("127.0.0.1",), local) is None
    assert redirect_problem("http://127.0.0.1:8002/x", "http://127.0.0.1:8001/", ("127.0.0.1",), local) == "redirect_offsite"
    assert is_local_host("10.1.2.3") and is_local_host("localhost") and not is_local_host("8.8.8.8")


# -- crawls ---------------------------------------------------------------------------------------


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


