"""Article body: trafilatura's paragraphs, checked against JSON-LD articleBody, or a site's selector."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import NamedTuple

import trafilatura
from lxml.html import HtmlElement

log = logging.getLogger(__name__)

_BLOCKS = {"p", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "dd", "figcaption", "td"}
_SKIP = {"script", "style", "noscript", "template", "svg", "nav", "footer", "form", "button", "aside"}
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")
_WS = re.compile(r"[ \t\r\f\v\u00a0]+")


def tokens(text: str) -> list[str]:
    """Words, with each CJK character a word of its own (no spaces to split on there)."""
    return _TOKEN.findall(text.casefold())


def word_count(text: str) -> tuple[int, int]:
    """``(words, cjk_chars)`` of a text."""
    found = tokens(text)
    cjk = sum(1 for t in found if len(t) == 1 and re.match(f"[{_CJK}]", t))
    return len(found) - cjk, cjk


def paragraphs(text: str) -> list[str]:
    """Non-empty, whitespace-folded lines, consecutive duplicates dropped."""
    out: list[str] = []
    for line in text.split("\n"):
        line = _WS.sub(" ", line).strip()
        if line and (not out or out[-1] != line):
            out.append(line)
    return out


def trafilatura_text(tree: HtmlElement, url: str, *, fast: bool = False) -> str:
    """Body text by trafilatura; empty when it finds nothing or breaks. ``fast``: without its
    second opinions (readability, jusText), its rules only."""
    try:
        doc = trafilatura.bare_extraction(tree, url=url, with_metadata=False, fast=fast)
    except (RecursionError, ValueError, TypeError, AttributeError) as err:
        # Hostile markup (thousands of nested tags) can break it: the caller falls back.
        log.info("trafilatura failed on %s: %r", url, err)
        return ""
    text = doc.get("text") if isinstance(doc, dict) else getattr(doc, "text", None)
    return text or ""


def leaf_block_elements(root: HtmlElement) -> Iterator[HtmlElement]:
    """Innermost block elements under ``root`` in document order, iteratively (no recursion
    limit on deep markup); skipped subtrees (scripts, navigation...) are not entered."""
    stack = [root]
    while stack:
        node = stack.pop()
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in _SKIP:
            continue
        if tag in _BLOCKS and not any(isinstance(c.tag, str) and c.tag in _BLOCKS for c in node):
            yield node
            continue
        stack.extend(reversed([c for c in node if isinstance(c.tag, str)]))


def walk_blocks(root: HtmlElement) -> list[str]:
    """Text of block elements under ``root``, one paragraph per line of each block."""
    out: list[str] = []
    for node in leaf_block_elements(root):
        out.extend(paragraphs(node.text_content()))
    return paragraphs("\n".join(out))


def select_blocks(tree: HtmlElement, selector: str) -> list[str]:
    """Paragraphs under the elements a site's CSS ``body_selector`` picks."""
    out: list[str] = []
    for element in tree.cssselect(selector):
        out.extend(walk_blocks(element))
    return out


def reconcile(paras: list[str], article_body: str) -> tuple[list[str], str]:
    """Use the publisher's own articleBody to drop boilerplate or recover a cut-off body.

    Returns the paragraphs and the source name. articleBody is often a teaser, a stale copy
    or flattened to one line, so it only steers when it broadly agrees with trafilatura.
    """
    ab = Counter(tokens(article_body))
    ab_total = sum(ab.values())
    if not paras:
        return (paragraphs(article_body), "json-ld") if ab_total >= 25 else ([], "none")
    para_tokens = [tokens(p) for p in paras]
    ours_total = sum(len(t) for t in para_tokens)
    if ab_total < 0.5 * ours_total:
        return paras, "trafilatura"  # teaser or summary: tells nothing about boilerplate
    found = sum(sum(1 for t in pt if t in ab) for pt in para_tokens)
    if found < 0.7 * ours_total:
        return paras, "trafilatura"  # a different text: do not trust it
    covered = sum((Counter(t for pt in para_tokens for t in pt) & ab).values())
    if covered < 0.6 * ab_total and article_body.count("\n") >= 3:
        return paragraphs(article_body), "json-ld"  # trafilatura stopped early
    kept = [p for p, pt in zip(paras, para_tokens) if not pt or _share_in(pt, ab) >= 0.5]
    if len(kept) == len(paras):
        return paras, "trafilatura"
    return kept, "trafilatura+json-ld"


def _share_in(words: list[str], bag: Counter[str]) -> float:
    return sum(1 for w in words if w in bag) / len(words)


_CREDIT = re.compile(r"©|\bgetty\b|\bafp\b|\breuters\b|\bdpa\b|\bimago\b|\bshutterstock\b|"
                     r"^(?:foto|photo|bild|image|quelle|source|credit)s?\s*:", re.I)


def drop_chrome(paras: list[str], title: str, authors: list[str],
                headlines: Iterable[str] = ()) -> list[str]:
    """Drop what is page furniture, not article: the headline again (as chosen, or as any of the
    page's other declared headlines: og:title, <title>, <h1>, JSON-LD), bylines, photo credits,
    bare dates, and short lines repeated down the page (consent and embed placeholders)."""
    counts = Counter(paras)
    title_keys = {k for k in (match_key(h) for h in (title, *headlines)) if k}
    author_words = {w for a in authors for w in tokens(a)}
    out = []
    for para in paras:
        words = tokens(para)
        short = len(words) <= 10
        if match_key(para) in title_keys:
            continue
        if counts[para] > 1 and len(para) < 300:
            continue
        if short and (_CREDIT.search(para) or _is_byline(words, author_words) or _is_date_line(para)):
            continue
        out.append(para)
    return out


@lru_cache(maxsize=16384)  # the same paragraphs are keyed by several steps of one page
def match_key(text: str) -> str:
    """Text folded to its tokens, for comparing paragraphs and headlines whatever their spacing."""
    return "".join(tokens(text))


def _is_byline(words: list[str], author_words: set[str]) -> bool:
    if not author_words or not words:
        return False
    return sum(1 for w in words if w in author_words) >= max(1, len(words) - 2)


def _is_date_line(para: str) -> bool:
    digits = sum(ch.isdigit() for ch in para)
    return digits >= 4 and digits >= len(para.replace(" ", "")) * 0.3


_LINK_SHARE = 0.9  # an item this much link text is a teaser or a navigation entry
_MAX_TEASER_CHARS = 300


def linked_items(tree: HtmlElement) -> set[str]:
    """Keys of list items and paragraphs that are (nearly) all link text: teasers, "related"."""
    out: set[str] = set()
    for element in tree.iter("li", "p"):
        links = list(element.iter("a"))
        if not links:  # no link text: not a teaser (and most paragraphs: skip their text)
            continue
        text = _WS.sub(" ", element.text_content()).strip()
        if not text or len(text) > _MAX_TEASER_CHARS:
            continue
        linked = sum(len(a.text_content().strip()) for a in links)
        if linked >= _LINK_SHARE * len(text) or (len(links) == 1 and _is_labelled_link(text, links[0])):
            out.add(match_key(text))
    return out


_LABEL_END = re.compile(r"[:|»>–—-]\s*$")
_MAX_LABEL_WORDS = 5
_MIN_TEASER_WORDS = 4


def _is_labelled_link(text: str, link: HtmlElement) -> bool:
    """"ALSO READ: <a>headline</a>", "LEES OOK | <a>...</a>": a short label, set off by a colon,
    bar or dash, before one link that ends the item (any language: the label is not read)."""
    link_text = _WS.sub(" ", link.text_content()).strip()
    at = text.find(link_text) if link_text else -1
    if at <= 0 or tokens(text[at + len(link_text):]):
        return False
    label = text[:at]
    return (1 <= len(tokens(label)) <= _MAX_LABEL_WORDS and bool(_LABEL_END.search(label))
            and len(tokens(link_text)) >= _MIN_TEASER_WORDS)


# Consent and embed placeholders, subscription and newsletter pitches, share and comment prompts:
# page furniture in many languages, matched only in short paragraphs.
_FURNITURE = re.compile(
    r"cookie|\bconsent\b|(?:ihre|deine|your) (?:zustimmung|einwilligung)|externe[rn]? inhalt|inhalte? von drittanbieter|"
    r"link zum \w+-inhalt|enable javascript|javascript (?:is )?(?:disabled|aktivieren)|"
    r"\bsign up\b|\bsubscribe\b|\bsubscription\b|newsletter|abonnier|\babo\b|kostenlos testen|"
    r"jetzt (?:weiter)?lesen|abonnez|abonnement|suscr[ií]b|assine|iscriviti|abbonati|prenumer|"
    r"follow (?:us|\w+ on)|folgen sie uns|suivez-nous|before commenting|display name|"
    r"有料会員|読み放題|会員登録|訂閱|订阅|구독",
    re.I)
# "Read more" labels standing alone (the teaser they introduce is a link, caught as such).
_MORE_LABEL = re.compile(
    r"^(?:(?:read|see) (?:more|also)|more on this|mehr zum thema|lesen sie (?:auch|mehr)|"
    r"weitere artikel|lire aussi|à lire aussi|leia (?:também|mais)|czytaj (?:więcej|też|także)|"
    r"les også|läs (?:också|mer)|lees ook|leggi anche|lee también|ähnliche)\W*$", re.I)
_MAX_FURNITURE_WORDS = 30


_CJK_PER_WORD = 2.5  # CJK characters (one token each) per word of a spaced language, roughly


def _length(words: list[str]) -> float:
    """Length in words, counting CJK characters at about the weight of a spaced word."""
    cjk = sum(1 for w in words if len(w) == 1 and _CJK_CHAR.match(w))
    return len(words) - cjk + cjk / _CJK_PER_WORD


_CJK_CHAR = re.compile(f"[{_CJK}]")


def drop_furniture(paras: list[str], linked: set[str]) -> list[str]:
    """Drop teaser links (paragraphs the page sets as links) and well-known furniture phrases."""
    out = []
    for para in paras:
        words = tokens(para)
        if words and match_key(para) in linked:
            continue
        bare = para.lstrip("-•*> ")
        if _MORE_LABEL.match(bare):
            continue
        if _length(words) <= _MAX_FURNITURE_WORDS and _FURNITURE.search(bare):
            continue
        out.append(para)
    return out


# The standfirst (lead, dek, teaser text) under the headline: trafilatura often leaves it out as
# page header, yet it is the first paragraph of the article. Pages declare it as their description.
_LEAD_TAGS = ("p", "div", "span", "h2", "h3", "h4", "strong", "b", "em")
_NOT_LEAD = {"a", "nav", "footer", "aside", "button", "form", "figcaption", "li", "script", "style",
             "noscript", "template", "head", "title"}
_MIN_LEAD_WORDS = 6
_MAX_LEAD_CHECKS = 50  # elements whose full text is compared, per description


def lead_paragraph(tree: HtmlElement, descriptions: list[str], text: str) -> str | None:
    """The description the page shows as a paragraph of its own, when ``text`` lacks it.

    Only an element whose whole text is the description (give or take a trailing ellipsis or
    a few words) counts: a description that is only metadata, or that sits inside a link, a
    list, a caption or the navigation, is not part of the article.
    """
    text_key = match_key(text)
    text_grams: set[tuple[str, ...]] | None = None
    for description in descriptions:
        key = match_key(description.rstrip(".… "))
        if len(tokens(description)) < _MIN_LEAD_WORDS or key in text_key:
            continue
        if text_grams is None:
            text_grams = _trigrams(tokens(text))
        if _share_known(tokens(description), text_grams) >= _SEEN_SHARE:
            continue  # already there, set a little differently (ruby readings, other quotes)
        head, checks = key[:20], 0
        for element in tree.iter(_LEAD_TAGS):
            if len(element.text or "") < 8:  # its key (never longer than the text) is too short
                continue
            own = match_key(element.text)
            if len(own) < 8 or not (head.startswith(own[:20]) or own.startswith(head)):
                continue
            checks += 1
            if checks > _MAX_LEAD_CHECKS:
                break
            shown = " ".join(element.text_content().split())
            shown_key = match_key(shown)
            if key in shown_key and len(shown_key) <= 1.3 * len(key) + 20 and not any(
                    isinstance(a.tag, str) and a.tag in _NOT_LEAD for a in element.iterancestors()):
                if shown_key in text_key or _share_known(tokens(shown), text_grams) >= _SEEN_SHARE:
                    return None
                return shown
    return None


_SEEN_SHARE = 0.6  # this share of a lead's word trigrams in the body: the body has it already


def _trigrams(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def _share_known(words: list[str], grams: set[tuple[str, ...]]) -> float:
    own = _trigrams(words)
    return len(own & grams) / len(own) if own else 1.0


# A second opinion where trafilatura stopped early: it keeps the paragraphs of one container but
# can stop (or start late) at a box set inside it (a teaser, a widget). When its paragraphs sit in
# one element that holds clearly more running text than it kept, and not a whole page's worth,
# that element's own paragraphs are the body.
_MIN_MATCHED = 3  # output paragraphs found in the markup before their container is trusted
_MIN_GAIN = 0.2  # added text, as a share of the output, worth a second opinion
_CODE = ("script", "style", "noscript", "template")
_SCOPE_UP = 5  # levels above the paragraphs' common ancestor searched for more of them
_MIN_ADDED_TOKENS = 5  # shorter blocks of the same kind are labels, not paragraphs
_MIN_MATCH_SHARE = 0.8  # share of the output (in tokens) found as blocks of the container


class Block(NamedTuple):
    """An innermost block element of the page, its lines, and their match keys (computed once)."""

    element: HtmlElement
    lines: list[str]
    line_keys: list[str]
    key: str  # of the whole block, its lines joined by spaces

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def leaf_lines(root: HtmlElement) -> list[Block]:
    """Innermost block elements under ``root`` with their lines, in document order, empty ones left
    out: one walk over the page, shared by the steps that find kept paragraphs in the markup."""
    out: list[Block] = []
    for node in leaf_block_elements(root):
        lines = paragraphs(node.text_content())
        if lines:
            keys = [match_key(line) for line in lines]
            out.append(Block(node, lines, keys, "".join(keys)))
    return out


def _within(blocks: list[Block], container: HtmlElement) -> list[Block]:
    """The blocks inside ``container`` (or the container itself), in document order."""
    return [b for b in blocks if b.element is container or container in b.element.iterancestors()]


def _common_ancestor(elements: list[HtmlElement]) -> HtmlElement | None:
    first = [elements[0], *elements[0].iterancestors()]
    shared = set(first)
    for element in elements[1:]:
        shared &= {element, *element.iterancestors()}
    return next((e for e in first if e in shared), None)


def block_kind(element: HtmlElement) -> tuple[str, str, str, str]:
    """Tag and class of a block, with its parent's tag (and the parent's class, for a bare block)."""
    parent = element.getparent()
    own = element.get("class") or ""
    ptag = parent.tag if parent is not None else ""
    pclass = (parent.get("class") or "") if parent is not None and not own else ""
    return element.tag, own, ptag, pclass


def fill_container(tree: HtmlElement, paras: list[str], blocks: list[Block] | None = None) -> list[str] | None:
    """``paras`` with the paragraphs it left out of its own kind (same markup as the ones it kept)
    in the element that holds them all, in page order; None when there are none worth adding.
    ``blocks``: the page's ``leaf_lines``, when the caller has them."""
    if len(paras) < _MIN_MATCHED:
        return None
    if blocks is None:
        blocks = leaf_lines(tree)
    by_key: dict[str, HtmlElement] = {}
    for block in blocks:
        by_key.setdefault(block.key, block.element)
    keys = [match_key(p) for p in paras]
    matched, matched_tokens, total = [], 0, 0
    for para, key in zip(paras, keys):
        n = len(tokens(para))
        total += n
        if key in by_key:
            matched.append(by_key[key])
            matched_tokens += n
    if len(matched) < _MIN_MATCHED or matched_tokens < _MIN_MATCH_SHARE * total:
        return None
    container = _common_ancestor(matched)
    if container is None:
        return None
    container = _scope(container)
    seen = Counter(block_kind(e) for e in matched)
    kinds = {k for k, n in seen.items() if n >= 2}
    have = set(keys)
    out, added = [], 0
    for block in _within(blocks, container):
        if block.key in have:
            out.append(block.text)
            have.discard(block.key)
        elif (block_kind(block.element) in kinds and len(tokens(block.text)) >= _MIN_ADDED_TOKENS
              and next(block.element.iter(_CODE), None) is None):
            out.append(block.text)
            added += len(tokens(block.text))
    if added < _MIN_GAIN * total:
        return None
    first = keys.index(match_key(out[0])) if match_key(out[0]) in keys else 0
    head = [p for p, k in zip(paras[:first], keys[:first]) if k in have]
    tail = [p for p, k in zip(paras[first:], keys[first:]) if k in have]
    return paragraphs("\n".join(head + out + tail))


def _scope(element: HtmlElement) -> HtmlElement:
    for _ in range(_SCOPE_UP):
        parent = element.getparent()
        if parent is None or parent.tag in ("body", "html", "main"):
            break
        element = parent
    return element


def drop_other_articles(tree: HtmlElement, paras: list[str], headlines: list[str],
                        blocks: list[Block] | None = None) -> list[str]:
    """Drop the paragraphs of the other articles on the page (an endless scroll appends the next
    stories, each an <article> with its own <h1>, side by side or inside one wrapping <article>):
    those found in them and not in the article whose <h1> is the page's headline (or the first).
    ``blocks``: the page's ``leaf_lines``, when the caller has them."""
    with_headline = [a for a in tree.iter("article") if next(a.iter("h1"), None) is not None]
    ids = {id(a) for a in with_headline}
    # The innermost ones: a wrapper holding the stories is not a story of its own.
    articles = [a for a in with_headline if not any(id(b) in ids for b in a.iter("article") if b is not a)]
    if len(articles) < 2:
        return paras
    wanted = {k for k in map(match_key, headlines) if k}
    main = next((a for a in articles if match_key(next(a.iter("h1")).text_content()) in wanted), articles[0])
    if blocks is None:
        blocks = leaf_lines(tree)
    own = {block.key for block in _within(blocks, main)}
    other = {block.key for a in articles if a is not main for block in _within(blocks, a)} - own
    if not other:
        return paras
    return [p for p in paras if match_key(p) not in other]
