"""Queue stored ``untranslated`` articles for translation once their language has a route (routes.py)."""

from __future__ import annotations

import psycopg

from foundation.settings import Settings
from schemas.messages import ArticleStatus
from schemas.pipeline import TRANSLATE, producer, send
from workers import store
from workers.translate import list_models, routes


def backfill(settings: Settings, languages: list[str] | None = None) -> tuple[int, int]:
    """Send a translate task per waiting article that now has a model; returns (queued, skipped)."""
    assert settings.database_url and settings.redis_url
    celery = producer(settings.redis_url)
    queued = skipped = 0
    installed = list_models(settings.models_path)
    with psycopg.connect(settings.database_url) as conn:
        for url in store.untranslated_urls(conn, languages):
            article = store.load_article(conn, url)
            if article is None:
                continue
            if routes.resolve(settings.models_path, article.language, installed=installed) is None:
                skipped += 1
                continue
            article.status, article.status_reason = ArticleStatus.PENDING, None
            send(celery, TRANSLATE, article.to_json())
            queued += 1
    return queued, skipped
