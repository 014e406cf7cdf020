"""What a page sets into or under an article that is not its text: posts embedded from social
networks, and the author's note that closes it ("Jane Doe is a reporter covering ...").

Both are found by what the page itself declares (the networks' own embed markup, the article's
authors), not by word lists, so they hold in every language.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from workers.extraction.body import match_key, tokens

# The class names the networks' embed codes give their <blockquote> before their script renders it.
_EMBED_CLASS = re.compile(r"\b(?:twitter-tweet|twitter-video|instagram-media|tiktok-embed|reddit-card|"
                          r"bluesky-embed|text-post-media)\b")
_MIN_EMBED_KEY = 8  # a shorter line ("Lol", a bare date) matches inside any post by chance
_MAX_SCAN_CHARS = 50_000_000  # paragraphs x post text searched; bounds a hostile page's cost
_MAX_NOTE_WORDS = 80
_NOTE_LINES = 2  # the author's note is the last or next-to-last paragraph (a "follow" line may trail)


def embedded_posts(tree: HtmlElement) -> list[str]:
    """The folded text of each social-network post embedded in the page."""
    return [match_key(quote.text_content()) for quote in tree.iter("blockquote")
            if _EMBED_CLASS.search(quote.get("class") or "")]


def drop_embedded_posts(paras: list[str], posts: list[str]) -> list[str]:
    """``paras`` less the lines of embedded posts (the post's text, its "— Name (@handle) date")."""
    if not posts:
        return paras
    joined = "\n".join(posts)  # keys hold no newline: a match never spans two posts
    if len(joined) * len(paras) > _MAX_SCAN_CHARS:  # a feed of thousands of posts: whole posts only
        whole = set(posts)
        return [p for p in paras if match_key(p) not in whole]
    return [p for p in paras if not ((key := match_key(p)) and len(key) >= _MIN_EMBED_KEY and key in joined)]


def drop_author_note(paras: list[str], authors: list[str]) -> list[str]:
    """``paras`` cut before a closing paragraph that starts with an author's full name.

    Such a paragraph is the author's card ("Jane Doe is a senior reporter ...", "Jane Doe ist
    Korrespondentin ..."): measured on publishers it was not written for, every page it changed
    came closer to the publisher's own article text.
    """
    names = [a for a in authors if len(tokens(a)) >= 2]
    if not names or len(paras) <= _NOTE_LINES:
        return paras
    for at in range(len(paras) - 1, len(paras) - 1 - _NOTE_LINES, -1):
        para = paras[at]
        if len(tokens(para)) <= _MAX_NOTE_WORDS and any(para.startswith(name) for name in names):
            return paras[:at]
    return paras
