"""The typed messages that stages pass each other, and their JSON form on the wire.

    RawPage         the crawler's fetched page, kept in Redis under a claim-check key
    ExtractMessage  crawler → ``extract``: the claim check, never the page itself
    Article         ``extract`` → ``translate`` → ``store``
    GroupMessage    ``store`` → ``group``: the URL of an article stored with something to group by
    FailureMessage  any stage → ``record_failure``: what failed, why, and what replays it

Who sends which message to whom is ``schemas.pipeline``; the Redis keys are ``schemas.keys``.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from typing import TYPE_CHECKING, Any, Self, cast

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


class JsonMessage:
    """JSON on the wire for a dataclass message: its fields out, the known fields back in."""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(cast("DataclassInstance", self))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        names = {f.name for f in dataclasses.fields(cast("type[DataclassInstance]", cls))}
        return cls(**{k: v for k, v in data.items() if k in names})


class ArticleStatus:
    """Values of ``articles.status``."""

    TRANSLATED = "translated"  # title_en/text_en hold the machine translation
    ORIGINAL_ENGLISH = "original_english"  # already English: title_en/text_en copy the original
    UNTRANSLATED = "untranslated"  # no model (yet) for its language; status_reason says why
    PENDING = "pending"  # stored, translation queued


@dataclasses.dataclass(frozen=True)
class RawPage(JsonMessage):
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


    def encode(self, body: bytes) -> dict[str, bytes | str]:
        """The Redis hash under :func:`raw_page_key`: ``meta`` JSON and the zlib-compressed body."""
        return {"meta": json.dumps(self.to_json()), "body": zlib.compress(body, 6)}

    @classmethod
    def decode(cls, entry: dict[bytes, bytes]) -> tuple[RawPage, bytes]:
        """The page and its body back from the hash that :meth:`encode` made."""
        return cls.from_json(json.loads(entry[b"meta"])), zlib.decompress(entry[b"body"])


@dataclasses.dataclass
class Article(JsonMessage):
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
    image_url: str | None = None  # the lead image, absolute, its largest size
    image_caption: str | None = None
    image_credit: str | None = None
    description: str | None = None  # the standfirst, original language
    description_en: str | None = None


@dataclasses.dataclass(frozen=True)
class ExtractMessage(JsonMessage):
    """The ``extract`` task's message: where the raw page waits, and what it is (for logs)."""

    raw_key: str
    url: str
    site: str


@dataclasses.dataclass(frozen=True)
class GroupMessage(JsonMessage):
    """``store`` → ``group``: which stored article to group (its row is the source of truth)."""

    url: str
    site: str


@dataclasses.dataclass(frozen=True)
class FailureMessage(JsonMessage):
    """A failure to record in ``failures``: ``payload`` is the message that replays it."""

    url: str
    site: str | None
    stage: str  # crawl, extract, translate, store
    reason: str  # a short machine-readable word (bad_page, timeout, poison, ...)
    detail: str
    raw_key: str | None = None
    payload: dict[str, Any] | None = None

