"""Cleaning and splitting text into units a translation model can take.

Paragraphs are split into sentences (full-width 。！？ and closing quotes for Chinese and
Japanese; ``.!?`` followed by a capital elsewhere, minding abbreviations, initials and
numbers); sentences still too long for the model are split on commas, then spaces, then into
character windows, so that nothing is ever truncated.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

_CJK_END = "。！？｡"
_CLOSERS = "」』”’）)]】》〉\"'»›"
_TERMINATOR = re.compile(rf"([{_CJK_END}]+|[.!?…]+|[!?！？]+)([{re.escape(_CLOSERS)}]*)")
_CLAUSE = re.compile(r"(?<=[,;:，、；：])")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_INITIALS = re.compile(r"^(?:[^\W\d_]\.)+[^\W\d_]?$")
_ABBREVIATIONS = {
    "en": {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "gen", "gov", "sen", "rep",
           "col", "lt", "sgt", "capt", "vs", "no", "fig", "approx", "dept", "est", "jan", "feb",
           "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "e.g", "i.e"},
    "de": {"dr", "prof", "hr", "fr", "nr", "bzw", "ca", "vgl", "evtl", "ggf", "inkl", "str",
           "st", "z.b", "d.h", "u.a", "o.ä", "s.o", "u.u", "bspw", "abs", "jh", "mio", "mrd"},
    "fr": {"m", "mm", "mme", "mlle", "dr", "pr", "p.ex", "env", "av", "bd", "st", "ste"},
    "es": {"sr", "sra", "srta", "dr", "dra", "ud", "uds", "av", "p.ej", "núm"},
}
_COMMON = set().union(*_ABBREVIATIONS.values())
_MONTHS_DE = {"januar", "jänner", "februar", "märz", "april", "mai", "juni", "juli", "august",
              "september", "oktober", "november", "dezember"}


def clean(text: str) -> str:
    """Strip control characters; tabs and other whitespace controls become a space."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in "\t\n\r\v\f\x85":
            out.append(" ")
        elif unicodedata.category(ch) != "Cc":
            out.append(ch)
    return "".join(out)


def needs_translation(text: str) -> bool:
    """True when ``text`` holds a letter: digits, punctuation and emoji pass through as they are."""
    return any(unicodedata.category(ch).startswith("L") for ch in text)


def split_sentences(text: str, language: str = "") -> list[str]:
    """Split a paragraph into stripped, non-empty sentences."""
    lang = language.split("-")[0].split("_")[0].lower()
    sentences, start = [], 0
    for match in _TERMINATOR.finditer(text):
        end = match.end()
        if _ends_sentence(text, match, lang):
            piece = text[start:end].strip()
            if piece:
                sentences.append(piece)
            start = end
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _ends_sentence(text: str, match: re.Match[str], lang: str) -> bool:
    mark, end = match.group(1), match.end()
    if mark[0] in _CJK_END:
        # 「…。」と言った: a quote closed and carried on ("she said") is one sentence
        return not (match.group(2) and text[end : end + 1] in ("と", "，", ","))
    if end >= len(text):
        return True
    following = text[end]
    if not following.isspace():
        # "好!我们走" - half-width ! or ? straight into CJK text still ends a sentence
        return mark[-1] in "!?！？" and bool(_CJK.match(following))
    rest = text[end:].lstrip()
    if not rest:
        return True
    nxt = rest[0]
    if nxt.islower():
        return False
    if mark == ".":
        word = text[: match.start()].rsplit(None, 1)[-1] if text[: match.start()].strip() else ""
        return not _is_abbreviation(word, lang, rest)
    return True


def _is_abbreviation(word: str, lang: str, rest: str) -> bool:
    word = word.lstrip("(\"'“‘«")
    lowered = word.lower()
    if lowered in _ABBREVIATIONS.get(lang, _COMMON) or (lang not in _ABBREVIATIONS and lowered in _COMMON):
        return True
    if len(word) == 1 and word.isalpha() and word.isupper():
        return True  # an initial: "J. Smith"
    if _INITIALS.match(word) and "." in word:
        return True  # "U.S.", "z.B."
    if lang == "de" and word.isdigit() and len(word) <= 2:
        next_word = re.split(r"\W", rest, maxsplit=1)[0].lower()
        return next_word in _MONTHS_DE or not rest[:1].isupper()
    return False


def split_long(sentence: str, count: Callable[[str], int], limit: int) -> list[str]:
    """Split ``sentence`` into pieces of at most ``limit`` tokens, keeping every character.

    Tries clause boundaries (commas, semicolons, colons), then spaces, then character windows.
    """
    if count(sentence) <= limit:
        return [sentence]
    for splitter in (_clauses, _words):
        parts = splitter(sentence)
        if len(parts) > 1:
            return _pack(parts, count, limit)
    return _windows(sentence, count, limit)


def _clauses(text: str) -> list[str]:
    return [p for p in _CLAUSE.split(text) if p]


def _words(text: str) -> list[str]:
    return [p for p in re.split(r"(?<=\s)(?=\S)", text) if p]


def _pack(parts: list[str], count: Callable[[str], int], limit: int) -> list[str]:
    """Greedily join consecutive parts while they fit; parts too long alone are split further."""
    out: list[str] = []
    current = ""
    for part in parts:
        if current and count(current + part) <= limit:
            current += part
            continue
        if current:
            out.append(current)
        current = ""
        if count(part) <= limit:
            current = part
        else:
            out.extend(split_long(part, count, limit))
    if current:
        out.append(current)
    return [p.strip() for p in out if p.strip()]


def _windows(text: str, count: Callable[[str], int], limit: int) -> list[str]:
    out, start, size = [], 0, max(1, limit)
    while start < len(text):
        window = text[start : start + size]
        while len(window) > 1 and count(window) > limit:
            window = window[: len(window) // 2]
        out.append(window)
        start += len(window)
    return [w.strip() for w in out if w.strip()]
