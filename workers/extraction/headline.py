"""The headline itself: a kicker, section or byline that only some of a page's titles carry, left out."""

from __future__ import annotations

import re

# A kicker ("Evergrande: ...", "Vierschanzentournee | ...") or a section (" | Sport") set off
# from the headline by a separator; a colon counts here, unlike in site-name stripping.
_KICKER_END = re.compile(r"(?:\s+[|\-–—·•/]{1,2}|\s*[:|｜：])\s*$")
_SECTION_START = re.compile(r"^(?:\s+[|\-–—·•/]{1,2}\s+|\s*[|｜]\s*)")
_MIN_CORE_WORDS = 3


def headline_core(title: str, others: list[str], source: str) -> tuple[str, str]:
    """The headline without a kicker or section label that only some of the page's titles carry.

    Publishers put a kicker or a section before or after the headline in some places (JSON-LD,
    <title>, <h1>) and not in others. ``others`` are the titles declared for sharing (og:title,
    twitter:title), which publishers write as the bare headline: when one equals ours less such
    a separated segment, it is the headline itself. A bare <h1> is not enough, since many sites
    set the kicker in its own element above it.
    """
    best = title
    for other in others:
        core = separated_core(title, other)
        if core and len(core) < len(best):
            best = core
    return best, (source if best == title else f"{source}+core")


def separated_core(longer: str, shorter: str) -> str | None:
    if len(shorter.split()) < _MIN_CORE_WORDS or len(shorter) >= len(longer):
        return None
    at = fold(longer).find(fold(shorter))
    if at < 0:
        return None
    before, after = longer[:at], longer[at + len(shorter):]
    if before and not _KICKER_END.search(before):
        return None
    if after and not _SECTION_START.match(after):
        return None
    return longer[at:at + len(shorter)].strip()


def untruncated(title: str, others: list[str]) -> str:
    """og:title cut at a straight quote its attribute did not escape ('Sieger und "royaler
    Besuch"' read as 'Sieger und'): the other title that goes on from there with the quote."""
    for other in others:
        rest = other[len(title):]
        if rest.lstrip().startswith('"') and fold(other).startswith(fold(title)):
            return other
    return title


# Where a kicker may end: "Kicker: ", "Kicker - ", "Kicker | ".
_WORD = re.compile(r"\w+")
_KICKER_SEP = re.compile(r"(?:\s+[|\-–—·•/]{1,2}|\s*[:|｜：])\s+")


def shared_tail(title: str, other: str) -> str | None:
    """The headline two titles share after unrelated kickers ("Iran: X" and "Mideast - X": "X").

    Only a kicker before the first separator of each, and only when the two kickers share no
    word: a reworded kicker ("Harris in Canada" / "Harris' Canadian ties") is a headline part.
    """
    mine, theirs = _KICKER_SEP.search(title), _KICKER_SEP.search(other)
    if not mine or not theirs:
        return None
    tail = title[mine.end():].strip()
    if len(tail.split()) < _MIN_CORE_WORDS or fold(other[theirs.end():].strip()) != fold(tail):
        return None
    words = set(_WORD.findall(fold(title[:mine.start()])))
    if not words or words & set(_WORD.findall(fold(other[:theirs.start()]))):
        return None
    return tail


def fold(text: str) -> str:
    return text.casefold().replace("\u2019", "'")


# A section label ("Opinion | ...", "... - Politics") the social title carries and the visible
# headline does not. Longer segments are headline parts ("... - with their final show
# weeks away"), and a colon kicker is kept: publishers' parsers keep those about half the time.
_PIPE_END = re.compile(r"\s*[|｜]\s*$")
_MAX_SECTION_WORDS = 4


def section_core(title: str, confirmers: list[str]) -> str | None:
    """``title`` less a short section label, when another of the page's headlines is the rest."""
    for other in confirmers:
        if len(other.split()) < _MIN_CORE_WORDS or len(other) >= len(title):
            continue
        at = fold(title).find(fold(other))
        if at < 0:
            continue
        before, after = title[:at], title[at + len(other):]
        label = before if before else after
        if before and after or len(_WORD.findall(label)) > _MAX_SECTION_WORDS:
            continue
        if (before and _PIPE_END.search(before)) or (after and _SECTION_START.match(after)):
            return title[at:at + len(other)].strip()
    return None

