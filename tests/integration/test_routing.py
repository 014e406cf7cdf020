"""Translate queues per source language: `transcrawl worker --languages de` gets the German work."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from foundation.settings import Settings
from schemas.keys import DEDICATED_LANGUAGES_KEY, raw_page_key
from schemas.messages import Article, RawPage
from schemas.pipeline import (
    EXTRACT_TASK,
    QUEUE_TRANSLATE,
    DedicatedLanguages,
    advertise,
    next_hop,
    producer,
    worker_queues,
)
from tests.support.pages import PAGE
from tests.support.processes import wait_until
from transcrawl.testing.tiny_model import build_tiny_model
from workers.translate import install_model


def test_articles_follow_live_advertisements(servers: Settings, clean_state: None) -> None:
    client = redis.Redis.from_url(servers.redis_url or "")
    german = Article(url="https://z.test/1", site="z", country="de", language="de", title="T",
                     text="Text", authors=[], published_at=None, fetched_at="2026-11-27T09:00:00+00:00")
    chinese = dataclasses.replace(german, language="zh")

    def queue(article: Article) -> str:
        live = DedicatedLanguages(client, cache_seconds=0).current()
        return next_hop("extract", article, live).queue

    assert queue(german) == QUEUE_TRANSLATE
    advertise(client, ["de"])
    assert queue(german) == "translate.de"
    assert queue(chinese) == QUEUE_TRANSLATE
    client.hset(DEDICATED_LANGUAGES_KEY, "de", 1.0)  # expired long ago: the worker is gone
    assert queue(german) == QUEUE_TRANSLATE


def test_worker_queues_swap_the_general_translate_queue_for_dedicated_ones() -> None:
    assert worker_queues(["extract", "translate", "store"], ["zh", "de"]) == [
        "extract", "store", "translate.zh", "translate.de"]
    assert worker_queues(["extract", "translate"]) == ["extract", "translate"]


@pytest.mark.slow
def test_dedicated_language_worker_translates_its_language(settings: Settings, clean_state: None,
                                                          worker_factory: Any, tmp_path: Path) -> None:
    install_model(str(build_tiny_model(tmp_path / "tiny-de", "de")), settings.models_path, source_lang="de")
    client = redis.Redis.from_url(settings.redis_url or "")
    dedicated = worker_factory(settings, queues="translate", languages="de", concurrency=1)
    assert wait_until(lambda: client.hexists(DEDICATED_LANGUAGES_KEY, "de"), timeout=60), dedicated.tail()
    worker_factory(settings, queues="extract,store", concurrency=1)  # no general translate worker

    url = "http://n.example/2026/11/20/bruecke.html"
    page = RawPage(url=url, site="n", country="de", site_language="de", fetched_at="2026-11-27T12:00:00+00:00",
                   status=200, content_type="text/html; charset=utf-8", final_url=url)
    key = raw_page_key(url)
    client.hset(key, mapping=page.encode(PAGE.encode()))
    producer(settings.redis_url or "").send_task(EXTRACT_TASK, args=[{"raw_key": key, "url": url, "site": "n"}])

    def status() -> str | None:
        with psycopg.connect(settings.database_url or "") as conn:
            row = conn.execute("SELECT status FROM articles WHERE url = %s", (url,)).fetchone()
        return row[0] if row else None

    assert wait_until(lambda: status() == "translated", timeout=120), dedicated.tail()
    assert client.llen(QUEUE_TRANSLATE) == 0
    assert not client.exists(key), "the raw page is deleted once the article is stored"
