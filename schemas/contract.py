"""Names and message shapes that the crawler, the workers and readers agree on.

Data flow: spider --RawPage in Redis--> ``extract`` --Article--> ``translate`` --Article--> ``store``
(English articles go from ``extract`` straight to ``store``). Messages are JSON dicts; a task
message carries the Redis key of the raw page (a claim check), never the page itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zlib
from typing import Any

EXTRACT_TASK = "transcrawl.extract"
TRANSLATE_TASK = "transcrawl.translate"
STORE_TASK = "transcrawl.store"
FAILURE_TASK = "transcrawl.record_failure"  # failures seen outside the workers (crawler)

QUEUE_EXTRACT = "extract"
QUEUE_TRANSLATE = "translate"
QUEUE_STORE = "store"
ALL_QUEUES = (QUEUE_EXTRACT, QUEUE_TRANSLATE, QUEUE_STORE)


def translate_queue(language: str) -> str:
    """The queue of workers dedicated to one source language (``transcrawl worker --languages``)."""
    return f"{QUEUE_TRANSLATE}.{language}"


# Hash: language → unix time until which a dedicated worker for it is known to be alive.
DEDICATED_LANGUAGES_KEY = "transcrawl:translate:languages"

KEY_PREFIX = "transcrawl:"


def raw_page_key(url: str) -> str:
    """Redis key of a raw page: one per canonical URL, so a re-fetch replaces the old copy."""
    return f"{KEY_PREFIX}raw:{hashlib.sha1(url.encode()).hexdigest()}"


def seen_key(site: str) -> str:
    """Redis sorted set of URLs a site's spider has already queued (score: when)."""
    return f"{KEY_PREFIX}seen:{site}"


def stats_key(name: str) -> str:
    return f"{KEY_PREFIX}stats:{name}"


class ArticleStatus:
    """Values of ``articles.status``."""

    TRANSLATED = "translated"  # title_en/text_en hold the machine translation
    ORIGINAL_ENGLISH = "original_english"  # already English: title_en/text_en copy the original
    UNTRANSLATED = "untranslated"  # no model (yet) for its language; status_reason says why
    PENDING = "pending"  # stored, translation queued


@dataclasses.dataclass(frozen=True)
class RawPage:
    """A fetched page as the crawler leaves it in Redis (the body is stored compressed beside it)."""

    url: str
    site: str
    country: str
    site_language: str
    fetched_at: str  # ISO 8601, UTC
    status: int
    content_type: str
    final_url: str
    overrides: dict[str, str] = dataclasses.field(default_factory=dict)  # the site's extract options

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RawPage:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def encode(self, body: bytes) -> dict[str, bytes | str]:
        """The Redis hash under :func:`raw_page_key`: ``meta`` JSON and the zlib-compressed body."""
        return {"meta": json.dumps(self.to_json()), "body": zlib.compress(body, 6)}

    @classmethod
    def decode(cls, entry: dict[bytes, bytes]) -> tuple[RawPage, bytes]:
        """The page and its body back from the hash that :meth:`encode` made."""
        return cls.from_json(json.loads(entry[b"meta"])), zlib.decompress(entry[b"body"])


@dataclasses.dataclass
class Article:
    """An article as it moves through extract → translate → store (JSON on the wire)."""

    url: str
    site: str
    country: str
    language: str
    title: str
    text: str
    authors: list[str]
    published_at: str | None
    fetched_at: str
    raw_key: str | None = None
    title_en: str | None = None
    text_en: str | None = None
    translated_at: str | None = None
    translation_model: str | None = None
    status: str = ArticleStatus.PENDING
    status_reason: str | None = None
    extraction: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Article:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
