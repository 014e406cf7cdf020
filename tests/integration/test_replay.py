"""`transcrawl failures requeue-orphans`: resend raw pages that nothing else will ever process."""

from __future__ import annotations

import psycopg
import redis

from foundation.settings import Settings
from schemas.keys import raw_page_key
from schemas.messages import (
    Article,
    ArticleStatus,
    ExtractMessage,
    FailureMessage,
    RawPage,
)
from schemas.pipeline import QUEUE_EXTRACT, producer
from tests.support.pages import queue_raw_page
from transcrawl.replay import requeue_orphans
from workers import store


def queued_urls(client: redis.Redis) -> list[str]:
    import base64
    import json

    urls = []
    for raw in client.lrange(QUEUE_EXTRACT, 0, -1):
        body = json.loads(base64.b64decode(json.loads(raw)["body"]))
        urls.append(ExtractMessage.from_json(body[0][0]).url)
    return sorted(urls)


def test_only_pages_with_no_article_and_no_open_failure_are_requeued(settings: Settings,
                                                                     clean_state: None) -> None:
    client = redis.Redis.from_url(settings.redis_url or "")
    celery = producer(settings.redis_url or "")
    stored, poison, orphan = (queue_raw_page(client, celery, f"https://news.test/{name}")
                              for name in ("stored", "poison", "orphan"))
    client.delete(QUEUE_EXTRACT)  # the messages are lost (a crash); the raw pages remain
    with psycopg.connect(settings.database_url or "") as conn:
        store.upsert_article(conn, Article(
            url=stored.url, site="news", country="gb", language="en", title="T", text="Text",
            authors=[], published_at=None, fetched_at="2026-11-27T09:00:00+00:00",
            status=ArticleStatus.ORIGINAL_ENGLISH))
        store.record_failure(conn, FailureMessage(url=poison.url, site="news", stage="extract",
                                                  reason="poison", detail="killed its worker 3 times",
                                                  raw_key=poison.raw_key, payload=poison.to_json()))
    assert requeue_orphans(settings, older_than=0) == {"requeued": 1, "spent": 1}
    assert queued_urls(client) == [orphan.url]
    assert client.exists(poison.raw_key), "the poison page is kept for `failures retry`"
    client.close()
    celery.close()


def test_spent_claim_checks_are_deleted_and_newer_fetches_extracted(settings: Settings,
                                                                    clean_state: None) -> None:
    """A page with no article is extracted again; a page its article was stored from (the store's
    delete lost to a crash) is deleted; a later fetch of a stored article is extracted again."""
    client = redis.Redis.from_url(settings.redis_url or "")
    first, later = "2026-11-27T09:00:00+00:00", "2026-11-28T09:00:00+00:00"
    keys = {}
    for name, fetched_at in (("lost", first), ("spent", first), ("fetched-again", later)):
        url = f"https://news.test/{name}"
        page = RawPage(url=url, site="news", country="gb", site_language="en", fetched_at=fetched_at,
                       status=200, content_type="text/html", final_url=url)
        keys[name] = raw_page_key(url)
        client.hset(keys[name], mapping=page.encode(b"<html></html>"))  # type: ignore[arg-type]
    with psycopg.connect(settings.database_url or "") as conn:
        for name in ("spent", "fetched-again"):
            store.upsert_article(conn, Article(
                url=f"https://news.test/{name}", site="news", country="gb", language="en", title="T",
                text="Text.", authors=[], published_at=None, fetched_at=first, raw_key=keys[name]))
    assert requeue_orphans(settings, older_than=0) == {"requeued": 2, "spent": 1}
    assert [bool(client.exists(keys[n])) for n in ("lost", "spent", "fetched-again")] == [True, False, True]
    assert queued_urls(client) == ["https://news.test/fetched-again", "https://news.test/lost"]
    client.close()
