"""Article links from feeds, sitemaps and homepages: pure functions over response bodies."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field

import lxml.etree
from scrapy.utils.sitemap import Sitemap

_GZIP_MAGIC = b"\x1f\x8b"
MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemap protocol's own limit, uncompressed


class NotAFeed(ValueError):
    """The body is not RSS, Atom or a sitemap (often an HTML error page)."""


@dataclass
class SitemapLinks:
    sitemaps: list[str] = field(default_factory=list)  # nested sitemaps (from an index)
    pages: list[str] = field(default_factory=list)


def feed_links(body: bytes) -> list[str]:
    """Item links of an RSS 1.0/2.0 or Atom feed, in feed order."""
    root = _parse_xml(body)
    tag = lxml.etree.QName(root).localname.lower()
    if tag not in ("rss", "feed", "rdf"):
        raise NotAFeed(f"root element <{tag}> is not rss, feed or RDF")
    links: list[str] = []
    for item in root.iter():
        if not isinstance(item.tag, str):
            continue
        name = lxml.etree.QName(item).localname
        if name == "item":
            link = _child_text(item, "link") or _child_text(item, "guid")
            if link:
                links.append(link)
        elif name == "entry":
            links.extend(_atom_link(item))
    return links


def sitemap_links(body: bytes) -> SitemapLinks:
    """Pages of a urlset (plain or Google News) or nested sitemaps of a sitemap index."""
    body = maybe_gunzip(body)
    try:
        sitemap = Sitemap(body)
    except (StopIteration, lxml.etree.XMLSyntaxError) as exc:
        raise NotAFeed(f"not a sitemap: {exc}") from exc
    if sitemap.type not in ("urlset", "sitemapindex"):
        raise NotAFeed(f"root element <{sitemap.type}> is not urlset or sitemapindex")
    found = SitemapLinks()
    target = found.sitemaps if sitemap.type == "sitemapindex" else found.pages
    target.extend(entry["loc"] for entry in sitemap if entry.get("loc"))
    return found


def maybe_gunzip(body: bytes) -> bytes:
    """Decompress a gzipped sitemap, refusing to inflate past MAX_SITEMAP_BYTES (gzip bombs)."""
    if not body.startswith(_GZIP_MAGIC):
        return body
    with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
        data = stream.read(MAX_SITEMAP_BYTES + 1)
    if len(data) > MAX_SITEMAP_BYTES:
        raise NotAFeed(f"sitemap inflates past {MAX_SITEMAP_BYTES} bytes")
    return data


def _parse_xml(body: bytes) -> lxml.etree._Element:
    stripped = body.lstrip()[:200].lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        raise NotAFeed("got an HTML page, not a feed")
    parser = lxml.etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = lxml.etree.fromstring(body, parser=parser)
    except lxml.etree.XMLSyntaxError as exc:
        raise NotAFeed(f"malformed XML: {exc}") from exc
    if root is None:
        raise NotAFeed("empty or malformed XML")
    return root


def _child_text(element: lxml.etree._Element, name: str) -> str | None:
    for child in element:
        if isinstance(child.tag, str) and lxml.etree.QName(child).localname == name:
            text = (child.text or "").strip()
            if text.startswith("http"):
                return text
    return None


def _atom_link(entry: lxml.etree._Element) -> list[str]:
    for child in entry:
        if (isinstance(child.tag, str) and lxml.etree.QName(child).localname == "link"
                and child.get("rel", "alternate") == "alternate" and child.get("href")):
            return [child.get("href", "")]
    return []
