"""Cleaning of single fields: titles without the site name, author names, dates with a time zone."""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")
_WS = re.compile(r"\s+")
_SQUASH = re.compile(r"[\W_]+")
# Separators sites put between headline and site name; a colon only when fullwidth (CJK).
_TITLE_SEP = re.compile(r"\s+[|\-–—·•*/:]{1,2}\s+|\s*[|｜：]\s*|:\s+")
_DATEISH = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")
_BY = re.compile(
    r"^(?:by|von|par|por|door|di|da|av|af|od|autor(?:in)?|author|text|texto|written by|reported by)"
    r"\s*[:.]?\s+", re.I)
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|/|&|\||\band\b|\bund\b|\bet\b|\by\b|\be\b|\bog\b|\boch\b|\bi\b)\s*")
_NOT_NAME = re.compile(r"@|https?:|www\.|\d{3,}")
_EARLIEST = datetime(1995, 1, 1, tzinfo=timezone.utc)
# Generic words a brand carries in its name ("CBC News", "Spiegel Online", "Times Digital").
_BRAND_WORDS = ("news", "online", "digital", "com", "net", "tv", "live", "nachrichten", "noticias",
                "nieuws", "nyheter", "notizie", "actualites")


def clean_text(value: str) -> str:
    """Unescape entities (sometimes twice-escaped), drop invisible characters, fold spaces."""
    if "&" in value:
        value = html.unescape(html.unescape(value))
    return _WS.sub(" ", _INVISIBLE.sub("", value)).strip()


def squash(value: str) -> str:
    return _SQUASH.sub("", value.casefold())


# German-style transliteration, as publishers spell their names in domains (boersen-zeitung.de).
_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe", "å": "aa"})


def _ascii_forms(key: str) -> set[str]:
    """A squashed name as written, transliterated (ö -> oe) and without accents (ö -> o)."""
    if key.isascii():
        return {key}
    bare = "".join(c for c in unicodedata.normalize("NFKD", key) if not unicodedata.combining(c))
    return {key, key.translate(_TRANSLIT), bare.translate(_TRANSLIT), bare}


def site_keys(url: str, names: list[str]) -> set[str]:
    """Squashed forms of the site's names and of its domain labels, to spot them in titles."""
    host = urlsplit(url).hostname or ""
    labels = [p for p in host.split(".") if p not in ("www", "m", "amp")]
    keys = {form for n in names if n for form in _ascii_forms(squash(n))}
    keys |= {squash(label) for label in labels[:-1] if len(label) > 2}
    if len(labels) == 2 and len(labels[0]) == 2:
        keys.add(squash(labels[0]))  # a two-letter brand domain (dw.com); matched exactly only
    keys.add(squash(".".join(labels)))
    keys.add(squash(".".join(labels[-2:])))
    return {k for k in keys if len(k) >= 2}


_MAX_NAME_WORDS = 5  # words of the longest site name found inside a segment ("The Times of India")


def is_site_name(segment: str, keys: set[str]) -> bool:
    seg = squash(segment)
    if not seg:
        return True
    forms = _ascii_forms(seg)
    if forms & keys:
        return True
    # "CBC News" on cbc.ca: a brand key, however short, plus a generic word.
    if any((f.startswith(k) and f[len(k):] in _BRAND_WORDS) or (f.endswith(k) and f[:-len(k)] in _BRAND_WORDS)
           for k in keys for f in forms):
        return True
    # "The Times of India" holds the domain label "timesofindia"; short keys must match exactly.
    # A longer segment that mentions the site ("Kotaku's Top 12 Games") is headline, not name.
    short = len(segment.split()) <= _MAX_NAME_WORDS
    return any(len(k) >= 4 and ((k in f and short) or (f in k and len(f) >= 3)) for k in keys for f in forms)


def strip_site_name(title: str, keys: set[str]) -> str:
    """Remove site names, dates and bylines the page put before or after the headline."""
    parts = _TITLE_SEP.split(title)
    if len(parts) < 2:
        return title
    seps = _TITLE_SEP.findall(title)
    start, end = 0, len(parts)
    while end - start > 1 and _is_chrome(parts[end - 1], keys):
        end -= 1
    while end - start > 1 and _is_chrome(parts[start], keys):
        start += 1
    out = parts[start]
    for i in range(start + 1, end):
        out += seps[i - 1] + parts[i]
    return out.strip()


def _is_chrome(segment: str, keys: set[str]) -> bool:
    segment = segment.strip()
    return is_site_name(segment, keys) or bool(_DATEISH.match(segment)) or bool(_BY.match(segment + " "))


def clean_authors(values: list[str], keys: set[str]) -> list[str]:
    """Split, strip "By", drop site names, URLs and duplicates; keep the order of appearance."""
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        for name in _split_authors(clean_text(value)):
            key = squash(name)
            if key and key not in seen and not is_site_name(name, keys):
                seen.add(key)
                out.append(name)
    return out


def _split_authors(value: str) -> list[str]:
    if value.startswith(("http://", "https://")):
        return [n for n in [name_from_profile_url(value)] if n]
    names = []
    for part in _AUTHOR_SPLIT.split(_BY.sub("", value)):
        part = _BY.sub("", part.strip(" .:-–—"))
        words = part.split()
        if 0 < len(words) <= 5 and len(part) <= 60 and not _NOT_NAME.search(part):
            names.append(part)
    return names


def name_from_profile_url(url: str) -> str | None:
    """``https://site/author/jane-doe`` names Jane Doe; other URLs name nobody."""
    path = [p for p in urlsplit(url).path.split("/") if p]
    if len(path) < 2 or not re.search(r"author|autor|journalist|profile|people|staff", path[-2], re.I):
        return None
    words = path[-1].split("-")
    if 2 <= len(words) <= 4 and all(w.isalpha() for w in words):
        return " ".join(w.capitalize() for w in words)
    return None


def parse_date(value: str, *, now: datetime | None = None) -> datetime | None:
    """Parse an ISO 8601 or RFC 2822 date; None when absent, unparsable, absurd or in the future."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T", 1) if len(value) > 10 else value)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)  # naive dates: UTC is the least wrong guess
    now = now or datetime.now(timezone.utc)
    if not _EARLIEST <= parsed <= now + timedelta(days=1):
        return None
    return parsed


def iso_date(value: datetime) -> str:
    return value.isoformat(timespec="seconds")
