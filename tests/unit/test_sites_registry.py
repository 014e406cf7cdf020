"""The bundled site registry (every entry) and the feed/sitemap health check (against a local server)."""

from __future__ import annotations

import gzip
import http.server
import json
import re
import threading
import time
import tomllib
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from crawler import registry
from crawler.check import USER_AGENT, SiteCheck, check_sites
from crawler.registry import Site
from crawler.urls import canonical_url

SITES_DIR = Path(registry.__file__).resolve().parent / "sites"

# ISO 639-1 (the two-letter codes; "bh" is deprecated and left out)
ISO_639_1 = set(
    """aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv
    dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig
    ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh
    mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru
    rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug
    uk ur uz ve vi vo wa wo xh yi yo za zh zu""".split()
)
# Codes that are easy to write by mistake: a country code used as a language, or the reverse.
NOT_LANGUAGES = {"gr": "el", "cn": "zh", "jp": "ja", "kr": "ko", "se": "sv", "dk": "da", "cz": "cs"}
NOT_COUNTRIES = {"uk": "gb", "en": "gb"}


@pytest.fixture(scope="module")
def sites() -> list[Site]:
    return registry.load()


def registry_files() -> list[Path]:
    return sorted(SITES_DIR.glob("*.toml"))


# --- the registry ---------------------------------------------------------------------------


def test_registry_is_broad(sites: list[Site]) -> None:
    countries = {s.country for s in sites}
    languages = {s.language for s in sites}
    assert len(sites) >= 150, len(sites)
    assert len(countries) >= 50, sorted(countries)
    assert len(languages) >= 20, sorted(languages)
    wanted = {"zh", "ja", "ko", "ar", "ru", "es", "pt", "fr", "de", "it", "tr", "pl", "nl", "sv", "en"}
    assert wanted <= languages, sorted(wanted - languages)


def test_ids_are_unique_and_prefixed_with_the_country(sites: list[Site]) -> None:
    # Counted in the files: registry.load() raises on a duplicate id, so a count over ``sites``
    # could never fail. This one holds whatever the loader checks.
    ids = Counter(str(entry["id"]) for path in registry_files()
                  for entry in tomllib.loads(path.read_text(encoding="utf-8")).get("site", []))
    assert [i for i, n in ids.items() if n > 1] == []
    assert sum(ids.values()) == len(sites)  # and every entry of the files is loaded
    for site in sites:
        assert site.id == site.id.lower()
        assert site.id.startswith(f"{site.country}-"), site.id


def test_every_site_has_a_feed_or_sitemap(sites: list[Site]) -> None:
    for site in sites:
        assert site.feeds or site.sitemaps, f"{site.id} has no feed or sitemap"
        assert len(set(site.feeds)) == len(site.feeds), f"{site.id} lists a feed twice"
        assert len(set(site.sitemaps)) == len(site.sitemaps), f"{site.id} lists a sitemap twice"


def test_no_feed_or_sitemap_is_shared_between_sites(sites: list[Site]) -> None:
    owners: dict[str, str] = {}
    for site in sites:
        for url in (*site.feeds, *site.sitemaps):
            assert url not in owners, f"{url} is listed by {owners[url]} and {site.id}"
            owners[url] = site.id


@pytest.mark.parametrize("path", registry_files(), ids=lambda p: p.name)
def test_file_name_is_the_country_of_its_entries(path: Path) -> None:
    country = path.stem
    assert re.fullmatch(r"[a-z]{2}", country), f"{path.name}: not <iso-3166-alpha-2>.toml"
    assert country not in NOT_COUNTRIES, f"{path.name}: use {NOT_COUNTRIES[country]}.toml"
    entries = registry.load(path)
    assert entries, f"{path.name} has no [[site]]"
    assert {s.country for s in entries} == {country}, path.name


@pytest.mark.parametrize("path", registry_files(), ids=lambda p: p.name)
def test_every_file_names_its_source(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    header = text.split("[[site]]", 1)[0]
    assert "Source" in header or "found in" in header, f"{path.name}: say where the URLs come from"
    tomllib.loads(text)  # and it is plain TOML


def test_language_codes_are_plausible(sites: list[Site]) -> None:
    for site in sites:
        assert site.language in ISO_639_1, f"{site.id}: {site.language!r} is not ISO 639-1"
        right = NOT_LANGUAGES.get(site.language)
        assert right is None, f"{site.id}: {site.language!r} is a country code; the language is {right!r}"


def test_article_patterns_are_narrower_than_the_site(sites: list[Site]) -> None:
    """A pattern that matches the homepage itself would let every link through."""
    for site in sites:
        if site.article_pattern:
            pattern = re.compile(site.article_pattern)
            for page in (site.homepage, site.homepage.rstrip("/") + "/"):
                assert not pattern.search(canonical_url(page)), f"{site.id}: pattern matches the homepage"


def test_urls_belong_to_the_sites_domains(sites: list[Site]) -> None:
    """Homepages are on the site's own domains (feeds may live on a CDN or feed host)."""
    for site in sites:
        host = (re.match(r"https?://([^/:?#]+)", site.homepage) or [None, ""])[1].lower()
        assert any(host == d or host.endswith("." + d) for d in site.domains), (site.id, host, site.domains)


# --- check_sites against a local server -----------------------------------------------------

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Local</title>
<item><title>One</title><link>http://local.test/news/one</link></item>
<item><title>Two</title><link>http://local.test/news/two</link></item>
</channel></rss>"""
EMPTY_RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Nothing</title></channel></rss>"""
HTML = b"<!DOCTYPE html><html><head><title>Not here</title></head><body>Sorry</body></html>"
SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>http://local.test/a</loc><news:news><news:title>A</news:title></news:news></url>
<url><loc>http://local.test/b</loc></url>
<url><loc>http://local.test/c</loc></url>
</urlset>"""


class _Handler(http.server.BaseHTTPRequestHandler):
    user_agents: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        _Handler.user_agents.append(self.headers.get("User-Agent", ""))
        routes = {
            "/rss.xml": (200, "application/rss+xml", RSS, {}),
            "/empty.xml": (200, "application/rss+xml", EMPTY_RSS, {}),
            "/page.xml": (200, "text/html; charset=utf-8", HTML, {}),
            "/sitemap.xml.gz": (200, "application/x-gzip", gzip.compress(SITEMAP), {}),
            "/encoded.xml": (200, "application/rss+xml", gzip.compress(RSS), {"Content-Encoding": "gzip"}),
            "/moved": (301, "text/plain", b"", {"Location": "/rss.xml"}),
            "/error": (500, "text/plain", b"boom", {}),
        }
        if self.path == "/slow.xml":
            time.sleep(3)
        if self.path == "/trickle.xml":  # answers at once, then a byte every 0.2 s: no read ever times out
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(RSS)))
            self.end_headers()
            try:
                for byte in RSS[:20]:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        status, ctype, body, headers = routes.get(self.path, (404, "text/plain", b"not found", {}))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def local_site(base: str, name: str, feeds: Sequence[str] = (), sitemaps: Sequence[str] = ()) -> Site:
    return Site(
        id=f"xx-{name}", name=name, country="xx", language="en", homepage=f"{base}/{name}/",
        feeds=tuple(f"{base}{p}" if p.startswith("/") else p for p in feeds),
        sitemaps=tuple(f"{base}{p}" if p.startswith("/") else p for p in sitemaps),
    )


def by_path(check: SiteCheck) -> dict[str, object]:
    return {re.sub(r"^http://127\.0\.0\.1:\d+", "", r.url): r for r in check.results}


def test_good_feed_and_gzipped_sitemap(server: str) -> None:
    started = time.monotonic()
    [check] = check_sites([local_site(server, "good", ["/rss.xml"], ["/sitemap.xml.gz"])])
    elapsed = time.monotonic() - started + 0.001  # each source's time is rounded to 1 ms
    assert check.ok and check.usable and check.site == "xx-good"
    feed, sitemap = check.results
    assert (feed.kind, feed.ok, feed.status, feed.links, feed.error) == ("feed", True, 200, 2, None)
    assert (sitemap.kind, sitemap.ok, sitemap.status, sitemap.links) == ("sitemap", True, 200, 3)
    assert 0 <= feed.seconds <= elapsed and 0 <= sitemap.seconds <= elapsed  # seconds, within the run


def test_html_in_place_of_a_feed_is_reported(server: str) -> None:
    [check] = check_sites([local_site(server, "html", ["/page.xml"])])
    [result] = check.results
    assert not check.ok and not check.usable
    assert result.status == 200 and not result.ok and result.links == 0
    assert "HTML" in result.error


def test_missing_and_failing_sources_are_reported(server: str) -> None:
    site = local_site(server, "broken", ["/missing.xml", "/error", "/rss.xml"], ["/gone.xml"])
    [check] = check_sites([site])
    results = by_path(check)
    assert results["/missing.xml"].status == 404 and "404" in results["/missing.xml"].error
    assert results["/error"].status == 500 and not results["/error"].ok
    assert results["/gone.xml"].status == 404 and results["/gone.xml"].kind == "sitemap"
    assert results["/rss.xml"].ok
    assert not check.ok and check.usable  # one source still works


def test_redirect_gzip_encoding_and_empty_feed(server: str) -> None:
    [check] = check_sites([local_site(server, "misc", ["/moved", "/encoded.xml", "/empty.xml"])])
    results = by_path(check)
    assert results["/moved"].ok and results["/moved"].links == 2
    assert results["/encoded.xml"].ok and results["/encoded.xml"].links == 2
    assert not results["/empty.xml"].ok and "no links" in results["/empty.xml"].error


def test_bad_urls_never_raise(server: str) -> None:
    site = local_site(server, "bad", ["not a url", "ftp://127.0.0.1/feed", "http://127.0.0.1:1/feed.xml"],
                      ["http://nonexistent.invalid/sitemap.xml"])
    [check] = check_sites([site], timeout=2)
    assert not check.ok and len(check.results) == 4
    for result in check.results:
        assert not result.ok and result.error and result.links == 0


def test_timeout_bounds_a_slow_source(server: str) -> None:
    started = time.monotonic()
    [check] = check_sites([local_site(server, "slow", ["/slow.xml"])], timeout=0.5)
    assert time.monotonic() - started < 2.5
    [result] = check.results
    assert not result.ok and result.status is None and "timed out" in result.error
    assert 0.45 <= result.seconds < 2.5  # the time it waited, not a placeholder


def test_timeout_bounds_a_trickling_source(server: str) -> None:
    started = time.monotonic()
    [check] = check_sites([local_site(server, "trickle", ["/trickle.xml"])], timeout=0.5)
    assert time.monotonic() - started < 2.5
    [result] = check.results
    assert not result.ok and "timed out" in result.error


def test_a_request_stuck_past_the_timeout_is_abandoned(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Name resolution is not covered by socket timeouts; check_sites still returns on time."""
    import crawler.check

    real = crawler.check.check_source

    def stuck(url: str, kind: str, **kwargs: object):  # type: ignore[no-untyped-def]
        if "stuck" in url:
            time.sleep(4)
        return real(url, kind, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(crawler.check, "check_source", stuck)
    started = time.monotonic()
    [check] = check_sites([local_site(server, "stuck", ["/rss.xml", "/stuck.xml"])], timeout=0.5)
    assert time.monotonic() - started < 3
    good, stuck_result = check.results
    assert good.ok and not stuck_result.ok and "timed out" in stuck_result.error


def test_many_sites_keep_their_order_and_send_an_honest_user_agent(server: str) -> None:
    _Handler.user_agents.clear()
    names = [f"s{i}" for i in range(12)]
    sites = [local_site(server, n, ["/rss.xml"] if i % 2 else ["/missing.xml"]) for i, n in enumerate(names)]
    sites.append(local_site(server, "nothing"))
    checks = check_sites(sites, concurrency=4)
    assert [c.site for c in checks] == [s.id for s in sites]
    assert [c.ok for c in checks[:12]] == [bool(i % 2) for i in range(12)]
    assert checks[-1].results == [] and not checks[-1].ok
    assert _Handler.user_agents and set(_Handler.user_agents) == {USER_AGENT}
    assert "Transcrawl/" in USER_AGENT


def test_to_json_is_serialisable(server: str) -> None:
    [check] = check_sites([local_site(server, "json", ["/rss.xml", "/page.xml"])])
    data = json.loads(json.dumps(check.to_json()))
    assert data["site"] == "xx-json" and data["ok"] is False and data["usable"] is True
    assert [r["kind"] for r in data["results"]] == ["feed", "feed"]
    assert set(data["results"][0]) == {"url", "kind", "ok", "status", "links", "error", "seconds"}
