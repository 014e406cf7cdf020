"""Rules of the extractor that bench/extract.py can switch off, each with the publishers it was
written for: a rule counts only if it helps publishers it was not written for.

``python bench/extract.py --rules`` scores every corpus once as it is and once per rule with that
rule off, on the pages of the other publishers only (leave the rule's own publishers out), and
prints the difference. Rules land only with a positive difference there. ``written_for`` names
publishers as the bench does (the gold's publisher, else the host without ``www.``).
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Iterator
from unittest import mock


@dataclass(frozen=True)
class Rule:
    name: str
    written_for: frozenset[str]  # publishers whose pages were read while writing it
    target: str  # "module:attribute" replaced to switch the rule off
    off: Any  # what stands in for it


def _none(*_args: Any, **_kwargs: Any) -> None:
    return None


RULES = (
    Rule("title: section label other headlines lack",
         frozenset({"washingtonpost.com", "bbcamerica.com"}),
         "workers.extraction.metadata:section_core", _none),
    Rule("title: a site name inside a segment only when the segment is short",
         frozenset({"kotaku.com"}), "workers.extraction.fields:_MAX_NAME_WORDS", 10**6),
    Rule("body: JSON-LD articleBody written as (escaped) HTML read as text",
         frozenset({"technology.inquirer.net"}), "workers.extraction.embedded:as_text", lambda value: value),
    Rule("body: article paragraphs of a Next.js/Nuxt JSON payload", frozenset({"bloomberg.com"}),
         "workers.extraction.embedded:script_paragraphs", lambda tree: []),
    # Written from the misses of tuning publishers only (and checked on the held-out halves).
    Rule("body: paragraphs trailing the article's container, in other markup",
         frozenset({"townhall.com", "maximumpc.com", "latimes.com", "technologyreview.com", "techcrunch.com",
                    "news.sky.com", "phys.org", "topgear.com", "TheNation", "nj.com", "Haberturk",
                    "bostonglobe.com", "businessinsider.com", "redstate.com", "Golem", "ABC",
                    "sciencedaily.com", "autoblog.com", "smh.com.au"}),
         "workers.extraction.boilerplate:drop_trailing_outside", lambda paras, blocks: paras),
    # Third round: written from the misses of these publishers, on all three corpora.
    Rule("body: lines of social-network posts embedded in the article", frozenset({"TheGatewayPundit"}),
         "workers.extraction.inserts:drop_embedded_posts", lambda paras, posts: paras),
    Rule("body: 'LABEL: <one link>' teaser lines", frozenset({"TheCitizen", "EyethuNews"}),
         "workers.extraction.body:_is_labelled_link", lambda text, link: False),
    Rule("body: closing paragraph that starts with an author's name", frozenset({"OccupyDemocrats", "ZDF"}),
         "workers.extraction.inserts:drop_author_note", lambda paras, authors: paras),
    Rule("body: the other stories of an endless scroll (side by side or in one wrapping <article>)",
         frozenset({"newrepublic.com"}), "workers.extraction.body:drop_other_articles",
         lambda tree, paras, headlines, blocks=None: paras),
    Rule("body: paragraphs inside a readers' comment section", frozenset({"maximumpc.com"}),
         "workers.extraction.boilerplate:drop_comments", lambda paras, blocks: paras),
    # Fifth round: no page was read for it; off = trafilatura's second opinions on every page.
    Rule("body: trafilatura's readability/jusText second opinions only where the article is short",
         frozenset(), "workers.extraction.combine:_short", lambda paras: True),
)


@contextmanager
def switched_off(rules: tuple[Rule, ...]) -> Iterator[None]:
    with ExitStack() as stack:
        for rule in rules:
            module, attribute = rule.target.split(":")
            stack.enter_context(mock.patch(f"{module}.{attribute}", rule.off))
        yield
