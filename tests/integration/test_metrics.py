"""Prometheus metrics for real: a worker with ``metrics_port`` runs tasks and is scraped over HTTP."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import redis

from foundation.servers import free_port
from foundation.settings import Settings
from schemas.keys import raw_page_key
from schemas.messages import Article, RawPage
from schemas.pipeline import EXTRACT_TASK, TRANSLATE_TASK, producer
from tests.support.metrics import scrape, value
from tests.support.processes import run_cli, wait_until
from transcrawl.testing.tiny_model import build_tiny_model

pytestmark = [pytest.mark.slow]

PARAGRAPH = ("The city council of Millbrook voted on Tuesday to rebuild the old river bridge, "
             "after engineers warned that the structure built in 1931 could no longer carry buses. "
             "Work is expected to start in the spring and to last about eighteen months.")
PAGE = ("<html><head><title>Millbrook votes to rebuild the river bridge</title></head><body><article>"
        "<h1>Millbrook votes to rebuild the river bridge</h1>"
        + "".join(f"<p>{PARAGRAPH} Paragraph {i}.</p>" for i in range(6)) + "</article></body></html>")


def queue_page(client: redis.Redis, url: str, body: str) -> str:
    """A raw page in Redis, as crawler/pipelines.py leaves it."""
    key = raw_page_key(url)
    page = RawPage(url=url, site="metrics-site", country="us", site_language="en",
                   fetched_at="2026-11-27T12:00:00+00:00", status=200, content_type="text/html",
                   final_url=url)
    client.hset(key, mapping=page.encode(body.encode()))
    return key


def test_worker_serves_task_metrics(settings: Settings, clean_state: None, worker_factory: Any,
                                    tmp_path: Path) -> None:
    from workers.translate import install_model

    install_model(str(build_tiny_model(tmp_path / "tiny-de", "de")), settings.models_path, source_lang="de")
    port = free_port(count=2)  # the worker's, and its translate node's beside it
    worker = worker_factory(dataclasses.replace(settings, metrics_port=port), concurrency=2)
    client = redis.Redis.from_url(settings.redis_url or "")
    sender = producer(settings.redis_url or "")
    good = "http://metrics.example/2026/11/27/bridge.html"
    sender.send_task(EXTRACT_TASK, args=[{"raw_key": queue_page(client, good, PAGE), "url": good,
                                          "site": "metrics-site"}])
    gone = "http://metrics.example/2026/11/27/gone.html"
    sender.send_task(EXTRACT_TASK, args=[{"raw_key": raw_page_key(gone), "url": gone, "site": "metrics-site"}])
    german = Article(url="http://metrics.example/de.html", site="metrics-site", country="de", language="de",
                     title="Die Zeitung", text="Die Zeitung berichtet heute über die Wahl in der Stadt.",
                     authors=[], published_at=None, fetched_at="2026-11-27T12:00:00+00:00")
    sender.send_task(TRANSLATE_TASK, args=[german.to_json()])

    def done() -> dict[Any, float] | None:
        try:
            samples = scrape(port)
        except OSError:
            return None
        stored = value(samples, "transcrawl_articles_stored_total", status="original_english", language="en")
        translated = value(samples, "transcrawl_articles_stored_total", status="translated", language="de")
        failed = value(samples, "transcrawl_failures_total", stage="extract", reason="raw_page_missing")
        return samples if stored >= 1 and translated >= 1 and failed >= 1 else None

    assert wait_until(done, timeout=120), worker.tail()
    samples = done()
    assert samples is not None
    # Task outcomes and durations, by task name, merged from the pool processes' files.
    assert value(samples, "transcrawl_tasks_total", task="transcrawl.extract", outcome="success") >= 1
    assert value(samples, "transcrawl_tasks_total", task="transcrawl.extract", outcome="failed") >= 1
    assert value(samples, "transcrawl_task_duration_seconds_count", task="transcrawl.store") >= 2
    # Translation throughput, from the translate node beside the worker (it serves on the next
    # port): tokens produced, the time it took, and how many articles shared each engine round.
    translate = scrape(port + 1)
    assert value(translate, "transcrawl_translate_tokens_total", source="de") > 0
    assert value(translate, "transcrawl_translate_duration_seconds_count", source="de") >= 1
    assert value(translate, "transcrawl_translate_round_articles_count", source="de") >= 1
    assert value(translate, "transcrawl_tasks_total", task="transcrawl.translate", outcome="success") >= 1
    # Gauges read from Redis at scrape time.
    assert value(samples, "transcrawl_redis_up") == 1
    assert ("transcrawl_queue_depth", (("queue", "extract"),)) in samples
    client.rpush("translate.zz", b"waiting", b"waiting")  # a per-language queue nobody consumes
    assert value(scrape(port), "transcrawl_queue_depth", queue="translate.zz") == 2
    client.delete("translate.zz")
    client.close()


def test_status_json_shows_queues_workers_and_last_day(settings: Settings, clean_state: None,
                                                       worker_factory: Any) -> None:
    worker_factory(settings, queues="store", concurrency=1)
    client = redis.Redis.from_url(settings.redis_url or "")
    client.rpush("translate.zz", b"waiting")
    sender = producer(settings.redis_url or "")
    assert wait_until(lambda: sender.control.ping(timeout=0.5), timeout=60)

    done = run_cli(settings, "status", "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["queues"]["translate.zz"] == 1 and "unacked" in info["queues"]
    assert [w["ok"] for w in info["workers"]] == [True]
    assert info["last_24h"] == {"articles": 0, "by_status": {}, "by_language": {}}
    assert info["failures_by_reason"] == [] and isinstance(info["crawls"], list)
    client.close()
