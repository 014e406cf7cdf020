"""Boilerplate after extraction, by structure alone: blocks that trail the article's container.

Trafilatura keeps the article's container and, on many pages, blocks that follow it elsewhere in
the page: a "more from" list, a newsletter box, comments, an author card, a copyright line. Those
sit outside the element that holds nearly all of the text it kept, and are set in other markup
than the article's paragraphs, so no word list of any language is needed to find them.
"""

from __future__ import annotations

import re
from collections import Counter

from lxml.html import HtmlElement

from workers.extraction.body import Block, block_kind, match_key, tokens

CORE_SHARE = 0.8  # the container: the deepest element holding this share of the located text
MIN_LOCATED = 0.6  # share of the text found as blocks of the page before its structure is trusted
MIN_SAME_KIND = 2  # blocks of one markup inside the container that make it the article's own


def drop_trailing_outside(paras: list[str], blocks: list[Block]) -> list[str]:
    """``paras`` less the paragraphs after the article's last one that lie outside its container.

    The article is the container's paragraphs, and any later paragraph set in the same markup as
    at least two of them (the text goes on after an ad slot or in a box of its own). Only the
    tail is cut, from the first such block on: a standfirst or a summary above the container
    belongs to the article. ``blocks``: the page's ``body.leaf_lines``.
    """
    sizes = [len(tokens(p)) for p in paras]
    elements = _located(blocks, paras)
    located = sum(s for s, e in zip(sizes, elements) if e is not None)
    if not paras or located < MIN_LOCATED * sum(sizes):
        return paras
    core = _core(elements, sizes)
    if core is None:
        return paras
    inside = [e is not None and (e is core or core in e.iterancestors()) for e in elements]
    kinds = Counter(block_kind(e) for e, i in zip(elements, inside) if i and e is not None)
    article = [i or (e is not None and kinds[block_kind(e)] >= MIN_SAME_KIND)
               for e, i in zip(elements, inside)]
    if not any(article):
        return paras
    last = len(paras) - 1 - article[::-1].index(True)
    # Lines not found as blocks (teaser headlines set as bare links) go with the blocks around them.
    first_out = next((n for n, e in enumerate(elements) if n > last and e is not None), len(paras))
    return paras[:first_out]


# Readers' comments are nobody's article, in any gold: the block sits in an element that names
# itself so ("comments", "comment-list", "xenforo-comment", "disqus_thread"). Page-wide wrappers
# carry state flags that say the same words ("has-comments", "comments-open") and are not asked.
_COMMENT_PARTS = frozenset({"comment", "comments", "commentlist", "disqus"})
_NAME_PARTS = re.compile(r"[-_\s]+")
_WRAPPERS = frozenset({"html", "body", "main", "article"})
MAX_COMMENT_SHARE = 0.4  # past this share of the text, a "comment" name is the page's, not a section's


def drop_comments(paras: list[str], blocks: list[Block]) -> list[str]:
    """``paras`` less those found in a readers' comment section (trafilatura knows only some)."""
    elements = _located(blocks, paras)
    asked: dict[HtmlElement, bool] = {}
    dropped = [e is not None and _in_comments(e, asked) for e in elements]
    sizes = [len(tokens(p)) for p in paras]
    if not any(dropped) or sum(s for s, d in zip(sizes, dropped) if d) > MAX_COMMENT_SHARE * sum(sizes):
        return paras
    return [p for p, d in zip(paras, dropped) if not d]


def _in_comments(element: HtmlElement, asked: dict[HtmlElement, bool]) -> bool:
    chain = [element, *element.iterancestors()]
    for n, node in enumerate(chain):
        if node in asked:
            found = asked[node]
            break
        if node.tag not in _WRAPPERS and any(
                part in _COMMENT_PARTS
                for name in (node.get("class"), node.get("id")) if name
                for part in _NAME_PARTS.split(name.lower())):
            found = True
            break
    else:
        found, n = False, len(chain)
    for node in chain[:n]:
        asked[node] = found
    return found


def _located(blocks: list[Block], paras: list[str]) -> list[HtmlElement | None]:
    """The block element each paragraph was found in (by its folded text), or None."""
    by_key: dict[str, HtmlElement] = {}
    for block in blocks:
        for key in block.line_keys:
            by_key.setdefault(key, block.element)
    return [by_key.get(match_key(p)) for p in paras]


def _core(elements: list[HtmlElement | None], sizes: list[int]) -> HtmlElement | None:
    """The deepest element whose blocks hold CORE_SHARE of the located text."""
    weight: Counter[HtmlElement] = Counter()
    depth: dict[HtmlElement, int] = {}
    total = 0
    for element, size in zip(elements, sizes):
        if element is None:
            continue
        total += size
        for level, ancestor in enumerate(reversed([element, *element.iterancestors()])):
            weight[ancestor] += size
            depth[ancestor] = level
    held = [e for e, w in weight.items() if w >= CORE_SHARE * total]
    return max(held, key=depth.__getitem__, default=None)
