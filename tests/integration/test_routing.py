"""Translate queues per source language: `transcrawl worker --languages de` gets the German work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from crawler.pipelines import producer
from schemas.contract import DEDICATED_LANGUAGES_KEY, EXTRACT_TASK, QUEUE_TRANSLATE, RawPage, raw_page_key
from tests.conftest import wait_until
from tests.support.tiny_model import build_tiny_model
from tests.unit.test_cli import PAGE
from foundation.settings import Settings
from workers import routing
from workers.translate import install_model


def test_queue_for_follows_live_advertisements(servers: Settings, clean_state: None,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    client = redis.Redis.from_url(servers.redis_url or "")
    monkeypatch.setattr(routing, "_cache_read_at", 0.0)
    assert routing.queue_for(client, "de") == QUEUE_TRANSLATE
    routing.advertise(client, ["de"])
    monkeypatch.setattr(routing, "_cache_read_at", 0.0)
    assert routing.queue_for(client, "de") == "translate.de"
    assert routing.queue_for(client, "zh") == QUEUE_TRANSLATE
    client.hset(DEDICATED_LANGUAGES_KEY, "de", 1.0)  # expired long ago: the worker is gone
    monkeypatch.setattr(routing, "_cache_read_at", 0.0)
    assert routing.queue_for(client, "de") == QUEUE_TRANSLATE


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
