"""End to end: a local news web built from real pages → Scrapy → Redis → Celery worker → Postgres."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from foundation.settings import Settings
from tests.support.processes import run_crawl, wait_until
from transcrawl.localweb.corpusweb import corpus_sites
from transcrawl.localweb.newsweb import LocalArticle, LocalSite, NewsWeb

pytestmark = [pytest.mark.slow]

WHEN = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
BAD_PAGES = {  # slug → (body, expected failure reason)
    "a-pdf-file": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 20, "not_html"),
    "an-empty-page": (b"", "empty_page"),
    "no-article-here": (b"<html><head><title>Menu</title></head><body><nav><a href='/'>Home</a></nav>"
                        b"</body></html>", "no_text"),
}


def bad_site() -> LocalSite:
    articles = [LocalArticle(slug=slug, title=slug, html=body, published=WHEN) for slug, (body, _) in BAD_PAGES.items()]
    return LocalSite(id="bad-pages", name="Bad Pages", country="de", language="de", articles=articles)


def accounted(settings: Settings) -> int:
    with psycopg.connect(settings.database_url or "") as conn:
        row = conn.execute("SELECT (SELECT count(*) FROM articles) + (SELECT count(*) FROM failures)").fetchone()
    return int(row[0]) if row else 0


def tokens(text: str) -> list[str]:
    return re.findall(r"[\u3040-\u30ff\u3400-\u9fff]|\w+", text.lower())


def f1(found: str, expected: str) -> float:
    from collections import Counter

    a, b = Counter(tokens(found)), Counter(tokens(expected))
    common = sum((a & b).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(b.values())
    return 2 * precision * recall / (precision + recall)


@pytest.mark.shared
def test_crawl_extract_store_matches_ground_truth(settings: Settings, shared: Path, clean_state: None,
                                                  worker_factory: Any, tmp_path: Path) -> None:
    corpus, truth = corpus_sites(shared, max_sites=10, per_site=3)
    dead = LocalSite(id="dead-site", name="Dead", country="de", language="de", articles=[], dead=True)
    broken = LocalSite(id="broken-feed", name="Broken", country="fr", language="fr",
                       articles=[], broken_feed=True)
    with NewsWeb([*corpus, bad_site(), dead, broken]) as web:
        sites = web.registry()
        worker = worker_factory(settings)
        reports = run_crawl(settings, sites, tmp_path)

        # Every healthy site was crawled; the dead and broken ones are reported, not fatal.
        for site in corpus:
            assert reports[site.id]["pages_fetched"] == len(site.articles), reports[site.id]
        assert reports["dead-site"]["problems"] and not reports["dead-site"]["ok"]
        assert any("feed" in p for p in reports["broken-feed"]["problems"])
        # robots.txt disallows /private/: never requested.
        assert not [r for r in web.requests if r.path.startswith("/private/")]

        expected = len(truth) + len(BAD_PAGES)
        assert wait_until(lambda: accounted(settings) >= expected, timeout=240), worker.tail()

        with psycopg.connect(settings.database_url or "") as conn:
            rows = {r[0]: r for r in conn.execute(
                "SELECT url, site, country, language, title, text, authors, status, status_reason,"
                " title_en, published_at, image_url, description, description_en FROM articles")}
            failures = {r[0]: r for r in conn.execute("SELECT url, stage, reason, detail FROM failures")}

        # The bad pages are failures with their reason; nothing else failed.
        for slug, (_, reason) in BAD_PAGES.items():
            url = web.article_url("bad-pages", slug)
            assert failures[url][1:3] == ("extract", reason), failures.get(url)
        assert len(failures) == len(BAD_PAGES), failures

        # Every corpus page is stored once, under its canonical URL, and matches the ground truth.
        assert set(rows) == set(truth)
        scores = [f1(rows[url][5], row["body"]) for url, row in truth.items()]
        assert sum(scores) / len(scores) > 0.9
        for url, row in truth.items():
            stored = rows[url]
            assert stored[2] == {"uk": "gb", "ind": "in"}.get(row["country"], row["country"])
            if stored[3] == "en":
                assert stored[7] == "original_english" and stored[9] == stored[4]
            else:  # no model installed for it in this test
                assert stored[7] == "untranslated" and "no model" in stored[8]
        titles = sum(_norm(rows[u][4]) == _norm(r["title"]) for u, r in truth.items())
        assert titles / len(truth) > 0.8
        # The lead image and the standfirst reach the row (English ones copied to description_en).
        illustrated = [u for u, r in truth.items() if r.get("images")]
        with_image = [u for u in illustrated if (rows[u][11] or "").startswith(("http://", "https://"))]
        assert illustrated and len(with_image) / len(illustrated) >= 0.75, (len(with_image), len(illustrated))
        assert any(rows[u][12] for u in truth)
        assert all(rows[u][13] == rows[u][12] for u in truth if rows[u][3] == "en")

        # A second crawl of the same web fetches no article twice and stores nothing new.
        web.clear_requests()
        again = run_crawl(settings, sites, tmp_path)
        assert sum(r["pages_fetched"] for r in again.values()) == 0
        article_paths = [r.path for r in web.requests if re.search(r"/\d{4}/\d{2}/\d{2}/", r.path)]
        assert article_paths == []
        assert accounted(settings) == expected


def _norm(title: str) -> str:
    return re.sub(r"[\W_]+", " ", title.lower()).strip()
