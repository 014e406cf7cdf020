"""``extract_article``: decode, parse once, then pick each field from the source that deserves it."""

from __future__ import annotations

import logging
import re

import lxml.html
from lxml.etree import ParserError
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from workers.errors import BadPage
from workers.extraction import body, boilerplate, embedded, inserts, media, metadata
from workers.extraction.decode import decode_html
from workers.extraction.fields import site_keys
from workers.extraction.language import detect_language, normalise_code
from workers.extraction.result import Extracted
from workers.extraction.structured import PageMeta, read_page_meta

log = logging.getLogger(__name__)

MIN_WORDS = 25  # below this (and below MIN_CJK) a page is a teaser, a paywall or an index
MIN_CJK = 60
THIN_WORDS = 150  # kept, but flagged: short pages are often cut off
THIN_CJK = 300


def extract_article(html: bytes | str, url: str, *, declared_language: str | None = None,
                    content_type: str | None = None,
                    overrides: dict[str, str] | None = None) -> Extracted:
    """Extract one article from a raw page, or raise ``BadPage`` saying why not."""
    overrides = overrides or {}
    text, _charset = decode_html(html, content_type)
    tree = _parse(text)
    page = read_page_meta(tree)
    keys = site_keys(url, metadata.site_names(page))
    flags: list[str] = []
    sources: dict[str, str] = {}

    title, sources["title"] = metadata.choose_title(page, keys, tree, overrides.get("title_pattern"))
    authors, sources["authors"] = metadata.choose_authors(page, keys, tree)
    published, sources["published_at"], rejected = metadata.choose_date(page, tree, url)
    blocks = body.leaf_lines(tree)  # one walk over the page's blocks for the steps that need them
    paras, body_sources, body_flags = _article(tree, url, page, keys, title, authors, overrides, blocks, fast=True)
    if _short(paras) and body_sources["text"] != "override":
        # Trafilatura's fast run leaves out its second opinions (readability, jusText), which
        # rescue the pages its own rules misread (a menu taken for the article) but, measured on
        # publishers no rule was written for, lose more than they win where the text is long:
        # they are asked only where the article came out short.
        paras, body_sources, body_flags = _article(tree, url, page, keys, title, authors, overrides, blocks,
                                                   fast=False)
    sources.update(body_sources)
    flags += body_flags
    article_text = "\n".join(paras)
    words, cjk = body.word_count(article_text)
    if words < MIN_WORDS and cjk < MIN_CJK:
        raise BadPage(f"{words} words of article text: thin or paywalled page", reason="no_text")

    prior = declared_language or _page_language(page)
    language, used_prior = detect_language(article_text, prior)
    sources["language"] = "declared" if used_prior else "py3langid"
    flags += _quality_flags(words, cjk, title, published, authors, used_prior, rejected, page)
    described = metadata.descriptions(page)
    image = media.lead_image(tree, page, url, media.opening_paragraph(paras, described))
    if image is not None:
        sources["image"] = image.source
    return Extracted(title=title, text=article_text, authors=authors, published_at=published,
                     language=language, sources=sources, flags=flags,
                     image_url=image.url if image else None, image_caption=image.caption if image else None,
                     image_credit=image.credit if image else None,
                     description=described[0] if described else None)


def _article(tree: HtmlElement, url: str, page: PageMeta, keys: set[str], title: str, authors: list[str],
             overrides: dict[str, str], blocks: list[body.Block], *, fast: bool,
             ) -> tuple[list[str], dict[str, str], list[str]]:
    """The article's paragraphs, where each came from, and the flags raised on the way."""
    flags: list[str] = []
    sources: dict[str, str] = {}
    paras, sources["text"] = _body(tree, url, page, overrides.get("body_selector"), flags, blocks, fast)
    if sources["text"] != "override":
        headlines = metadata.headlines(page, keys)
        paras = body.drop_other_articles(tree, paras, [title, *headlines], blocks)
        paras = body.drop_chrome(paras, title, authors, headlines)
        paras = inserts.drop_author_note(paras, authors)
        paras = body.drop_furniture(paras, body.linked_items(tree))
        paras = inserts.drop_embedded_posts(paras, inserts.embedded_posts(tree))
        paras = boilerplate.drop_trailing_outside(paras, blocks)
        paras = boilerplate.drop_comments(paras, blocks)
        lead = body.lead_paragraph(tree, metadata.descriptions(page), "\n".join(paras))
        if lead and body.match_key(lead) != body.match_key(title):
            paras.insert(0, lead)
            sources["lead"] = "description"
    return paras, sources, flags


def _short(paras: list[str]) -> bool:
    words, cjk = body.word_count("\n".join(paras))
    return words < THIN_WORDS and cjk < THIN_CJK


def _parse(text: str) -> HtmlElement:
    """One parse per page, trafilatura's way; plain lxml when its sanity checks say no."""
    text = _noscript_iframes_removed(text)
    tree = None
    try:
        tree = load_html(text)
    except (ValueError, TypeError, ParserError) as err:
        log.info("trafilatura could not load the page: %r", err)
    if tree is None:
        try:
            tree = lxml.html.document_fromstring(text.encode("utf-8", "replace"))
        except (ValueError, ParserError) as err:
            raise BadPage(f"lxml cannot parse the page: {err}", reason="not_html") from err
    return tree


# A browser running scripts reads <noscript> as plain text up to its end tag; libxml2 parses it as
# markup, where an <iframe> is raw text up to its own end tag. An unclosed iframe there (a tag
# manager's snippet) swallowed the rest of the page, scripts and all, into one text node.
_IFRAME_OPEN = re.compile(r"<iframe", re.I)
_IFRAME_TAG = re.compile(r"</?iframe\b[^>]*>", re.I)
_NOSCRIPT_OPEN = re.compile(r"<noscript\b", re.I)
_NOSCRIPT_CLOSE = re.compile(r"</noscript\b", re.I)


def _noscript_iframes_removed(text: str) -> str:
    """``text`` with the iframe tags inside <noscript> taken out (one pass: hostile pages too)."""
    if not _IFRAME_OPEN.search(text):
        return text
    out, at = [], 0
    while (start := _NOSCRIPT_OPEN.search(text, at)) and (end := _NOSCRIPT_CLOSE.search(text, start.end())):
        out += [text[at:start.start()], _IFRAME_TAG.sub("", text[start.start():end.start()])]
        at = end.start()
    return "".join(out) + text[at:]


def _body(tree: HtmlElement, url: str, page: PageMeta, selector: str | None, flags: list[str],
          blocks: list[body.Block], fast: bool) -> tuple[list[str], str]:
    if selector:
        paras = body.select_blocks(tree, selector)
        if paras:
            return paras, "override"
        flags.append("selector_missed")
    paras = body.paragraphs(body.trafilatura_text(tree, url, fast=fast))
    filled = body.fill_container(tree, paras, blocks)
    if filled is not None:
        paras = filled
    bodies = [embedded.as_text(a["articleBody"]) for a in page.ld_articles if isinstance(a.get("articleBody"), str)]
    article_body: str = max(bodies, key=len, default="")
    if article_body:
        paras, source = body.reconcile(paras, article_body)
    else:
        source = "trafilatura" if paras else "none"
        # Only where the markup has (almost) no article: measured on publishers it was not written
        # for, taking the payload whenever it went further lost more body F1 than it won.
        shipped = embedded.script_paragraphs(tree) if _too_thin(paras) else []
        if shipped:
            paras, source = body.reconcile(paras, "\n".join(shipped))
            source = source.replace("json-ld", "script")
    if not paras:
        paras, source = body.walk_blocks(tree), "markup"
        flags.append("fallback_body")
    return paras, source


def _too_thin(paras: list[str]) -> bool:
    words, cjk = body.word_count("\n".join(paras))
    return words < MIN_WORDS and cjk < MIN_CJK


def _page_language(page: PageMeta) -> str | None:
    for article in page.ld_articles:
        lang = article.get("inLanguage")
        if isinstance(lang, str) and normalise_code(lang):
            return lang
    for value in (page.html_lang, page.first("og:locale", "content-language", "language", "dc.language")):
        if normalise_code(value):
            return value
    return None


def _quality_flags(words: int, cjk: int, title: str, published: str | None, authors: list[str],
                   used_prior: bool, rejected_ld: bool, page: PageMeta) -> list[str]:
    flags = []
    if words < THIN_WORDS and cjk < THIN_CJK:
        flags.append("thin")
    if not title:
        flags.append("no_title")
    if not published:
        flags.append("no_date")
    if not authors:
        flags.append("no_author")
    if used_prior:
        flags.append("language_from_prior")
    if rejected_ld or page.ld_errors:
        flags.append("bad_json_ld")
    return flags
