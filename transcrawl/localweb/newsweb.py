"""Local news webs on 127.0.0.1: one HTTP server per site, for ``transcrawl demo`` and for tests.

Every :class:`LocalSite` gets its own port (so its own origin). With ``NewsWeb(sites, distinct_hosts=True)``
each site also gets its own loopback address instead of 127.0.0.1 (site *i* on ``127.0.{i // 250}.{i % 250 + 2}``;
Linux routes all of 127.0.0.0/8 to ``lo``), so a crawler sees one host per site, as with real domains: its
registry entry's ``allowed_domains`` is that address, and its origin, feeds and article URLs use it.
Each site serves::

    /                           homepage: links to every article, plus /about.html, /tag/<section>,
                                /private/secret.html (robots.txt disallows it) and one article link
                                carrying ``?utm_source=home``
    /robots.txt                 ``Disallow`` for each of ``LocalSite.disallow``, and a ``Sitemap:`` line
    /feed.xml                   RSS 2.0, newest first; every other link carries ``?ref=rss``
    /atom.xml                   Atom 1.0
    /sitemap.xml                sitemap index -> /news-sitemap.xml and /sitemap-articles.xml.gz
    /news-sitemap.xml           Google News sitemap
    /sitemap-articles.xml.gz    plain sitemap, gzipped (served as application/x-gzip, no Content-Encoding)
    /YYYY/MM/DD/<slug>.html     article pages (the date is the article's own local publication date)
    /about.html, /tag/<section>, /private/secret.html   non-article pages

Anything else is 404; the query string never changes what a path serves. Every 200 carries an ETag and a
Last-Modified header, and a conditional GET (``If-None-Match`` / ``If-Modified-Since``) on an unchanged
resource is answered 304. ``LocalSite.extra_pages`` overrides or adds any path.

Failure modes, read on every request so a test may flip them while the web runs:
``broken_feed`` makes /feed.xml truncated XML and /atom.xml an HTML page (both 200; sitemaps still work),
``dead`` answers every request with 500, ``delay`` sleeps that many seconds before answering.
:meth:`NewsWeb.stop_site` closes one site's listening socket (connection refused) until
:meth:`NewsWeb.start_site` reopens it on the same port.

In an article's ``html``, the bytes ``{{origin}}`` are replaced by the site's origin
(``http://127.0.0.1:PORT``, or the site's own address with ``distinct_hosts``) when served, so pages can carry absolute canonical and og:url links.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import threading
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from crawler.registry import Site

HOST = "127.0.0.1"
ARTICLE_PATTERN = r"/\d{4}/\d{2}/\d{2}/[\w-]+\.html$"
ORIGIN_PLACEHOLDER = b"{{origin}}"
HTML = "text/html; charset=utf-8"

Page = tuple[int, str, bytes] | tuple[int, str, bytes, dict[str, str]]


@dataclasses.dataclass
class LocalArticle:
    """One article page: ``html`` is the whole page as served."""

    slug: str
    title: str
    html: bytes
    published: datetime  # tz-aware
    section: str = "news"
    summary: str = ""  # the RSS/Atom description, when given
    content_type: str = HTML  # e.g. "application/pdf" to serve a non-page under an article URL

    def __post_init__(self) -> None:
        if self.published.tzinfo is None:
            raise ValueError(f"article {self.slug!r}: published must be time-zone aware")

    def path(self) -> str:
        return f"/{self.published:%Y/%m/%d}/{self.slug}.html"


@dataclasses.dataclass
class LocalSite:
    """One local news site; the flags below are read on every request."""

    id: str
    name: str
    country: str
    language: str
    articles: list[LocalArticle]
    disallow: list[str] = dataclasses.field(default_factory=lambda: ["/private/"])
    # path (with or without query) -> (status, content type, body[, extra headers])
    extra_pages: dict[str, Page] = dataclasses.field(default_factory=dict)
    broken_feed: bool = False
    dead: bool = False  # every request answers 500
    delay: float = 0.0  # seconds to wait before answering
    port: int = 0  # 0: any free port, chosen at start()


@dataclasses.dataclass(frozen=True)
class RequestRecord:
    """One request a local site received, and what it answered."""

    site_id: str
    method: str
    path: str  # with the query string
    headers: dict[str, str]
    status: int
    time: float  # time.time()


class NewsWeb:
    """Serve ``sites`` on 127.0.0.1, one port each; use as a context manager or start()/stop().

    ``distinct_hosts=True`` serves each site on its own loopback address (see the module docstring).
    """

    def __init__(self, sites: list[LocalSite], *, base_port: int = 0, distinct_hosts: bool = False) -> None:
        ids = [s.id for s in sites]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate local site ids in {ids}")
        self.sites = {s.id: s for s in sites}
        self._base_port = base_port
        self._hosts = {s.id: (loopback_host(i) if distinct_hosts else HOST) for i, s in enumerate(sites)}
        self._lock = threading.Lock()
        self._log: list[RequestRecord] = []
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self._ports: dict[str, int] = {}
        self._modified: dict[str, datetime] = {s.id: _newest(s) for s in sites}

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> NewsWeb:
        try:
            for index, (site_id, site) in enumerate(self.sites.items()):
                self._serve(site_id, site.port or (self._base_port + index if self._base_port else 0))
        except OSError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for site_id in list(self._servers):
            self.stop_site(site_id)

    def __enter__(self) -> NewsWeb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop_site(self, site_id: str) -> None:
        """Close one site's socket: its requests now fail with connection refused."""
        server = self._servers.pop(site_id, None)
        if server is not None:
            server.shutdown()
            server.server_close()

    def start_site(self, site_id: str) -> None:
        """Reopen a site closed by :meth:`stop_site`, on the same port."""
        if site_id not in self._servers:
            self._serve(site_id, self._ports[site_id])

    def _serve(self, site_id: str, port: int) -> None:
        server = ThreadingHTTPServer((self._hosts[site_id], port), _handler(self, site_id))
        server.daemon_threads = True
        self._servers[site_id] = server
        self._ports[site_id] = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), name=f"newsweb-{site_id}", daemon=True)
        thread.start()

    # -- addresses ---------------------------------------------------------------------------
    def host(self, site_id: str) -> str:
        """The address the site listens on: 127.0.0.1, or its own with ``distinct_hosts``."""
        return self._hosts[site_id]

    def origin(self, site_id: str) -> str:
        port = self._ports.get(site_id) or self.sites[site_id].port
        if not port:
            raise RuntimeError(f"site {site_id!r} has no port until the web starts")
        return f"http://{self._hosts[site_id]}:{port}"

    def article_url(self, site_id: str, slug: str) -> str:
        article = next((a for a in self.sites[site_id].articles if a.slug == slug), None)
        if article is None:
            raise KeyError(f"site {site_id!r} has no article {slug!r}")
        return self.origin(site_id) + article.path()

    def article_urls(self, site_id: str | None = None) -> list[str]:
        """Every article URL (no tracking parameters), of one site or of all."""
        ids = [site_id] if site_id else list(self.sites)
        return [self.origin(i) + a.path() for i in ids for a in self.sites[i].articles]

    def registry(self, *, crawl_interval: int = 60) -> list[Site]:
        """Registry entries for the running sites."""
        return [self._entry(site, crawl_interval) for site in self.sites.values()]

    def _entry(self, site: LocalSite, crawl_interval: int) -> Site:
        origin = self.origin(site.id)
        return Site(
            id=site.id,
            name=site.name,
            country=site.country,
            language=site.language,
            homepage=origin + "/",
            feeds=(origin + "/feed.xml", origin + "/atom.xml"),
            sitemaps=(origin + "/sitemap.xml",),
            article_pattern=ARTICLE_PATTERN,
            allowed_domains=(self._hosts[site.id],),
            crawl_interval=crawl_interval,
        )

    # -- content -----------------------------------------------------------------------------
    def add_article(self, site_id: str, article: LocalArticle) -> None:
        """Publish ``article``: homepage, feeds and sitemaps list it from now on."""
        site = self.sites[site_id]
        with self._lock:
            if any(a.path() == article.path() for a in site.articles):
                raise ValueError(f"site {site_id!r} already has {article.path()}")
            site.articles.append(article)
            previous = self._modified[site_id]
            self._modified[site_id] = max(article.published.astimezone(UTC), _next_second(previous))

    def modified(self, site_id: str) -> datetime:
        with self._lock:
            return self._modified[site_id]

    # -- request log -------------------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._log)

    def paths(self, site_id: str) -> list[str]:
        """The paths (with query) one site was asked for, in order."""
        return [r.path for r in self.requests if r.site_id == site_id]

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._log.append(record)


def loopback_host(index: int) -> str:
    """The ``index``-th site's own loopback address: 127.0.0.2, 127.0.0.3, ... (250 per /24)."""
    if not 0 <= index < 250 * 256:
        raise ValueError(f"no loopback address for site index {index}")
    return f"127.0.{index // 250}.{index % 250 + 2}"


def _handler(web: NewsWeb, site_id: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "TranscrawlNewsWeb/1.0"

        def do_GET(self) -> None:
            self._answer(send_body=True)

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def _answer(self, *, send_body: bool) -> None:
            site = web.sites[site_id]
            if site.delay:
                time.sleep(site.delay)
            try:
                status, headers, body = _respond(web, site, self.path, dict(self.headers.items()))
            except Exception as exc:  # a bug here must show as a 500, not as a dropped connection
                status, headers, body = 500, {"Content-Type": "text/plain"}, f"newsweb error: {exc!r}\n".encode()
            web._record(
                RequestRecord(site_id, self.command, self.path, dict(self.headers.items()), status, time.time())
            )
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up early (e.g. it only wanted the headers)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass  # the request log replaces stderr noise

    return Handler


def _newest(site: LocalSite) -> datetime:
    dates = [a.published.astimezone(UTC) for a in site.articles]
    return max(dates) if dates else datetime(2026, 1, 1, tzinfo=UTC)


def _next_second(moment: datetime) -> datetime:
    return datetime.fromtimestamp(int(moment.timestamp()) + 1, UTC)


def etag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:16] + '"'


def not_modified(headers: dict[str, str], tag: str, modified: datetime) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since."""
    lower = {k.lower(): v for k, v in headers.items()}
    if "if-none-match" in lower:
        tags = [t.strip().removeprefix("W/") for t in lower["if-none-match"].split(",")]
        return tag in tags or "*" in tags
    since = lower.get("if-modified-since")
    if not since:
        return False
    try:
        return int(modified.timestamp()) <= int(parsedate_to_datetime(since).timestamp())
    except (TypeError, ValueError):
        return False


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


# -- pages ---------------------------------------------------------------------------------------
Answer = tuple[int, dict[str, str], bytes]
Built = tuple[str, bytes, datetime]  # content type, body, last modified


def _respond(web: NewsWeb, site: LocalSite, raw_path: str, request_headers: dict[str, str]) -> Answer:
    if site.dead:
        return 500, {"Content-Type": "text/plain; charset=utf-8"}, b"500 internal server error (dead site)\n"
    path = urlsplit(raw_path).path
    extra = site.extra_pages.get(raw_path) or site.extra_pages.get(path)
    if extra is not None:
        headers = {"Content-Type": extra[1], **(extra[3] if len(extra) == 4 else {})}
        return extra[0], headers, extra[2]
    with web._lock:
        articles = sorted(site.articles, key=lambda a: a.published, reverse=True)
        modified = web._modified[site.id]
    built = _build(site, web.origin(site.id), articles, modified, path)
    if built is None:
        return 404, {"Content-Type": HTML}, b"<!DOCTYPE html><title>Not found</title><h1>404 Not found</h1>\n"
    content_type, body, last_modified = built
    tag = etag(body)
    headers = {"Content-Type": content_type, "ETag": tag, "Last-Modified": http_date(last_modified)}
    if not_modified(request_headers, tag, last_modified):
        return 304, headers, b""
    return 200, headers, body


def _build(site: LocalSite, origin: str, articles: list[LocalArticle], modified: datetime, path: str) -> Built | None:
    """The page at ``path``, or None for 404."""
    fixed: dict[str, Callable[[], tuple[str, bytes]]] = {
        "/": lambda: (HTML, _homepage(site, articles)),
        "/index.html": lambda: (HTML, _homepage(site, articles)),
        "/robots.txt": lambda: ("text/plain; charset=utf-8", _robots(site, origin)),
        "/feed.xml": lambda: _rss(site, origin, articles, modified),
        "/atom.xml": lambda: _atom(site, origin, articles, modified),
        "/sitemap.xml": lambda: ("application/xml", _sitemap_index(origin, modified)),
        "/news-sitemap.xml": lambda: ("application/xml", _news_sitemap(site, origin, articles)),
        "/sitemap-articles.xml.gz": lambda: ("application/x-gzip", _gz_sitemap(origin, articles)),
        "/about.html": lambda: (HTML, _plain_page(site, "About us", f"{site.name} is a local news site.")),
        "/private/secret.html": lambda: (HTML, _plain_page(site, "Private", "Robots must not fetch this.")),
    }
    if path in fixed:
        content_type, body = fixed[path]()
        return content_type, body, modified
    if path.startswith("/media/") and path.endswith(".png"):  # the pictures the article pages show
        return "image/png", _picture(path), modified
    if path.startswith("/tag/"):
        tagged = [a for a in articles if a.section == path.removeprefix("/tag/")]
        return (HTML, _listing(site, f"Tag: {path[5:]}", tagged), modified) if tagged else None
    for article in articles:
        if article.path() == path:
            return article.content_type, article.html.replace(ORIGIN_PLACEHOLDER, origin.encode()), article.published
    return None


@functools.lru_cache(maxsize=64)
def _picture(path: str) -> bytes:
    """A PNG for any /media/<name>-<width>.png: 16:9, a landscape whose colours come from the name."""
    name, _, width = path.removeprefix("/media/").removesuffix(".png").rpartition("-")
    w = min(int(width), 1600) if width.isdigit() else 800
    h = w * 9 // 16
    seed = hashlib.sha1(name.encode()).digest()
    sky, ground = seed[:3], bytes(c // 3 for c in seed[3:6])
    rows = []
    for y in range(h):
        row = bytearray()
        for x in range(0, w, 8):  # 8-pixel columns keep it quick; the hills need no finer
            hill = h * (0.62 + 0.12 * ((x * 7 // w) % 2))
            row += (ground if y > hill else sky) * min(8, w - x)
        rows.append(b"\0" + bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))

    header = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
            + chunk(b"IEND", b""))


def _page(site: LocalSite, title: str, main: str) -> bytes:
    return (
        f'<!DOCTYPE html>\n<html lang="{site.language}">\n<head><meta charset="utf-8">'
        f"<title>{escape(title)} | {escape(site.name)}</title></head>\n<body>\n"
        f'<header><a href="/">{escape(site.name)}</a> <nav><a href="/about.html">About</a></nav></header>\n'
        f"<main>\n{main}\n</main>\n<footer>&copy; {escape(site.name)}</footer>\n</body>\n</html>\n"
    ).encode()


def _links(articles: list[LocalArticle], tracked: bool = False) -> str:
    items = []
    for index, article in enumerate(articles):
        href = article.path() + ("?utm_source=home" if tracked and index == 0 else "")
        items.append(f"<li><a href={quoteattr(href)}>{escape(article.title)}</a></li>")
    return "<ul>\n" + "\n".join(items) + "\n</ul>"


def _homepage(site: LocalSite, articles: list[LocalArticle]) -> bytes:
    sections = sorted({a.section for a in articles})
    tags = " ".join(f'<a href="/tag/{escape(s)}">{escape(s)}</a>' for s in sections)
    main = (
        f"<h1>{escape(site.name)}</h1>\n<nav class=\"sections\">{tags}</nav>\n"
        f"{_links(articles, tracked=True)}\n"
        '<p><a href="/about.html">About us</a> · <a href="/private/secret.html">Staff only</a></p>'
    )
    return _page(site, "Home", main)


def _listing(site: LocalSite, title: str, articles: list[LocalArticle]) -> bytes:
    return _page(site, title, f"<h1>{escape(title)}</h1>\n{_links(articles)}")


def _plain_page(site: LocalSite, title: str, text: str) -> bytes:
    return _page(site, title, f"<h1>{escape(title)}</h1>\n<p>{escape(text)}</p>")


def _robots(site: LocalSite, origin: str) -> bytes:
    lines = ["User-agent: *", *(f"Disallow: {p}" for p in site.disallow), "", f"Sitemap: {origin}/sitemap.xml", ""]
    return "\n".join(lines).encode()


def _feed_link(origin: str, article: LocalArticle, index: int) -> str:
    return origin + article.path() + ("?ref=rss" if index % 2 else "")


def _rss(site: LocalSite, origin: str, articles: list[LocalArticle], modified: datetime) -> tuple[str, bytes]:
    if site.broken_feed:
        return "application/rss+xml", b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>Oops<item><link>'
    items = []
    for index, article in enumerate(articles):
        link = _feed_link(origin, article, index)
        items.append(
            f"<item><title>{escape(article.title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{escape(site.id)}:{escape(article.slug)}</guid>'
            f"<pubDate>{format_datetime(article.published)}</pubDate>"
            f"<category>{escape(article.section)}</category>"
            f"<description>{escape(article.summary)}</description></item>"
        )
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(site.name)}</title><link>{origin}/</link><description>{escape(site.name)}</description>"
        f"<language>{site.language}</language><lastBuildDate>{format_datetime(modified)}</lastBuildDate>\n"
        + "\n".join(items)
        + "\n</channel></rss>\n"
    )
    return "application/rss+xml; charset=utf-8", body.encode()


def _atom(site: LocalSite, origin: str, articles: list[LocalArticle], modified: datetime) -> tuple[str, bytes]:
    if site.broken_feed:
        return HTML, _plain_page(site, "Feed unavailable", "Our feed is under maintenance.")
    entries = []
    for index, article in enumerate(articles):
        entries.append(
            f"<entry><title>{escape(article.title)}</title>"
            f'<link rel="alternate" href={quoteattr(_feed_link(origin, article, index))}/>'
            f"<id>{origin}{article.path()}</id><updated>{article.published.isoformat()}</updated>"
            f"<published>{article.published.isoformat()}</published>"
            f"<summary>{escape(article.summary)}</summary></entry>"
        )
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{site.language}">'
        f'<title>{escape(site.name)}</title><id>{origin}/</id><link rel="self" href="{origin}/atom.xml"/>'
        f'<link rel="alternate" href="{origin}/"/><updated>{modified.isoformat()}</updated>\n'
        + "\n".join(entries)
        + "\n</feed>\n"
    )
    return "application/atom+xml; charset=utf-8", body.encode()


_SITEMAP_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def _sitemap_index(origin: str, modified: datetime) -> bytes:
    entries = "".join(
        f"<sitemap><loc>{origin}/{name}</loc><lastmod>{modified.isoformat()}</lastmod></sitemap>\n"
        for name in ("news-sitemap.xml", "sitemap-articles.xml.gz")
    )
    return f'<?xml version="1.0" encoding="utf-8"?>\n<sitemapindex {_SITEMAP_NS}>\n{entries}</sitemapindex>\n'.encode()


def _news_sitemap(site: LocalSite, origin: str, articles: list[LocalArticle]) -> bytes:
    language = "zh-cn" if site.language == "zh" else site.language  # Google News spells Simplified Chinese so
    urls = "".join(
        f"<url><loc>{origin}{a.path()}</loc><news:news><news:publication>"
        f"<news:name>{escape(site.name)}</news:name><news:language>{language}</news:language>"
        f"</news:publication><news:publication_date>{a.published.isoformat()}</news:publication_date>"
        f"<news:title>{escape(a.title)}</news:title></news:news></url>\n"
        for a in articles
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<urlset {_SITEMAP_NS} '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n{urls}</urlset>\n'
    ).encode()


def _gz_sitemap(origin: str, articles: list[LocalArticle]) -> bytes:
    urls = "".join(
        f"<url><loc>{origin}{a.path()}</loc><lastmod>{a.published.isoformat()}</lastmod></url>\n" for a in articles
    )
    xml = f'<?xml version="1.0" encoding="utf-8"?>\n<urlset {_SITEMAP_NS}>\n{urls}</urlset>\n'
    return gzip.compress(xml.encode(), mtime=0)  # mtime=0 keeps the ETag stable
