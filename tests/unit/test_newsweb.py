"""The local news webs: pages, feeds, sitemaps, conditional GET, failure modes, sample and corpus content."""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from crawler.registry import Site, check_unique
from transcrawl.localweb.newsweb import (
    ARTICLE_PATTERN,
    LocalArticle,
    LocalSite,
    NewsWeb,
)
from transcrawl.localweb.sampleweb import render_article, sample_data, sample_sites

ATOM = "{http://www.w3.org/2005/Atom}"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def article(slug: str, day: int, title: str = "A headline") -> LocalArticle:
    published = datetime(2026, 11, day, 9, 0, tzinfo=UTC)
    html = f'<!DOCTYPE html><html lang="en"><title>{title}</title><article><p>Body.</p></article></html>'
    return LocalArticle(slug=slug, title=title, html=html.encode(), published=published)


def tiny_site(site_id: str = "alpha", **options: object) -> LocalSite:
    articles = [article("first-story", 20), article("second-story", 21), article("third-story", 22)]
    site = LocalSite(id=site_id, name=site_id.title(), country="gb", language="en", articles=articles)
    return dataclasses.replace(site, **options)  # type: ignore[arg-type]


@pytest.fixture()
def web() -> Iterator[NewsWeb]:
    with NewsWeb([tiny_site("alpha"), tiny_site("beta")]) as running:
        yield running


def origin(web: NewsWeb, site_id: str = "alpha") -> str:
    return web.origin(site_id)


def test_registry_entries_point_at_running_sites(web: NewsWeb) -> None:
    entries = web.registry()
    check_unique(entries)
    assert [e.id for e in entries] == ["alpha", "beta"]
    alpha = entries[0]
    assert isinstance(alpha, Site) and alpha.homepage == origin(web) + "/"
    assert alpha.feeds == (origin(web) + "/feed.xml", origin(web) + "/atom.xml")
    assert alpha.sitemaps == (origin(web) + "/sitemap.xml",) and alpha.domains == ("127.0.0.1",)
    assert Site.from_json(alpha.to_json()) == alpha  # the registry's own validation accepts it
    assert entries[0].homepage != entries[1].homepage  # one origin per site
    for url in web.article_urls("alpha"):
        assert re.search(ARTICLE_PATTERN, url) and get(url)[0] == 200
    assert web.article_url("alpha", "first-story") == origin(web) + "/2026/11/20/first-story.html"


def test_distinct_hosts_give_each_site_its_own_loopback_address() -> None:
    from urllib.parse import urlsplit

    from crawler.politeness import redirect_problem
    from crawler.urls import same_site
    from transcrawl.localweb.newsweb import loopback_host

    assert [loopback_host(i) for i in (0, 1, 249, 250)] == ["127.0.0.2", "127.0.0.3", "127.0.0.251", "127.0.1.2"]
    with NewsWeb([tiny_site("alpha"), tiny_site("beta")], distinct_hosts=True) as web:
        alpha, beta = web.registry()
        assert (web.host("alpha"), web.host("beta")) == ("127.0.0.2", "127.0.0.3")
        assert alpha.domains == ("127.0.0.2",) and beta.domains == ("127.0.0.3",)
        assert urlsplit(alpha.homepage).hostname == "127.0.0.2" and urlsplit(beta.homepage).hostname == "127.0.0.3"
        assert all(urlsplit(u).hostname == "127.0.0.2" for u in (*alpha.feeds, *alpha.sitemaps))
        assert Site.from_json(alpha.to_json()) == alpha
        for url in web.article_urls("alpha"):
            assert urlsplit(url).hostname == "127.0.0.2" and get(url)[0] == 200
        assert f"Sitemap: {web.origin('alpha')}/sitemap.xml" in get(web.origin("alpha") + "/robots.txt")[2].decode()
        assert web.origin("alpha").encode() in get(web.origin("alpha") + "/feed.xml")[2]
        # each site answers on its own address only
        port = urlsplit(web.origin("alpha")).port
        with pytest.raises(urllib.error.URLError):
            get(f"http://127.0.0.1:{port}/")
        # the spider's site check and redirect guard accept the site's own host, and no other site's
        first = web.article_urls("alpha")[0]
        assert same_site(first, alpha.domains, (web.origin("alpha"),))
        assert not same_site(web.article_urls("beta")[0], alpha.domains, (web.origin("alpha"),))
        assert redirect_problem(first, alpha.homepage, alpha.domains, (web.origin("alpha"),)) is None
        assert redirect_problem(web.origin("beta") + "/", alpha.homepage, alpha.domains,
                                (web.origin("alpha"),)) is not None
        web.stop_site("alpha")
        web.start_site("alpha")  # reopens on the same address and port
        assert get(first)[0] == 200


def test_homepage_links_articles_and_traps(web: NewsWeb) -> None:
    status, headers, body = get(origin(web) + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    links = re.findall(r'href="([^"]+)"', body.decode())
    assert "/2026/11/22/third-story.html?utm_source=home" in links
    assert {"/2026/11/21/second-story.html", "/2026/11/20/first-story.html"} <= set(links)
    assert {"/about.html", "/private/secret.html", "/tag/news"} <= set(links)
    for link in ("/about.html", "/tag/news", "/private/secret.html", "/2026/11/22/third-story.html?utm_source=x"):
        assert get(origin(web) + link)[0] == 200
    assert get(origin(web) + "/tag/sport")[0] == 404
    assert get(origin(web) + "/no/such/page.html")[0] == 404
    assert get(origin(web) + "/2026/11/23/first-story.html")[0] == 404


def test_robots_txt(web: NewsWeb) -> None:
    status, headers, body = get(origin(web) + "/robots.txt")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    lines = body.decode().splitlines()
    assert "User-agent: *" in lines and "Disallow: /private/" in lines
    assert f"Sitemap: {origin(web)}/sitemap.xml" in lines


def test_rss_and_atom_feeds_parse(web: NewsWeb) -> None:
    rss = ET.fromstring(get(origin(web) + "/feed.xml")[2])
    links = [item.findtext("link") for item in rss.iter("item")]
    assert links[0] == origin(web) + "/2026/11/22/third-story.html"  # newest first
    assert links[1] == origin(web) + "/2026/11/21/second-story.html?ref=rss"  # tracking on some
    assert all(item.findtext("pubDate") for item in rss.iter("item"))
    atom = ET.fromstring(get(origin(web) + "/atom.xml")[2])
    hrefs = [entry.find(f"{ATOM}link").get("href") for entry in atom.iter(f"{ATOM}entry")]  # type: ignore[union-attr]
    assert [h.split("?")[0] for h in hrefs] == [link.split("?")[0] for link in links]  # type: ignore[union-attr]


def test_sitemap_index_news_and_gzipped_sitemaps(web: NewsWeb) -> None:
    index = ET.fromstring(get(origin(web) + "/sitemap.xml")[2])
    assert index.tag == f"{SM}sitemapindex"
    children = [loc.text or "" for loc in index.iter(f"{SM}loc")]
    assert children == [origin(web) + "/news-sitemap.xml", origin(web) + "/sitemap-articles.xml.gz"]
    news = ET.fromstring(get(children[0])[2])
    assert news.find(f"{SM}url/{NEWS}news/{NEWS}publication/{NEWS}name").text == "Alpha"  # type: ignore[union-attr]
    status, headers, raw = get(children[1])
    assert status == 200 and "gzip" in headers["Content-Type"] and "Content-Encoding" not in headers
    plain = ET.fromstring(gzip.decompress(raw))
    assert sorted(loc.text or "" for loc in plain.iter(f"{SM}loc")) == sorted(web.article_urls("alpha"))


@pytest.mark.parametrize("path", ["/feed.xml", "/atom.xml", "/sitemap.xml", "/sitemap-articles.xml.gz"])
def test_conditional_get_answers_304_until_something_changes(web: NewsWeb, path: str) -> None:
    status, headers, _ = get(origin(web) + path)
    assert status == 200 and headers["ETag"] and headers["Last-Modified"]
    assert get(origin(web) + path, {"If-None-Match": headers["ETag"]})[0] == 304
    assert get(origin(web) + path, {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert get(origin(web) + path, {"If-None-Match": '"stale"'})[0] == 200
    web.add_article("alpha", article("fourth-story", 23))
    assert get(origin(web) + path, {"If-None-Match": headers["ETag"]})[0] == 200
    assert get(origin(web) + path, {"If-Modified-Since": headers["Last-Modified"]})[0] == 200


def test_add_article_is_published_everywhere(web: NewsWeb) -> None:
    web.add_article("alpha", article("breaking-news", 24, "Breaking"))
    url = origin(web) + "/2026/11/24/breaking-news.html"
    assert web.article_url("alpha", "breaking-news") == url and get(url)[0] == 200
    rss = ET.fromstring(get(origin(web) + "/feed.xml")[2])
    assert rss.find("channel/item/link").text == url  # type: ignore[union-attr]
    assert url.removeprefix(origin(web)) in get(origin(web) + "/")[2].decode()
    assert url.encode() in gzip.decompress(get(origin(web) + "/sitemap-articles.xml.gz")[2])
    assert url not in web.article_urls("beta")
    with pytest.raises(ValueError):
        web.add_article("alpha", article("breaking-news", 24))


def test_request_log_records_every_request(web: NewsWeb) -> None:
    web.clear_requests()
    get(origin(web) + "/feed.xml?x=1", {"User-Agent": "transcrawl-test"})
    get(origin(web, "beta") + "/nothing")
    first, second = web.requests
    assert (first.site_id, first.method, first.path, first.status) == ("alpha", "GET", "/feed.xml?x=1", 200)
    assert first.headers["User-Agent"] == "transcrawl-test" and first.time <= second.time
    assert (second.site_id, second.path, second.status) == ("beta", "/nothing", 404)
    assert web.paths("beta") == ["/nothing"]


def test_broken_feed_and_dead_site_leave_others_alone() -> None:
    sites = [tiny_site("alpha"), tiny_site("broken", broken_feed=True), tiny_site("dead", dead=True)]
    with NewsWeb(sites) as web:
        status, _, body = get(web.origin("broken") + "/feed.xml")
        assert status == 200
        with pytest.raises(ET.ParseError):
            ET.fromstring(body)
        status, headers, _ = get(web.origin("broken") + "/atom.xml")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert get(web.origin("broken") + "/sitemap.xml")[0] == 200
        for path in ("/", "/robots.txt", "/feed.xml", "/2026/11/20/first-story.html"):
            assert get(web.origin("dead") + path)[0] == 500
        assert get(web.origin("alpha") + "/feed.xml")[0] == 200
        web.sites["dead"].dead = False  # flags are read per request
        assert get(web.origin("dead") + "/")[0] == 200


def test_stop_site_refuses_connections_until_restarted(web: NewsWeb) -> None:
    web.stop_site("beta")
    with pytest.raises(urllib.error.URLError):
        get(origin(web, "beta") + "/")
    assert get(origin(web) + "/")[0] == 200
    web.start_site("beta")
    assert get(origin(web, "beta") + "/")[0] == 200


def test_extra_pages_override_and_add_paths() -> None:
    extra = {
        "/": (200, "text/html", b"<html>replaced</html>"),
        "/moved.html": (301, "text/html", b"", {"Location": "/2026/11/20/first-story.html"}),
    }
    with NewsWeb([tiny_site("alpha", extra_pages=extra)]) as web:
        assert get(web.origin("alpha") + "/")[2] == b"<html>replaced</html>"
        assert get(web.origin("alpha") + "/moved.html")[2].startswith(b"<!DOCTYPE html>")  # followed


def test_naive_publication_dates_are_refused() -> None:
    with pytest.raises(ValueError):
        LocalArticle(slug="x", title="x", html=b"", published=datetime(2026, 11, 1))


# -- the bundled sample web -------------------------------------------------------------------------
def test_sample_sites_cover_languages() -> None:
    sites = sample_sites()
    assert len(sites) >= 4 and len({s.language for s in sites}) >= 3
    assert "zh" in {s.language for s in sites}
    assert all(len(s.articles) >= 3 for s in sites)
    assert len({s.id for s in sites}) == len(sites)
    for document in sample_data():
        for story in document["articles"]:
            assert 3 <= len(story["paragraphs"]) <= 8, story["slug"]
            assert datetime.fromisoformat(story["published"]).tzinfo is not None


def test_sample_article_pages_carry_metadata() -> None:
    with NewsWeb(sample_sites()) as web:
        for document in sample_data():
            site_origin = web.origin(document["id"])
            for story in document["articles"]:
                url = web.article_url(document["id"], story["slug"])
                page = get(url)[2].decode("utf-8")
                assert f'<html lang="{document["html_lang"]}">' in page
                assert f"<title>{story['title']} | {document['name']}</title>".replace("'", "&#x27;") in page
                assert f'<meta property="og:url" content="{url}">' in page and "{{origin}}" not in page
                script = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
                assert script is not None
                ld = json.loads(script[1])
                assert ld["@type"] == "NewsArticle" and ld["headline"] == story["title"]
                assert datetime.fromisoformat(ld["datePublished"]).tzinfo is not None
                assert ld["author"][0]["name"] == story["author"] and site_origin in ld["mainEntityOfPage"]["@id"]
                body = re.search(r"<article[^>]*>(.*)</article>", page, re.S)[1]  # type: ignore[index]
                assert body.count("<p>") == len(story["paragraphs"])


def test_render_article_refuses_naive_dates() -> None:
    document = sample_data()[0]
    story = dict(document["articles"][0], published="2026-11-20T10:00:00")
    with pytest.raises(ValueError):
        render_article(document, story)


# -- the shared corpus web ---------------------------------------------------------------------------
@pytest.mark.shared
def test_corpus_web_serves_real_pages() -> None:
    from tests.support.shared import shared_path
    from transcrawl.localweb.corpusweb import corpus_sites

    shared = shared_path()
    if shared is None or not (shared / "corpus" / "news" / "index.jsonl").exists():
        pytest.skip("shared corpus absent: set TRANSCRAWL_SHARED or put shared/ beside the repo")
    sites, truth = corpus_sites(shared, max_sites=12, per_site=2)
    assert len(sites) == 12 and len(truth) == sum(len(s.articles) for s in sites)
    with NewsWeb(sites) as web:
        check_unique(web.registry())
        assert set(truth) == set(web.article_urls())
        for url, row in list(truth.items())[:6]:
            status, _, body = get(url)
            assert status == 200 and len(body) > 1000
            assert {"title", "body", "authors", "publishing_date"} <= set(row)
        site = web.registry()[0]
        rss = ET.fromstring(get(site.feeds[0])[2])
        assert {(link.text or "").split("?")[0] for link in rss.iter("link")} >= set(web.article_urls(site.id))
