"""Metadata a page declares about itself: JSON-LD articles, meta tags, <title>, <h1>, <html lang>."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from lxml.html import HtmlElement

# schema.org types whose headline and body describe the page's own article.
_ARTICLE_TYPES = {
    "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
    "backgroundnewsarticle", "reviewnewsarticle", "askpublicnewsarticle", "blogposting",
    "liveblogposting", "report", "techarticle", "satiricalarticle", "socialmediaposting",
    "advertisercontentarticle", "scholarlyarticle", "medicalscholarlyarticle",
}
_MAX_JSON_NODES = 5000  # bounds the walk over hostile or huge JSON-LD
_WS = re.compile(r"\s+")


@dataclass
class PageMeta:
    """What the markup says, before any judgement about which source to trust."""

    ld_articles: list[dict[str, Any]] = field(default_factory=list)
    ld_site_names: list[str] = field(default_factory=list)
    meta: dict[str, list[str]] = field(default_factory=dict)
    title: str = ""
    h1: list[str] = field(default_factory=list)
    html_lang: str = ""
    ld_errors: int = 0

    def first(self, *names: str) -> str | None:
        """First non-empty value among meta tags ``names`` (lower-case keys)."""
        for name in names:
            for value in self.meta.get(name, ()):
                if value.strip():
                    return value.strip()
        return None


def read_page_meta(tree: HtmlElement) -> PageMeta:
    """Collect every declared field from a parsed page; never raises on bad markup."""
    page = PageMeta()
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() == "application/ld+json":
            _read_json_ld(script.text or "", page)
    for tag in tree.iter("meta"):
        key = tag.get("property") or tag.get("name") or tag.get("itemprop") or tag.get("http-equiv")
        content = tag.get("content")
        if key and content:
            page.meta.setdefault(key.strip().lower(), []).append(content)
    # Microdata on visible elements, e.g. <time itemprop="datePublished" datetime="...">.
    for tag in tree.xpath("//*[@itemprop='datePublished'][not(self::meta)]")[:5]:
        value = tag.get("datetime") or tag.get("content")
        if value:
            page.meta.setdefault("datepublished", []).append(value)
    title = next(tree.iter("title"), None)
    page.title = _text(title) if title is not None else ""
    page.h1 = [t for t in (_text(h) for h in _limited(tree.iter("h1"), 5)) if t]
    root = tree.getroottree().getroot()
    page.html_lang = (root.get("lang") or root.get("xml:lang") or "").strip()
    return page


def _limited(items: Any, limit: int) -> list[Any]:
    out = []
    for item in items:
        out.append(item)
        if len(out) >= limit:
            break
    return out


def _text(element: HtmlElement) -> str:
    return _WS.sub(" ", element.text_content()).strip()


def _read_json_ld(raw: str, page: PageMeta) -> None:
    raw = raw.strip().removeprefix("<!--").removesuffix("-->").strip().rstrip(";")
    if raw.startswith("//<![CDATA["):
        raw = raw[len("//<![CDATA["):].removesuffix("//]]>")
    try:
        data = json.loads(raw, strict=False)
    except (ValueError, RecursionError):
        page.ld_errors += 1
        return
    stack, seen = [data], 0
    while stack and seen < _MAX_JSON_NODES:
        node = stack.pop()
        seen += 1
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, dict):
            _classify_node(node, page)
            for key in ("@graph", "mainEntity", "itemListElement"):
                if isinstance(node.get(key), (list, dict)):
                    stack.append(node[key])


def _classify_node(node: dict[str, Any], page: PageMeta) -> None:
    types = node.get("@type")
    names = {t.lower() for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)}
    if names & _ARTICLE_TYPES or any(n.endswith("article") for n in names):
        page.ld_articles.append(node)
    elif names & {"website", "organization", "newsmediaorganization"}:
        if isinstance(node.get("name"), str):
            page.ld_site_names.append(node["name"])
    publisher = node.get("publisher")
    if isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
        page.ld_site_names.append(publisher["name"])
