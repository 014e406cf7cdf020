"""The article's lead image (URL, caption, credit) and its standfirst, from the page itself.

The lead image is the first picture of the article that comes before the first paragraph of its
body (not the standfirst or a kicker): in the article's own container, or in a hero band just
above it, never in navigation, a teaser, a link to another page or the footer. Else the image the
page declares for itself: JSON-LD ``image``, ``og:image``, ``twitter:image``, unless that is a
placeholder or the publisher's logo. A picture offering several sizes (``srcset`` parsed as the
HTML spec does, ``<picture>`` sources, lazy-loading attributes) gives its largest. Logos, icons,
avatars, author photos, tracking pixels and tiny images never count.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from lxml.html import HtmlElement

from workers.extraction import body
from workers.extraction.structured import PageMeta

_NOT_ARTICLE = {"nav", "footer", "aside", "form", "template"}  # inside the article container
# Words in a class, id, alt or file name that mark an image as page furniture, not the article's.
_FURNITURE = re.compile(r"logo|icon|avatar|sprite|pixel|spacer|placeholder|blank|badge|emoji|author|"
                        r"profile|banner|advert|\bads?\b|teaser|related|promo|thumb-?nail|gravatar", re.I)
# Folder names that hold site furniture whatever the file is called (/logos/, /authors/, /icons/).
_FURNITURE_DIR = re.compile(r"logo|icon|avatar|author|profile|sprite|emoji|badge", re.I)
# A declared image named like this is the site's stand-in for "no picture", not the article's.
_PLACEHOLDER = re.compile(r"default|dummy|fallback|no-?image|fb-?share|social-?share", re.I)
# Class words that mark the article's own featured picture (WordPress's "post-thumbnail"): they
# outweigh the furniture words they contain.
_OWN_PICTURE = re.compile(r"post-thumbnail|featured|hero|lead-?(?:image|media|art)|top-image|main-image", re.I)
_TEASER_CONTAINERS = re.compile(r"related|recommend|promo|more-|-more|trending|popular|sidebar|"
                                r"newsletter|share|social|comment|author|byline", re.I)
_SRC_ATTRS = ("data-src", "data-lazy-src", "data-original", "data-lazy", "data-url", "src")
_SRCSET_ATTRS = ("data-srcset", "data-lazy-srcset", "srcset")
_SIZE = re.compile(r"^\s*(\d+)\s*(?:px)?\s*$")  # "100%" or "10em" says nothing about pixels
MIN_SIDE = 120  # pixels: a declared width or height below this is an icon or a thumbnail
# Text (characters) that may lie between a hero picture outside the article's container and the
# article's first paragraph: headline, kicker, byline, date, standfirst and caption.
NEAR_TEXT = 800
MIN_OPENING_WORDS, MIN_OPENING_CJK = 8, 25  # shorter is a kicker, heading or date line
_SKIPPED = {"script", "style", "template", "svg"}
_WS = re.compile(r"\s+")


@dataclasses.dataclass
class LeadImage:
    url: str
    caption: str | None = None
    credit: str | None = None
    source: str = "figure"  # figure, json-ld, og:image, twitter:image


def lead_image(tree: HtmlElement, page: PageMeta, base_url: str, first_paragraph: str | None) -> LeadImage | None:
    """The article's cover image, or None when the page has none of its own."""
    found = _figure_before(tree, base_url, first_paragraph)
    if found is not None:
        return found
    logos = _publisher_logos(page, base_url)
    for source, url in _declared(page):
        absolute = _absolute(url, base_url)
        if absolute and absolute not in logos and not _looks_like_furniture(absolute) \
                and not _PLACEHOLDER.search(_file_name(absolute)):
            return LeadImage(absolute, source=source)
    return None


def _publisher_logos(page: PageMeta, base_url: str) -> set[str]:
    """The publisher's logo as JSON-LD declares it: a site's og:image is sometimes just that."""
    logos = set()
    for article in page.ld_articles[:3]:
        publisher = article.get("publisher")
        if isinstance(publisher, dict):
            url = _ld_image(publisher.get("logo"))
            absolute = _absolute(url, base_url) if url else None
            if absolute:
                logos.add(absolute)
    return logos


def opening_paragraph(paras: list[str], descriptions: list[str]) -> str:
    """The paragraph that opens the article's body, which the lead picture comes before.

    Not the standfirst (the page's declared description, which many sites show above the
    picture) and not a kicker, heading or date line: the first paragraph of a sentence or more.
    """
    described = [body.match_key(d.rstrip(".… ")) for d in descriptions]
    for para in paras:
        key = body.match_key(para)
        words, cjk = body.word_count(para)
        standfirst = len(key) >= 20 and any(d and (key.startswith(d) or d.startswith(key)) for d in described)
        if not standfirst and (words >= MIN_OPENING_WORDS or cjk >= MIN_OPENING_CJK):
            return para
    return paras[0] if paras else ""


def _declared(page: PageMeta) -> list[tuple[str, str]]:
    # JSON-LD first: on ../shared/corpus/news its image named the cover more often than og:image,
    # which is often a social crop of its own (0.80 against 0.77 as the fallback).
    found: list[tuple[str, str]] = []
    for article in page.ld_articles[:3]:
        url = _ld_image(article.get("image"))
        if url:
            found.append(("json-ld", url))
    og = page.first("og:image", "og:image:url", "og:image:secure_url")
    if og:
        found.append(("og:image", og))
    twitter = page.first("twitter:image", "twitter:image:src")
    if twitter:
        found.append(("twitter:image", twitter))
    return found


def _ld_image(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _figure_before(tree: HtmlElement, base_url: str, first_paragraph: str | None) -> LeadImage | None:
    """The first article picture that comes before the paragraph that opens the article text."""
    anchor = _paragraph_element(tree, first_paragraph)
    if anchor is None:
        return None
    container = _article_container(anchor)
    # A loose element holding the text may hold the picture too, ahead of the words.
    for img in _images_before_text(anchor, _probe(first_paragraph or "")):
        found = _as_lead(img, anchor, base_url)
        if found is not None:
            return found
    if container is not None:
        earlier = set(anchor.xpath("preceding::img"))  # document order, not inside the paragraph
        for img in container.iter("img"):
            if img not in earlier:
                break
            found = _as_lead(img, container, base_url)
            if found is not None:
                return found
    return _hero_above(anchor, base_url)


def _as_lead(img: HtmlElement, container: HtmlElement | None, base_url: str) -> LeadImage | None:
    """``img`` as the lead image, unless it is furniture, a teaser or too small."""
    if _in_furniture(img, container) or _small(img):
        return None
    url = _best_url(img, base_url)
    alt = img.get("alt") if len(img.get("alt") or "") < 30 else None
    marks = _OWN_PICTURE.sub("", " ".join(filter(None, (img.get("class"), img.get("id"), alt))))
    if not url or _looks_like_furniture(url) or _FURNITURE.search(marks):
        return None
    caption, credit = _caption(img)
    return LeadImage(url, caption, credit, "figure")


def _images_before_text(anchor: HtmlElement, probe: str) -> list[HtmlElement]:
    """The pictures inside ``anchor`` that come before the text starting with ``probe``."""
    if anchor.tag == "p" or not probe:
        return []
    found, seen = [], ""
    for node in anchor.iter():
        if node.tag == "img":
            found.append(node)
        if isinstance(node.tag, str) and node.tag not in _SKIPPED:
            seen += node.text or ""
        if probe[:20] in _WS.sub(" ", seen):
            return found
        seen += node.tail or "" if node is not anchor else ""
    return found


def _hero_above(anchor: HtmlElement, base_url: str) -> LeadImage | None:
    """The nearest picture above the article's text, outside its container, with little text between.

    Sites put the hero in a header band of its own before the article's container; walking back
    from the first paragraph, the first picture that is no furniture and no link to another page
    is the hero, as long as only a headline's worth of text (``NEAR_TEXT``) lies in between.
    """
    node, budget = anchor, NEAR_TEXT
    while node is not None and node.tag not in ("body", "html"):
        for sibling in node.itersiblings(preceding=True):
            if not isinstance(sibling.tag, str) or sibling.tag in _SKIPPED:
                continue
            if sibling.tag in _NOT_ARTICLE:
                return None
            budget -= len(sibling.text_content().strip())
            if budget < 0:
                return None
            for img in reversed(list(sibling.iter("img"))):
                found = None if _links_away(img) else _as_lead(img, node.getparent(), base_url)
                if found is not None:
                    return found
        node = node.getparent()
    return None


def _links_away(img: HtmlElement) -> bool:
    """Whether the picture is a link to another page (a teaser), not to a bigger size of itself."""
    link = next((a for a in img.iterancestors() if a.tag == "a"), None)
    href = (link.get("href") or "").strip() if link is not None else ""
    return bool(href) and not href.startswith("#") and not re.search(
        r"\.(?:jpe?g|png|webp|avif)\b|=s\d+$|/image", href, re.I)


def _probe(text: str) -> str:
    return _WS.sub(" ", text).strip()[:60]


def _paragraph_element(tree: HtmlElement, text: str | None) -> HtmlElement | None:
    """The element holding the start of the article's first paragraph."""
    if not text:
        return None
    probe = _probe(text)
    if len(probe) < 15:
        return None
    for tags in (("p",), ("div", "section", "span", "h2", "li")):  # paragraphs first: cheaper, likelier
        best: tuple[int, HtmlElement] | None = None
        for element in tree.iter(*tags):
            own = _WS.sub(" ", element.text_content()).strip()
            if probe in own and (best is None or len(own) < best[0]):
                best = (len(own), element)  # the innermost element holding it
                if own.startswith(probe) and len(own) < 4 * len(probe) + 400:
                    break
        if best is not None:
            return best[1]
    return None


def _article_container(anchor: HtmlElement) -> HtmlElement | None:
    """The nearest <article> or <main> around the first paragraph, else its grandparent's parent."""
    node: HtmlElement | None = anchor
    depth = 0
    fallback = None
    while node is not None:
        if node.tag in ("article", "main"):
            return node
        if depth == 3:
            fallback = node
        node = node.getparent()
        depth += 1
    if fallback is not None and fallback.tag not in ("body", "html"):
        return fallback
    return None


def _in_furniture(img: HtmlElement, container: HtmlElement | None) -> bool:
    node = img.getparent()
    while node is not None and node is not container and node.tag != "body":
        if node.tag in _NOT_ARTICLE:
            return True
        marks = " ".join(filter(None, (node.get("class"), node.get("id"))))
        if marks and _TEASER_CONTAINERS.search(marks):
            return True
        node = node.getparent()
    return False


def _small(img: HtmlElement) -> bool:
    for attr in ("width", "height"):
        match = _SIZE.match(img.get(attr) or "")
        if match and int(match.group(1)) < MIN_SIDE:
            return True
    return False


def _best_url(img: HtmlElement, base_url: str) -> str | None:
    """The largest size an image offers: its srcsets (and its <picture>'s sources), else its src."""
    candidates: list[tuple[float, str]] = []
    sets = [img.get(a) for a in _SRCSET_ATTRS]
    # lxml's parser may nest the <img> inside a <source>: look two levels up for the <picture>.
    picture = next((a for a in list(img.iterancestors())[:2] if a.tag == "picture"), None)
    if picture is not None:
        for source in picture.iter("source"):
            sets += [source.get(a) for a in _SRCSET_ATTRS]
    for srcset in filter(None, sets):
        candidates += _parse_srcset(srcset)
    if candidates:
        best = max(candidates, key=lambda c: c[0])[1]
        return _absolute(best, base_url)
    for attr in _SRC_ATTRS:
        value = img.get(attr)
        if value and not value.startswith("data:"):
            return _absolute(value, base_url)
    return None


_URL_PART = re.compile(r"[\s,]*(\S+)")
_DESCRIPTOR = re.compile(r"\s*([^,]*),?")


def _parse_srcset(srcset: str) -> list[tuple[float, str]]:
    """(size, url) of each candidate. As in the HTML spec a URL ends at a space, so commas inside
    it stay, and "a.jpg 120w,b.jpg 640w" (no space after the comma) still gives two."""
    out, pos = [], 0
    while (part := _URL_PART.match(srcset, pos)) is not None:
        url, pos = part.group(1), part.end()
        descriptor = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            described = _DESCRIPTOR.match(srcset, pos)
            descriptor, pos = (described.group(1), described.end()) if described else ("", pos)
        width = re.match(r"([\d.]+)([wx])", descriptor.strip())
        size = float(width.group(1)) * (1 if width.group(2) == "w" else 1000) if width else 1.0
        if url and not url.startswith("data:"):
            out.append((size, url))
    return out


def _caption(img: HtmlElement) -> tuple[str | None, str | None]:
    """The figure's caption and credit, where the page marks them."""
    figure = next((a for a in img.iterancestors() if a.tag == "figure"), None)
    if figure is None:
        return None, None
    caption_el = next(iter(figure.iter("figcaption")), None)
    if caption_el is None:
        return None, None
    credit_el = next((e for e in caption_el.iter() if e is not caption_el and re.search(
        r"credit|copyright|source|author|photographer|byline", " ".join(filter(None, (e.get("class"), e.get("itemprop")))), re.I)),
        None)
    credit = _WS.sub(" ", credit_el.text_content()).strip() if credit_el is not None else None
    caption = _WS.sub(" ", caption_el.text_content()).strip()
    if credit and caption.endswith(credit):
        caption = caption[: -len(credit)].rstrip(" |/·—–-(")
    return caption or None, credit or None


def _absolute(url: str, base_url: str) -> str | None:
    url = url.strip().replace("&#038;", "&").replace("&amp;", "&")
    if not url or url.startswith("data:"):
        return None
    absolute = urljoin(base_url, url)
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def _file_name(url: str) -> str:
    """The image's file name, also when an image proxy carries the original URL encoded in its path."""
    return unquote(urlsplit(url).path).rstrip("/").rsplit("/", 1)[-1]


def _looks_like_furniture(url: str) -> bool:
    path = unquote(urlsplit(url).path)
    folders, _, name = path.rpartition("/")
    return (bool(_FURNITURE.search(name)) or name.lower().endswith((".svg", ".gif", ".ico"))
            or bool(_FURNITURE_DIR.search(folders)))
