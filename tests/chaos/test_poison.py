"""A poison page (one that kills its worker process at every delivery) is recorded, not redelivered forever.

``acks_late`` with ``reject_on_worker_lost`` gives a task back when its pool process dies, so that
a crash loses nothing; a page that itself causes the crash (a segfault in a parser, the OOM
killer) would come back for ever. The worker counts deliveries per message and, past
``max_deliveries``, records the message as a ``poison`` failure instead of running it again.

The crash is real: a ``sitecustomize`` on the worker's ``PYTHONPATH`` wraps the extract step so that
it SIGKILLs its own pool process for URLs containing "poison".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from foundation.settings import Settings
from schemas.keys import KEY_PREFIX
from schemas.messages import ArticleStatus
from schemas.pipeline import ALL_QUEUES, producer
from tests.support.pages import queue_raw_page
from tests.support.private_servers import PrivateRedis
from tests.support.processes import wait_until

pytestmark = [pytest.mark.chaos]

MAX_DELIVERIES = 3

# Imported by every Python process started with this folder on PYTHONPATH (the worker and its
# pool processes, which fork from it); the test process itself never imports it.
SITECUSTOMIZE = '''
import os, signal, time
import workers.stages

_extract = workers.stages.extract

def extract(client, message):
    if "poison" in message.url:
        with open(os.environ["POISON_KILLS"], "a") as log:
            log.write(f"{os.getpid()} {time.time()}\\n")
        os.kill(os.getpid(), signal.SIGKILL)
    return _extract(client, message)

workers.stages.extract = extract
'''


@pytest.fixture()
def poison_settings(chaos_db: str, broker: PrivateRedis, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> Settings:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    monkeypatch.setenv("PYTHONPATH", str(site))  # child_env() hands this process's environment on
    monkeypatch.setenv("POISON_KILLS", str(tmp_path / "kills.txt"))
    return Settings.from_env(
        database_url=chaos_db, redis_url=broker.url, home=tmp_path / "home",
        models_dir=tmp_path / "models", task_time_limit=60, task_soft_time_limit=50,
        max_deliveries=MAX_DELIVERIES,
    )


def queue_page(client: redis.Redis, celery: Any, url: str) -> dict[str, str]:
    return queue_raw_page(client, celery, url).to_json()


def failures(settings: Settings) -> list[tuple[Any, ...]]:
    with psycopg.connect(settings.database_url or "") as conn:
        return conn.execute("SELECT url, stage, reason, payload, raw_key, attempts FROM failures"
                            " WHERE resolved_at IS NULL").fetchall()


def stored(settings: Settings) -> dict[str, str]:
    with psycopg.connect(settings.database_url or "") as conn:
        return {url: status for url, status in conn.execute("SELECT url, status FROM articles")}


def backlog(client: redis.Redis) -> int:
    """Messages queued or delivered but unacknowledged: 0 means nothing can come back."""
    return sum(int(client.llen(q)) for q in ALL_QUEUES) + int(client.hlen("unacked"))


def test_a_page_that_kills_its_worker_is_recorded_as_poison(poison_settings: Settings,
                                                            worker_factory: Any, tmp_path: Path) -> None:
    settings = poison_settings
    client = redis.Redis.from_url(settings.redis_url or "")
    celery = producer(settings.redis_url or "")
    normal = [queue_page(client, celery, f"https://news.test/story/{i}")["url"] for i in range(4)]
    poison = queue_page(client, celery, "https://news.test/poison/1")
    worker = worker_factory(settings, queues="extract,store,group", concurrency=2)

    assert wait_until(lambda: len(failures(settings)) == 1 and len(stored(settings)) == 4, timeout=180), (
        failures(settings), stored(settings), worker.tail())
    assert wait_until(lambda: backlog(client) == 0, timeout=30), (backlog(client), worker.tail())

    kills = (tmp_path / "kills.txt").read_text().splitlines()
    assert len(kills) == MAX_DELIVERIES, (kills, worker.tail())
    assert len({line.split()[0] for line in kills}) == MAX_DELIVERIES  # a new pool process each time
    assert worker.process.poll() is None, "the worker's main process died"
    assert stored(settings) == dict.fromkeys(normal, ArticleStatus.ORIGINAL_ENGLISH)
    [(url, stage, reason, payload, raw_key, attempts)] = failures(settings)
    assert (url, stage, reason, attempts) == (poison["url"], "extract", "poison", 1)
    assert payload == poison and raw_key == poison["raw_key"]  # `transcrawl failures retry` replays it
    assert client.exists(poison["raw_key"]), "the poison page's claim check is kept for a retry"
    # Nothing comes back: no queue, nothing unacknowledged, and the log shows no fifth run.
    assert backlog(client) == 0
    assert len((tmp_path / "kills.txt").read_text().splitlines()) == MAX_DELIVERIES
    # Counters stay bounded: finished deliveries leave none; the poison one expires.
    counters = list(client.scan_iter(f"{KEY_PREFIX}deliveries:*"))
    assert len(counters) == 1 and 0 < int(client.ttl(counters[0])), counters
    client.close()
    celery.close()

