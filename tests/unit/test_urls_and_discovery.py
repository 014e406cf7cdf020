"""Canonical URLs and link discovery from feeds and sitemaps."""

from __future__ import annotations

import gzip

import pytest

from crawler.discovery import NotAFeed, feed_links, maybe_gunzip, sitemap_links
from crawler.urls import canonical_url, same_site


def test_canonical_url_drops_tracking_and_fragment() -> None:
    assert canonical_url("HTTPS://News.Example:443/a/b.html?utm_source=x&id=3&ref=rss#top") == \
        "https://news.example/a/b.html?id=3"


def test_canonical_url_keeps_meaningful_query_sorted() -> None:
    assert canonical_url("http://x.example/story?b=2&a=1") == "http://x.example/story?a=1&b=2"


def test_same_site_by_domain_and_local_origin() -> None:
    assert same_site("https://www.bbc.co.uk/news/x", ("bbc.co.uk",))
    assert not same_site("https://evilbbc.co.uk/x", ("bbc.co.uk",))
    assert same_site("http://127.0.0.1:8001/a", ("127.0.0.1",), ("http://127.0.0.1:8001",))
    assert not same_site("http://127.0.0.1:8002/a", ("127.0.0.1",), ("http://127.0.0.1:8001",))


RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>A</title><link>https://n.example/a.html</link></item>
<item><title>B</title><guid>https://n.example/b.html</guid></item></channel></rss>"""

ATOM = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
<entry><link rel="alternate" href="https://n.example/c.html"/></entry></feed>"""


def test_rss_and_atom_links() -> None:
    assert feed_links(RSS) == ["https://n.example/a.html", "https://n.example/b.html"]
    assert feed_links(ATOM) == ["https://n.example/c.html"]


@pytest.mark.parametrize("body", [b"<!DOCTYPE html><html><body>oops</body></html>", b"", b"\x00\x01garbage"])
def test_html_or_garbage_is_not_a_feed(body: bytes) -> None:
    with pytest.raises(NotAFeed):
        feed_links(body)


def test_sitemap_index_and_gzipped_news_sitemap() -> None:
    index = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <sitemap><loc>https://n.example/news.xml.gz</loc></sitemap></sitemapindex>"""
    news = gzip.compress(b"""<?xml version="1.0"?>
    <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
            xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
    <url><loc>https://n.example/a.html</loc><news:news><news:title>A</news:title></news:news></url>
    </urlset>""")
    assert sitemap_links(index).sitemaps == ["https://n.example/news.xml.gz"]
    found = sitemap_links(news)
    assert found.pages == ["https://n.example/a.html"] and not found.sitemaps


def test_gzip_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import crawler.discovery as discovery

    monkeypatch.setattr(discovery, "MAX_SITEMAP_BYTES", 1000)
    with pytest.raises(NotAFeed, match="inflates"):
        maybe_gunzip(gzip.compress(b"<" * 10_000))
