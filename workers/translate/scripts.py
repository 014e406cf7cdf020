"""Scripts of two-script languages: which one a text is in, and converting it to the other.

Chinese is written in Simplified (Hans) or Traditional (Hant) characters, Serbian in Cyrillic or
Latin letters; a model trained on one script translates the other worse (NTREX ``zho_Hant``
through the Simplified-trained OPUS-MT zh→en model: docs/benchmarks.md, "Traditional Chinese").
Chinese is converted with OpenCC (phrase-level dictionaries, shipped in the wheel: nothing is
downloaded); Serbian is transliterated letter by letter (the two alphabets map one to one).
"""

from __future__ import annotations

import functools
from typing import Any

# Most characters are shared by both Chinese scripts; only these many script-specific characters
# decide, so a Japanese name or a quoted Traditional word in a Simplified text changes nothing.
MIN_EVIDENCE = 2
SAMPLE_CHARS = 4000  # a title and the first paragraphs say enough

_CYR = "абвгдђежзијклљмнњопрстћуфхцчџш"
_LAT = ["a", "b", "v", "g", "d", "đ", "e", "ž", "z", "i", "j", "k", "l", "lj", "m", "n", "nj", "o",
        "p", "r", "s", "t", "ć", "u", "f", "h", "c", "č", "dž", "š"]
_CYR_TO_LAT = {c: lat for c, lat in zip(_CYR, _LAT, strict=True)}
_CYR_TO_LAT.update({c.upper(): lat.capitalize() for c, lat in zip(_CYR, _LAT, strict=True)})
_DIGRAPHS = {"lj": "љ", "nj": "њ", "dž": "џ", "Lj": "Љ", "Nj": "Њ", "Dž": "Џ", "LJ": "Љ", "NJ": "Њ", "DŽ": "Џ"}
_LAT_TO_CYR = {lat: c for c, lat in _CYR_TO_LAT.items() if len(lat) == 1}
_LAT_TO_CYR.update({"x": "кс", "y": "ј", "w": "в", "q": "к"})  # foreign letters, as Serbian spells them


@functools.cache
def _opencc(config: str) -> Any:
    import opencc  # the official OpenCC binding; dictionaries inside the wheel

    return opencc.OpenCC(config)


def detect(language: str, text: str) -> str | None:
    """The script of ``text`` for a two-script ``language`` (``Hans``/``Hant``, ``Cyrl``/``Latn``),
    or None when the language has one script or the text does not say."""
    base = language.replace("_", "-").split("-")[0].lower()
    sample = text[:SAMPLE_CHARS]
    if base == "zh":
        return _chinese_script(sample)
    if base == "sr":
        cyr = sum(1 for ch in sample if "\u0400" <= ch <= "\u04ff")
        lat = sum(1 for ch in sample if ch.isascii() and ch.isalpha() or ch in "čćđšžČĆĐŠŽ")
        if max(cyr, lat) < MIN_EVIDENCE:
            return None
        return "Cyrl" if cyr >= lat else "Latn"
    return None


def _chinese_script(sample: str) -> str | None:
    chars = {ch for ch in sample if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"}
    if not chars:
        return None
    text = "".join(sorted(chars))
    # Character by character: a character that t2s changes is Traditional-only, one s2t changes is
    # Simplified-only. (OpenCC's phrase tables never act across the one-character "words" here.)
    to_simple, to_trad = _opencc("t2s").convert("\n".join(text)), _opencc("s2t").convert("\n".join(text))
    trad = sum(1 for a, b in zip(text, to_simple.split("\n"), strict=False) if a != b)
    simple = sum(1 for a, b in zip(text, to_trad.split("\n"), strict=False) if a != b)
    if max(trad, simple) < MIN_EVIDENCE:
        return None
    return "Hant" if trad > simple else "Hans"


def convert(text: str, language: str, source: str, target: str) -> str:
    """``text`` in ``language`` from script ``source`` to ``target`` (unchanged when they agree)."""
    if source == target:
        return text
    base = language.replace("_", "-").split("-")[0].lower()
    if base == "zh" and (source, target) in (("Hant", "Hans"), ("Hans", "Hant")):
        return str(_opencc("t2s" if target == "Hans" else "s2t").convert(text))
    if base == "sr" and (source, target) == ("Latn", "Cyrl"):
        return latin_to_cyrillic(text)
    if base == "sr" and (source, target) == ("Cyrl", "Latn"):
        return "".join(_CYR_TO_LAT.get(ch, ch) for ch in text)
    raise ValueError(f"no conversion of {language} from {source} to {target}")


def latin_to_cyrillic(text: str) -> str:
    """Serbian Latin (Gaj) to Cyrillic (Vuk): the digraphs lj, nj, dž first, then letter by letter."""
    out: list[str] = []
    i = 0
    while i < len(text):
        pair = text[i:i + 2]
        if pair in _DIGRAPHS:
            out.append(_DIGRAPHS[pair])
            i += 2
            continue
        ch = text[i]
        low = _LAT_TO_CYR.get(ch.lower())
        out.append(ch if low is None else (low if ch.islower() else low[0].upper() + low[1:]))
        i += 1
    return "".join(out)
