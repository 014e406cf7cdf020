"""What an article is about (weighted terms of its English title and text) and its shape.

A term's weight is how rare the word is in the language (wordfreq's Zipf frequency: 7 for "the",
about 3 for "Xinjiang", 0 for a word it has never seen), so the names, places and numbers that make
a story a story weigh most and function words nothing — a fixed background, the same on every
worker and every day, with no document counts to keep. Words are stemmed (Snowball, PyStemmer) so
that "elections" meets "election"; title words count twice. Articles without English are
described in their own language, their terms tagged with it, so they meet only their own
language until they are translated.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

MAX_TERMS = 200  # the whole text's terms: a translation keeps its details, a second report does not
POSTED_TERMS = 30  # the heaviest, by which candidates are found
TITLE_WEIGHT = 2.0
NAME_WEIGHT = 1.5  # a capitalised word inside a sentence: a name
NUMBER_WEIGHT = 3.0
MIN_WEIGHT = 1.2  # rarity below this (Zipf above ~5.8: "said", "year", "new") is no evidence
CEILING = 7.0  # rarity = CEILING - Zipf frequency

# A word or a number, and the full stop, "!" or "?" that may follow it (a space between allowed).
_WORD = re.compile(r"([^\W\d_][\w'’-]*|\d[\d.,:]*\d|\d)(?=(\s?[.!?])?)", re.UNICODE)
_DIGIT, _NOT_DIGIT = re.compile(r"\d"), re.compile(r"\D")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
# wordfreq's tokenizer for these needs extra packages (jieba, mecab); their terms weigh evenly.
_UNWEIGHED = {"zh", "ja", "ko", "th", "my", "km", "lo"}
_STEMMERS = {"en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian",
             "pt": "portuguese", "nl": "dutch", "sv": "swedish", "no": "norwegian", "da": "danish",
             "fi": "finnish", "ru": "russian", "tr": "turkish", "hu": "hungarian", "ro": "romanian"}


@functools.cache
def _stemmer(language: str) -> object | None:
    import Stemmer

    name = _STEMMERS.get(language)
    return Stemmer.Stemmer(name) if name else None


@functools.cache
def _frequencies(language: str) -> dict[str, float] | None:
    """wordfreq's frequency of each word it lists in ``language``, loaded once (None: no list)."""
    import wordfreq

    try:
        return wordfreq.get_frequency_dict(language, "best")  # the key wordfreq's own lookups cache it under
    except (LookupError, ValueError):
        return None


def rarity(word: str, language: str) -> float:
    """CEILING minus the word's Zipf frequency, as ``wordfreq.zipf_frequency`` gives it.

    A word listed as it is (nine in ten) is read from the frequency table with wordfreq's rounding,
    and an unlisted lower-case ASCII word is Zipf 0; only the others go through its tokenizer, which
    was half the stage's time. (Checked: the same values for the 6.2M words listed in 20 languages
    and 10,000 random unlisted ASCII words in all 42.)
    """
    if language in _UNWEIGHED:
        return 3.0
    language = "nb" if language == "no" else language
    freqs = _frequencies(language)
    if freqs is None:
        return 3.0
    freq = freqs.get(word)
    if freq is not None and not _DIGIT.search(word):  # wordfreq smashes digits and weighs them apart
        freq = round(freq, math.floor(-math.log(freq, 10)) + 3)  # three significant digits
        return max(0.0, CEILING - round(math.log(freq, 10) + 9, 2))
    if freq is None and word.isascii() and word.isalpha():  # its tokenizer leaves such a word as it is
        return CEILING  # unlisted: Zipf 0
    import wordfreq

    try:
        zipf = wordfreq.zipf_frequency(word, language)
    except (LookupError, ValueError):
        return 3.0
    return max(0.0, CEILING - zipf)


@functools.lru_cache(maxsize=200_000)
def _term(token: str, language: str) -> tuple[str, float, bool] | None:
    """A token's term (stemmed, tagged; ``#`` and its digits for a number), its weight and whether it
    is capitalised; None for a token that is no evidence."""
    if token[0].isdigit():
        digits = _NOT_DIGIT.sub("", token)  # "3" is noise; "2019", "45,000" and "7:30" are evidence
        return ("#" + digits, NUMBER_WEIGHT, False) if len(digits) >= 2 else None
    lower = token.lower().strip("'’-")
    rare = rarity(lower, language)
    if rare < MIN_WEIGHT or len(lower) < 2:
        return None
    stemmer = _stemmer(language)
    stem = stemmer.stemWord(lower) if stemmer is not None else lower  # type: ignore[attr-defined]
    return ("" if language == "en" else f"{language}:") + stem, rare, token[0].isupper()


def _terms(text: str, language: str, *, title: bool, tf: dict[str, float], weight: dict[str, float]) -> None:
    """Count the terms of ``text`` into ``tf`` (title words twice) and their rarity into ``weight``."""
    times = TITLE_WEIGHT if title else 1.0
    if _CJK.search(text):  # no spaces: character bigrams of the CJK runs, words elsewhere
        tag = "" if language == "en" else f"{language}:"
        for run in re.findall(f"{_CJK.pattern}+", text):
            for i in range(max(1, len(run) - 1)):
                term = tag + run[i:i + 2]
                tf[term] = tf.get(term, 0.0) + times
                weight[term] = max(weight.get(term, 0.0), 3.0)
        text = _CJK.sub(" ", text)
    start_of_sentence = True
    for token, stop in _WORD.findall(text):  # the loop runs once a word: kept lean
        found = _term(token, language)
        if found is not None:
            term, rare, capitalised = found
            if capitalised and not start_of_sentence:
                rare *= NAME_WEIGHT  # a capitalised word inside a sentence: a name
            tf[term] = tf.get(term, 0.0) + times
            weight[term] = max(weight.get(term, 0.0), rare)
        start_of_sentence = bool(stop)


def describe(title: str, text: str, language: str) -> dict[str, float]:
    """The article's terms with unit-length weights, the :data:`MAX_TERMS` heaviest."""
    tf: dict[str, float] = {}
    weight: dict[str, float] = {}
    _terms(title, language, title=True, tf=tf, weight=weight)
    _terms(text, language, title=False, tf=tf, weight=weight)
    # Rarity times a sub-linear count: a word said five times is not five times the evidence.
    weights = {term: weight[term] * (1.0 + math.log(count)) for term, count in tf.items()}
    top = sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:MAX_TERMS]
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    return {term: round(w / norm, 6) for term, w in top}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    """Cosine of two weight maps (either may be unnormalised)."""
    # fsum: the sum is exact, so the order of the shared terms (a set's) cannot change it.
    dot = math.fsum([a[t] * b[t] for t in a.keys() & b.keys()])
    na, nb = math.hypot(*a.values()), math.hypot(*b.values())
    return dot / (na * nb) if na and nb else 0.0


def profile(title: str, text: str) -> list[float]:
    """The lengths of the title and paragraphs: a translation keeps this shape, paragraph by paragraph."""
    return [float(len(p)) for p in [title, *text.split("\n")] if p.strip()]


def structure(a: list[float], b: list[float]) -> float:
    """How alike two shapes are: the correlation of their paragraph lengths, 0 when counts differ.

    Both are resampled to the shorter count along their cumulative length, so a paragraph split
    in two on one side costs little; counts further apart than 15 % are different articles.
    """
    import numpy as np

    na, nb = len(a), len(b)
    if min(na, nb) < 3 or min(na, nb) / max(na, nb) < 0.85:
        return 0.0
    m = min(na, nb)

    def resample(lengths: list[float]) -> Any:
        x = np.asarray(lengths, dtype=float)
        cumulative = np.concatenate([[0.0], np.cumsum(x)]) / x.sum()
        return np.diff(np.interp(np.linspace(0, 1, m + 1), np.linspace(0, 1, len(cumulative)), cumulative))

    ra, rb = resample(a), resample(b)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return max(0.0, float(np.corrcoef(ra, rb)[0, 1]))
