"""Article text a page ships as data, not markup: a JSON-LD articleBody written as HTML, and the
JSON payloads of script-rendered pages (Next.js ``__NEXT_DATA__``), for pages whose markup has none."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

import lxml.html
from lxml.etree import ParserError
from lxml.html import HtmlElement

from workers.extraction.body import tokens, walk_blocks

_TAG = re.compile(r"<\s*/?\s*(?:p|div|br|h[1-6]|figure|img|ul|li|blockquote|span|a|em|strong)\b[^>]*>", re.I)
_WP_COMMENT = re.compile(r"<!--.*?-->", re.S)


def as_text(value: str) -> str:
    """A text field that may hold (escaped) HTML, as plain paragraphs one a line.

    WordPress sites put the post's raw content into articleBody: escaped tags and block comments
    (``&lt;!-- wp:image --&gt;&lt;p&gt;...``), which read as text would be all markup.
    """
    for _ in range(3):  # escaped once, twice or more; each round undoes one level
        if "&lt;" not in value and "&amp;" not in value:
            break
        value = html.unescape(value)
    if not _TAG.search(value):
        return value
    value = _WP_COMMENT.sub("", value)
    try:
        root = lxml.html.fragment_fromstring(value, create_parent="div")
    except (ParserError, ValueError):
        return value
    found = walk_blocks(root)  # block elements only: a bare <style> or <script> snippet gives none
    return "\n".join(found) if found else ""


# Script-rendered pages (Next.js, Nuxt) ship the article as JSON: a list of blocks (paragraph
# nodes holding text runs and links) or one string of HTML. The candidate is the JSON list, or
# string, with the most paragraphs that read as sentences; the caller only takes it where it
# agrees with, and goes beyond, what the markup gave (``body.reconcile``).
_PAYLOAD_IDS = ("__NEXT_DATA__", "__NUXT_DATA__")
_NOT_TEXT_KEYS = {"type", "id", "url", "href", "src", "uri", "slug", "__typename", "class", "classname",
                  "style", "style_", "key", "name", "alt", "width", "height", "format", "mimetype"}
_MIN_SENTENCE_WORDS = 8
_MIN_PARAGRAPHS = 3
_MAX_NODES = 200_000  # bounds the walk over a hostile or huge payload
_MAX_PAYLOAD_CHARS = 5_000_000


def script_paragraphs(tree: HtmlElement) -> list[str]:
    """The article paragraphs of a page's JSON payload, or [] when it has none that read as one."""
    best: list[str] = []
    for script in tree.iter("script"):
        if script.get("id") not in _PAYLOAD_IDS or not script.text:
            continue
        if len(script.text) > _MAX_PAYLOAD_CHARS:
            continue
        try:
            data = json.loads(script.text)
        except (ValueError, RecursionError):
            continue
        found = _best_paragraphs(data)
        if _sentences(found) > _sentences(best):
            best = found
    return best if _sentences(best) >= _MIN_PARAGRAPHS else []


def _sentences(paras: list[str]) -> int:
    """Paragraphs that read as prose: enough words, and no braces (CSS, scripts, templates)."""
    return sum(1 for p in paras if len(tokens(p)) >= _MIN_SENTENCE_WORDS and "{" not in p)


def _best_paragraphs(data: Any) -> list[str]:
    best: list[str] = []
    for node in _nodes(data):
        if isinstance(node, list):
            found = [" ".join(_runs(item)) for item in node]
            # A one-word block is a marker (an ad slot, a "top" anchor), not a paragraph.
            found = [p for p in (" ".join(f.split()) for f in found) if len(tokens(p)) >= 2]
        elif isinstance(node, str) and len(node) > 500 and _TAG.search(node):
            found = as_text(node).split("\n")
        else:
            continue
        if _sentences(found) > _sentences(best):
            best = found
    return best


def _nodes(data: Any) -> Iterator[Any]:
    stack, seen = [data], 0
    while stack and seen < _MAX_NODES:
        node = stack.pop()
        seen += 1
        yield node
        if isinstance(node, dict):
            stack.extend(v for k, v in node.items() if k.lower() not in _NOT_TEXT_KEYS)
        elif isinstance(node, list):
            stack.extend(node)


def _runs(node: Any, depth: int = 0) -> Iterator[str]:
    """The text runs of one block, in order (a paragraph's text, its links' text...)."""
    if depth > 8:
        return
    if isinstance(node, str):
        if not node.startswith(("http://", "https://", "/")) and "<" not in node:
            yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key.lower() not in _NOT_TEXT_KEYS:
                yield from _runs(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            yield from _runs(value, depth + 1)
