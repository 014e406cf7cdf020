"""`transcrawl failures requeue-orphans`: resend raw pages that nothing else will ever process."""

from __future__ import annotations

import dataclasses
from typing import Any

import psycopg
import redis

from foundation.servers import free_port
from foundation.settings import Settings
from schemas.keys import raw_page_key
from schemas.messages import (
    Article,
    ArticleStatus,
    ExtractMessage,
    FailureMessage,
    RawPage,
)
from schemas.pipeline import EXTRACT, QUEUE_EXTRACT, producer, send
from tests.support.metrics import scrape, value
from tests.support.pages import queue_raw_page
from tests.support.processes import wait_until
from transcrawl.replay import requeue_orphans
from workers import orphans, store


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


def lose_into_unacked(client: redis.Redis, queue: str, tag: str) -> None:
    """Move a queued message into ``unacked`` as kombu does when a worker takes it."""
    import json

    raw = client.lpop(queue)
    assert raw is not None
    client.hset("unacked", tag, json.dumps([json.loads(raw), "", queue]))


def test_the_sweep_sends_again_only_pages_no_message_refers_to(settings: Settings, clean_state: None) -> None:
    """A worker's sweep: a page whose message is queued, or delivered and unacknowledged, is in
    flight; a page with no message anywhere lost it (kombu's BRPOP-then-record window)."""
    client = redis.Redis.from_url(settings.redis_url or "")
    celery = producer(settings.redis_url or "")
    queued, held, lost = (queue_raw_page(client, celery, f"https://news.test/{name}")
                          for name in ("queued", "held", "lost"))
    # extract took "held" (now unacked), and "lost" was popped by a worker that died at once.
    assert queued_urls(client) == sorted(m.url for m in (queued, held, lost))
    client.delete(QUEUE_EXTRACT)
    send(celery, EXTRACT, queued.to_json())
    send(celery, EXTRACT, held.to_json())
    lose_into_unacked(client, QUEUE_EXTRACT, "tag-held")
    assert orphans.settle(settings, min_age=0) == orphans.Settled(requeued=1)
    assert queued_urls(client) == sorted([queued.url, lost.url])
    # The same sweep again finds every page referred to: nothing is sent twice.
    assert orphans.settle(settings, min_age=0) == orphans.Settled()
    # While the queues hold more than a snapshot reads, the sweep decides nothing.
    client.rpush(QUEUE_EXTRACT, *[b"{}"] * orphans.SNAPSHOT_LIMIT)
    client.delete(queued.raw_key, held.raw_key)
    assert orphans.settle(settings, min_age=0).busy
    client.close()
    celery.close()


def test_a_worker_sweeps_lost_messages_by_itself(settings: Settings, clean_state: None,
                                                  worker_factory: Any) -> None:
    client = redis.Redis.from_url(settings.redis_url or "")
    celery = producer(settings.redis_url or "")
    lost = queue_raw_page(client, celery, "https://news.test/lost-in-brpop")
    client.delete(QUEUE_EXTRACT)  # popped by a worker killed before kombu recorded it
    port = free_port()
    worker = worker_factory(dataclasses.replace(settings, orphan_sweep_seconds=1, metrics_port=port),
                            queues="extract,store,group")
    assert wait_until(lambda: article_count(settings, lost.url) == 1, timeout=60), worker.tail()
    assert "had no message in any queue or delivery" in worker.log.read_text(errors="replace")
    # Operators see it on the worker's /metrics too.
    assert value(scrape(port), "transcrawl_orphans_settled_total", outcome="requeued") >= 1, worker.tail()
    assert wait_until(lambda: not client.exists(lost.raw_key), timeout=10), "the claim check was not spent"
    client.close()
    celery.close()


def article_count(settings: Settings, url: str) -> int:
    with psycopg.connect(settings.database_url or "") as conn:
        row = conn.execute("SELECT count(*) FROM articles WHERE url = %s", (url,)).fetchone()
    return int(row[0]) if row else 0


def test_the_sweep_sends_a_stored_article_nobody_grouped_to_group(settings: Settings, clean_state: None) -> None:
    """A group message lost with a killed worker: the article is stored, but in no story."""
    import datetime as dt

    from workers.grouping.stories import group_article

    client = redis.Redis.from_url(settings.redis_url or "")
    now = dt.datetime.now(dt.UTC).isoformat()
    articles = [Article(url=f"https://news.test/{name}", site="news", country="gb", language="en",
                        title=f"{name} vote", text="The council voted on the harbour plan today.", authors=[],
                        published_at=None, fetched_at=now, title_en=f"{name} vote",
                        text_en="The council voted on the harbour plan today.",
                        status=ArticleStatus.ORIGINAL_ENGLISH) for name in ("grouped", "lost", "pending", "failed")]
    articles[2] = dataclasses.replace(articles[2], status=ArticleStatus.PENDING, title_en=None, text_en=None)
    with psycopg.connect(settings.database_url or "") as conn:
        for article in articles:
            store.upsert_article(conn, article)
        group_article(conn, articles[0].url, window=dt.timedelta(hours=72))
        store.record_failure(conn, FailureMessage(url=articles[3].url, site="news", stage="group",
                                                  reason="ValueError", detail="a bug", payload={}))
    settled = orphans.settle(settings, min_age=0)
    assert (settled.grouped, settled.requeued) == (1, 0)
    # Not the grouped one, not the one awaiting its English, not the one whose grouping failed.
    assert grouped_urls(client) == [articles[1].url]
    assert orphans.settle(settings, min_age=0).grouped == 0, "its group message is queued now"
    client.close()


def grouped_urls(client: redis.Redis) -> list[str]:
    import base64
    import json

    from schemas.pipeline import QUEUE_GROUP

    return sorted(json.loads(base64.b64decode(json.loads(raw)["body"]))[0][0]["url"]
                  for raw in client.lrange(QUEUE_GROUP, 0, -1))
