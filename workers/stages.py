"""The pipeline's steps as plain functions: message in, message out. Tasks only wrap these."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast

import psycopg
import redis

from foundation.settings import Settings
from schemas.messages import Article, ArticleStatus, ExtractMessage, GroupMessage, RawPage
from schemas.pipeline import ENGLISH
from workers.errors import ModelNotInstalled, RawPageMissing

if TYPE_CHECKING:
    from workers.grouping.stories import Grouped


class Translates(Protocol):
    """What a translate step needs (``workers.translate.batcher.Batcher``, or a test double)."""

    def translate_article(self, article: Article, *, delivery: str | None = None,
                          timeout: float | None = None) -> Article: ...


def load_raw_page(client: redis.Redis, key: str) -> tuple[RawPage, bytes]:
    """The raw page behind a claim check; a missing key is permanent (it expired or was taken)."""
    entry = cast("dict[bytes, bytes]", client.hgetall(key))  # the client returns bytes (no decoding)
    if not entry:
        raise RawPageMissing(f"raw page {key} is not in Redis (expired or already stored)")
    return RawPage.decode(entry)


def extract(client: redis.Redis, message: ExtractMessage) -> Article:
    """Raw page → Article (status pending, or original_english when it needs no translation)."""
    from workers.extraction import extract_article

    page, body = load_raw_page(client, message.raw_key)
    found = extract_article(body, page.final_url or page.url, declared_language=page.site_language,
                            content_type=page.content_type, overrides=page.overrides or None)
    article = Article(
        url=page.url, site=page.site, country=page.country, language=found.language,
        title=found.title, text=found.text, authors=list(found.authors),
        published_at=found.published_at, fetched_at=page.fetched_at, raw_key=message.raw_key,
        extraction={"sources": found.sources, "flags": found.flags},
        image_url=found.image_url, image_caption=found.image_caption,
        image_credit=found.image_credit, description=found.description,
    )
    if article.language == ENGLISH:
        article.title_en, article.text_en = article.title, article.text
        article.description_en = article.description
        article.status = ArticleStatus.ORIGINAL_ENGLISH
    return article


def translate(translator: Translates, article: Article, *, delivery: str | None = None,
              timeout: float | None = None) -> Article:
    """Article → translated Article, or the same article marked untranslated with the reason.

    ``delivery`` names the message's delivery counter (poison), ``timeout`` bounds the wait.
    """
    try:
        return translator.translate_article(article, delivery=delivery, timeout=timeout)
    except ModelNotInstalled as exc:
        article.status = ArticleStatus.UNTRANSLATED
        article.status_reason = exc.detail
        return article


def group(connect: Callable[[], AbstractContextManager[psycopg.Connection[Any]]], message: GroupMessage,
          settings: Settings) -> Grouped:
    """A stored article → its story (and the first copy, if it is a copy), in one transaction."""
    from workers.grouping.stories import group_article

    with connect() as conn:
        return group_article(conn, message.url, window=timedelta(hours=settings.story_window_hours))


def now_iso() -> str:
    return datetime.now(UTC).isoformat()
