"""Nothing lost under crashes: killed workers, a restarted Postgres, a killed and restarted Redis.

Every test runs against private servers (tests/support/private_servers.py) that it may kill at
will, and real ``transcrawl worker`` subprocesses. Time limits are short so that the Redis
visibility timeout (6 x the hard limit) runs out within a test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import json
import random
import re
import signal
import time
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
import redis

from foundation.settings import Settings
from schemas.keys import deliveries_key, held_key, raw_page_key
from schemas.messages import Article, ArticleStatus, RawPage
from schemas.pipeline import (
    ALL_QUEUES,
    EXTRACT_TASK,
    QUEUE_TRANSLATE,
    STORE_TASK,
    TRANSLATE_TASK,
    producer,
)
from tests.support.pages import ENGLISH_SENTENCE, queue_raw_page
from tests.support.private_servers import PrivatePostgres, PrivateRedis
from tests.support.processes import wait_until
from transcrawl.replay import requeue_orphans
from transcrawl.testing.tiny_model import build_tiny_model

pytestmark = [pytest.mark.chaos]

TIME_LIMIT = 5  # hard limit; the visibility timeout is 6x this (30 s)
WORDS = "die Zeitung berichtet heute über die Wahl in der Stadt und im Land".split()
ENGLISH = ENGLISH_SENTENCE.split()


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from workers.translate import install_model

    root = tmp_path_factory.mktemp("chaos-models")
    install_model(str(build_tiny_model(root / "build", "de")), root / "models", source_lang="de")
    return root / "models"


@pytest.fixture()
def chaos_settings(chaos_db: str, broker: PrivateRedis, models_dir: Path, tmp_path: Path) -> Settings:
    return Settings.from_env(
        database_url=chaos_db, redis_url=broker.url, home=tmp_path / "home",
        models_dir=models_dir, task_time_limit=TIME_LIMIT, task_soft_time_limit=TIME_LIMIT - 1,
        intra_threads=1, beam_size=8,
    )


def german_article(i: int, paragraphs: int, words: int = 150) -> Article:
    """A unique German article whose translation takes a tiny model about a second."""
    rng = random.Random(i)
    text = "\n".join(" ".join(rng.choice(WORDS) for _ in range(words)) + f" {i} {p}."
                     for p in range(paragraphs))
    return Article(url=f"https://zeitung.test/{i}", site="zeitung", country="de", language="de",
                   title=f"Die Wahl {i}", text=text, authors=[], published_at=None,
                   fetched_at="2026-11-27T09:00:00+00:00")


def with_raw_page(client: redis.Redis, article: Article) -> Article:
    """The article as extract sends it on, its page still in Redis as the crawler left it (the
    claim check lives until the article is stored)."""
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in article.text.split("\n"))
    body = (f"<html lang='{article.language}'><head><title>{html.escape(article.title)}</title></head>"
            f"<body><article><h1>{html.escape(article.title)}</h1>{paragraphs}</article></body></html>")
    page = RawPage(url=article.url, site=article.site, country=article.country,
                   site_language=article.language, fetched_at=article.fetched_at, status=200,
                   content_type="text/html; charset=utf-8", final_url=article.url)
    key = raw_page_key(article.url)
    client.hset(key, mapping=page.encode(body.encode()))  # type: ignore[arg-type]
    return dataclasses.replace(article, raw_key=key)


def english_article(i: int) -> Article:
    text = f"{' '.join(ENGLISH)} (story {i})."
    return Article(url=f"https://news.test/{i}", site="news", country="gb", language="en",
                   title=f"Vote {i}", text=text, authors=["A. Writer"], published_at=None,
                   fetched_at="2026-11-27T09:00:00+00:00", title_en=f"Vote {i}", text_en=text,
                   status=ArticleStatus.ORIGINAL_ENGLISH)


def raw_page(client: redis.Redis, celery: Any, i: int) -> str:
    return queue_raw_page(client, celery, f"https://news.test/raw/{i}").url


def send(settings: Settings, name: str, messages: list[dict[str, Any]]) -> None:
    app = producer(settings.redis_url or "")
    for message in messages:
        app.send_task(name, args=[message])
    app.close()


def rows(settings: Settings) -> dict[str, int]:
    """Stored articles by status, plus ``urls`` (distinct) and open ``failures``."""
    with psycopg.connect(settings.database_url or "", connect_timeout=3) as conn:
        by_status = dict(conn.execute("SELECT status, count(*) FROM articles GROUP BY status").fetchall())
        urls = conn.execute("SELECT count(DISTINCT url) FROM articles").fetchone()
        failures = conn.execute("SELECT count(*) FROM failures WHERE resolved_at IS NULL").fetchone()
    return {**by_status, "urls": urls[0] if urls else 0, "failures": failures[0] if failures else 0}


def stored(settings: Settings) -> int:
    try:
        return rows(settings)["urls"]
    except psycopg.OperationalError:
        return -1


def backlog(settings: Settings) -> int:
    """Messages still queued or delivered-but-unacknowledged: 0 means nothing can come back."""
    client = redis.Redis.from_url(settings.redis_url or "")
    try:
        return sum(int(client.llen(q)) for q in ALL_QUEUES) + int(client.hlen("unacked"))
    finally:
        client.close()


def unacked(settings: Settings) -> int:
    client = redis.Redis.from_url(settings.redis_url or "")
    try:
        return int(client.hlen("unacked"))
    finally:
        client.close()


def translate_deliveries(settings: Settings) -> set[Any]:
    """Delivery tags of the translate messages delivered and not yet acknowledged."""
    client = redis.Redis.from_url(settings.redis_url or "")
    try:
        return {tag for tag, value in client.hgetall("unacked").items()
                if json.loads(value)[2] == QUEUE_TRANSLATE}
    finally:
        client.close()


def held_by_nodes(settings: Settings) -> set[Any]:
    """Delivery tags the translate nodes have recorded as held (transcrawl.nodes.HeldDeliveries)."""
    client = redis.Redis.from_url(settings.redis_url or "")
    try:
        return {tag for key in client.scan_iter(held_key("*")) for tag in client.hkeys(key)}
    finally:
        client.close()


def broker_state(settings: Settings) -> dict[str, Any]:
    """What the broker holds, for a failure message: queue lengths, unacked deliveries (queue,
    seconds since delivery, task id), the nodes' held records, delivery counters."""
    client = redis.Redis.from_url(settings.redis_url or "")
    try:
        now = time.time()
        scores = dict(client.zrange("unacked_index", 0, -1, withscores=True))
        unacked_rows = []
        for tag, value in client.hgetall("unacked").items():
            payload, _exchange, queue = json.loads(value)
            unacked_rows.append((queue, round(now - scores.get(tag, now)), payload["headers"].get("id")))
        return {
            "queues": {q: client.llen(q) for q in ALL_QUEUES if client.llen(q)},
            "unacked": unacked_rows,
            "held": {key.decode(): client.hgetall(key) for key in client.scan_iter(held_key("*"))},
            "counters": sorted(k.decode() for k in client.scan_iter(deliveries_key("*"))),
        }
    finally:
        client.close()


def missing_urls(settings: Settings, urls: list[str]) -> list[str]:
    with psycopg.connect(settings.database_url or "", connect_timeout=3) as conn:
        have = {row[0] for row in conn.execute("SELECT url FROM articles")}
    return [url for url in urls if url not in have]


def postmaster_started(postgres: PrivatePostgres) -> object:
    """When the running Postgres started: a new value after every real restart."""
    with psycopg.connect(postgres.url) as conn:
        row = conn.execute("SELECT pg_postmaster_start_time()").fetchone()
    return row[0] if row else None


def lock_waiters(postgres: PrivatePostgres) -> int:
    with psycopg.connect(postgres.url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").fetchone()
    return int(row[0]) if row else 0


def pool_children(worker: Any) -> list[psutil.Process]:
    return psutil.Process(worker.process.pid).children(recursive=True)


def kill_tree(worker: Any) -> None:
    """SIGKILL the worker and its pool at once: a power cut, not a shutdown."""
    parent = psutil.Process(worker.process.pid)
    for proc in [*parent.children(recursive=True), parent]:
        proc.send_signal(signal.SIGKILL)
    worker.process.wait(timeout=10)


def assert_exactly_once(settings: Settings, n: int, status: str, worker: Any) -> None:
    assert wait_until(lambda: backlog(settings) == 0, timeout=30), (backlog(settings), worker.tail())
    counts = rows(settings)
    assert counts == {status: n, "urls": n, "failures": 0}, (counts, worker.tail())


def test_killed_pool_children_requeue_their_task_at_once(chaos_settings: Settings, worker_factory: Any) -> None:
    """SIGKILL a prefork worker's pool processes mid-task, three times; the parent lives on.

    ``task_reject_on_worker_lost`` must give each task back at once: the batch finishes well
    before the visibility timeout (120 s here) could have brought the lost messages back. (Slow
    tasks make the kills land mid-task: translations, in a prefork pool, one article a process.)
    """
    # A long limit (visibility 120 s), so that a quick finish can only come from the requeue.
    chaos_settings = dataclasses.replace(chaos_settings, task_time_limit=20, task_soft_time_limit=19)
    n = 30
    send(chaos_settings, TRANSLATE_TASK, [german_article(i, paragraphs=120).to_json() for i in range(n)])
    worker = worker_factory(chaos_settings, queues="translate", concurrency=2, pool="prefork")
    worker_factory(chaos_settings, queues="store,group", concurrency=1)
    kills = 0
    for threshold in (3, 10, 18):
        assert wait_until(lambda t=threshold: stored(chaos_settings) >= t, timeout=90), worker.tail()
        assert wait_until(lambda: unacked(chaos_settings) >= 1 and len(pool_children(worker)) == 2,
                          timeout=20, interval=0.05), worker.tail()
        assert stored(chaos_settings) < n, "the batch finished before the kill"
        for child in pool_children(worker):
            child.send_signal(signal.SIGKILL)
            kills += 1
        last_kill = time.monotonic()
    assert wait_until(lambda: stored(chaos_settings) == n, timeout=90), (rows(chaos_settings), worker.tail())
    assert time.monotonic() - last_kill < 6 * 20, "tasks waited for the visibility timeout"
    assert worker.process.poll() is None, "the worker's main process died"
    # One line per task that was running in a killed process: at least one per round.
    lost = worker.log.read_text(errors="replace").count("Task handler raised error: WorkerLostError")
    assert lost >= 3 and kills == 6, (lost, kills, worker.tail())
    assert_exactly_once(chaos_settings, n, ArticleStatus.TRANSLATED, worker)


def test_a_worker_killed_outright_loses_nothing(chaos_settings: Settings, worker_factory: Any) -> None:
    """SIGKILL the whole worker (parent, pool and translate node) mid-batch; a new worker finishes.

    Nobody is left to give the lost tasks back: those kombu had recorded sit in Redis' ``unacked``
    hash until the visibility timeout passes, and the next worker's restore sweep puts them back in
    the queue; one popped from its queue but not yet recorded is gone from Redis, and the next
    worker's orphan sweep finds its raw page (the claim check lives until store) and extracts it again.
    """
    chaos_settings = dataclasses.replace(chaos_settings, orphan_sweep_seconds=5)
    n = 30
    client = redis.Redis.from_url(chaos_settings.redis_url or "")
    articles = [with_raw_page(client, german_article(100 + i, paragraphs=30)) for i in range(n)]
    client.close()
    send(chaos_settings, TRANSLATE_TASK, [a.to_json() for a in articles])
    first = worker_factory(chaos_settings, queues="extract,translate,store,group", concurrency=2)
    # Kill while the translate node holds a batch (polled fast: a batch takes a few seconds).
    assert wait_until(lambda: len(translate_deliveries(chaos_settings)) >= 2
                      and 0 < stored(chaos_settings) < n,
                      timeout=90, interval=0.05), (stored(chaos_settings), unacked(chaos_settings), first.tail())
    kill_tree(first)
    killed_at = time.monotonic()
    assert unacked(chaos_settings) >= 1 and stored(chaos_settings) < n, "the batch finished before the kill"
    # kombu sweeps for expired deliveries when a worker starts, then every 10 s: start the new
    # worker once the visibility timeout has run out, as an operator would after a crash.
    time.sleep(max(0.0, 6 * TIME_LIMIT + 1 - (time.monotonic() - killed_at)))
    second = worker_factory(chaos_settings, queues="extract,translate,store,group", concurrency=2)
    assert wait_until(lambda: stored(chaos_settings) == n, timeout=90), (
        rows(chaos_settings), broker_state(chaos_settings),
        missing_urls(chaos_settings, [a.url for a in articles]), second.tail())
    # The orphan sweep sent again only what was really lost: at most what was being taken at the kill.
    assert second.log.read_text(errors="replace").count("had no message in any queue or delivery") <= 2
    assert_exactly_once(chaos_settings, n, ArticleStatus.TRANSLATED, second)


def translate_node(worker: Any) -> psutil.Process | None:
    """The translate node ``transcrawl worker`` runs beside its extract/store node."""
    for proc in pool_children(worker):
        with contextlib.suppress(psutil.Error):
            if any(arg.endswith("-translate@%h") for arg in proc.cmdline()):
                return proc
    return None


def test_a_translate_node_killed_mid_batch_loses_nothing(chaos_settings: Settings, worker_factory: Any) -> None:
    """SIGKILL the translate node while it holds a batch of articles; its worker restarts it.

    Its messages were never acknowledged, and the worker gives back what the dead node held at
    once (not after the visibility timeout, 120 s here): the restarted node translates them (those
    that were in the killed round each in a round of its own), and every article is stored once.
    """
    chaos_settings = dataclasses.replace(chaos_settings, task_time_limit=20, task_soft_time_limit=19,
                                         orphan_sweep_seconds=5)
    n = 24
    client = redis.Redis.from_url(chaos_settings.redis_url or "")
    articles = [with_raw_page(client, german_article(300 + i, paragraphs=20)) for i in range(n)]
    client.close()
    send(chaos_settings, TRANSLATE_TASK, [a.to_json() for a in articles])
    worker = worker_factory(chaos_settings, queues="extract,translate,store,group", concurrency=1)
    # Kill while the node holds a batch: its deliveries are unacked and not all articles are stored.
    # (Polled fast from the start: on an idle machine a whole batch takes a few seconds.)
    # Every translate delivery recorded by the node: a message received in the instant before the
    # kill and not yet recorded would wait for the visibility timeout, which this test is not about.
    assert wait_until(lambda: len(holding := translate_deliveries(chaos_settings)) >= 4
                      and holding <= held_by_nodes(chaos_settings)
                      and 0 <= stored(chaos_settings) < n and translate_node(worker) is not None,
                      timeout=90, interval=0.05), (stored(chaos_settings), unacked(chaos_settings), worker.tail())
    node = translate_node(worker)
    assert node is not None, worker.tail()
    node.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    assert stored(chaos_settings) < n, "the batch finished before the kill"
    assert wait_until(lambda: (new := translate_node(worker)) is not None and new.pid != node.pid,
                      timeout=30), worker.tail()
    assert worker.process.poll() is None, "the worker died with its translate node"
    # Everything comes back well before the visibility timeout (6 × 20 s here): what the node had
    # taken, recorded just before kombu's own write, is given back by the supervisor at once; one
    # it had popped from its queue (BRPOP) but kombu had not yet recorded is gone from Redis, and
    # the worker's orphan sweep (every 5 s) finds its raw page unreferenced and extracts it again.
    assert wait_until(lambda: stored(chaos_settings) == n, timeout=60), (
        rows(chaos_settings), time.monotonic() - killed_at, broker_state(chaos_settings),
        missing_urls(chaos_settings, [a.url for a in articles]), worker.tail())
    log = worker.log.read_text(errors="replace")
    given = re.search(r"gave back the (\d+) message", log)
    assert given and int(given.group(1)) >= 1, worker.tail()
    # The sweep ran every 5 s all along, and sent again only what was really lost: at most what
    # the node was taking at the kill, never the articles waiting in queues or held by the node.
    assert log.count("had no message in any queue or delivery") <= 2, worker.tail()
    assert_exactly_once(chaos_settings, n, ArticleStatus.TRANSLATED, worker)


def test_postgres_restarts_while_workers_store(chaos_settings: Settings, postgres: PrivatePostgres,
                                              worker_factory: Any) -> None:
    """Restart Postgres four times under a storing worker: with stores blocked mid-transaction,
    ``fast``, ``immediate`` (a crash and recovery), and a stop with 5 s of downtime.

    The worker is never restarted: its pool drops dead connections and transient
    ``OperationalError`` retries with backoff, so every article ends stored and none failed.
    """
    # The pool waits up to 30 s for a connection before PoolTimeout (transient): the soft time
    # limit must be longer than that, as in production (540 s), or a wait ends as "timeout".
    settings = dataclasses.replace(chaos_settings, task_time_limit=60, task_soft_time_limit=50)
    n = 1500
    send(settings, STORE_TASK, [english_article(i).to_json() for i in range(n)])
    worker = worker_factory(settings, queues="store,group", concurrency=2)
    started = [postmaster_started(postgres)]
    plan = ((n // 5, "in-flight"), (2 * n // 5, "fast"), (3 * n // 5, "immediate"), (4 * n // 5, "down"))
    for threshold, how in plan:
        assert wait_until(lambda t=threshold: stored(chaos_settings) >= t, timeout=120), worker.tail()
        if how == "in-flight":  # stores blocked mid-transaction when the server goes: AdminShutdown
            locker = psycopg.connect(settings.database_url or "")
            locker.execute("LOCK TABLE articles IN EXCLUSIVE MODE")
            assert wait_until(lambda: lock_waiters(postgres) >= 1, timeout=20), worker.tail()
            postgres.restart("fast")
            with contextlib.suppress(psycopg.Error):
                locker.close()
        elif how == "down":
            postgres.stop("fast")
            time.sleep(5)
            postgres.start()
        else:
            postgres.restart(how)
        started.append(postmaster_started(postgres))
    assert len(set(started)) == 5, started  # four real restarts, each a new postmaster
    assert wait_until(lambda: stored(chaos_settings) == n, timeout=120), (rows(chaos_settings), worker.tail())
    assert worker.process.poll() is None
    assert "retry: Retry in" in worker.log.read_text(errors="replace"), "no store was cut mid-transaction"
    assert_exactly_once(chaos_settings, n, ArticleStatus.ORIGINAL_ENGLISH, worker)


def test_queued_work_survives_a_redis_kill(chaos_settings: Settings, broker: PrivateRedis,
                                           worker_factory: Any) -> None:
    """kill -9 Redis with work queued (AOF, fsync always), then again under a running worker."""
    # A long time limit: a cold worker's first extraction imports the extractors (seconds on a
    # busy machine). The deliveries whose ack the kill swallowed come back after the visibility
    # timeout; test_a_redelivered_extract_after_store_is_harmless covers what they then do.
    settings = dataclasses.replace(chaos_settings, task_time_limit=60, task_soft_time_limit=50)
    client = redis.Redis.from_url(broker.url)
    celery = producer(broker.url)
    urls = [raw_page(client, celery, i) for i in range(200)]
    client.close()
    broker.restart_after_kill()  # no worker yet: everything is still in the queue
    client = redis.Redis.from_url(broker.url)
    assert client.llen("extract") == 200
    assert all(client.exists(raw_page_key(u)) for u in urls)
    worker = worker_factory(settings, queues="extract,store,group", concurrency=2)
    assert wait_until(lambda: stored(settings) >= 40, timeout=90), worker.tail()
    broker.kill()  # and now under a running worker
    time.sleep(2)
    broker.start()
    assert wait_until(lambda: backlog(settings) - unacked(settings) == 0 and stored(settings) >= 190,
                      timeout=120), (rows(settings), worker.tail())
    time.sleep(2)
    assert worker.process.poll() is None, "the worker did not survive the broker's death"
    # What was in flight at the kill is parked in ``unacked`` until the visibility timeout, or
    # lost if kombu had popped it (BRPOP) but not yet recorded it there. Either way its raw page
    # is still in Redis: requeue such orphans, as docs/recovery.md tells operators to. The same
    # sweep deletes the claim checks of stores that had just started at the kill: stored, but
    # their delete failed and their requeue was lost with the connection.
    orphans = requeue_orphans(settings, older_than=0)["requeued"]  # `failures requeue-orphans`
    assert orphans <= 2, f"{orphans} pages orphaned: more than the worker had in flight"
    assert wait_until(lambda: stored(settings) == 200, timeout=60), (rows(settings), worker.tail())
    assert rows(settings) == {ArticleStatus.ORIGINAL_ENGLISH: 200, "urls": 200, "failures": 0}
    assert int(client.hlen("unacked")) <= 2, "more in flight than the worker's two processes"
    assert not any(client.exists(raw_page_key(u)) for u in urls), "claim checks left behind"
    client.close()
    celery.close()


def test_a_redelivered_extract_after_store_is_harmless(chaos_settings: Settings, broker: PrivateRedis,
                                                      worker_factory: Any) -> None:
    """An extract delivered again after its article was stored (its ack was lost to a crash).

    The store spent the claim check, so the second extraction finds no raw page: that must not
    leave an open failure beside a stored article.
    """
    settings = dataclasses.replace(chaos_settings, task_time_limit=60, task_soft_time_limit=50)
    client = redis.Redis.from_url(broker.url)
    celery = producer(broker.url)
    url = raw_page(client, celery, 7)
    message = {"raw_key": raw_page_key(url), "url": url, "site": "news"}
    worker = worker_factory(settings, queues="extract,store,group", concurrency=1)
    assert wait_until(lambda: stored(settings) == 1, timeout=90), worker.tail()
    celery.send_task(EXTRACT_TASK, args=[message])  # the redelivery
    assert wait_until(lambda: backlog(settings) == 0, timeout=30), worker.tail()
    time.sleep(1)
    assert rows(settings) == {ArticleStatus.ORIGINAL_ENGLISH: 1, "urls": 1, "failures": 0}, worker.tail()
    client.close()
    celery.close()


def test_without_persistence_a_redis_kill_loses_the_queue() -> None:
    """The documented failure mode: with ``appendonly no`` a kill takes queue and raw pages along."""
    server = PrivateRedis(appendonly=False)
    server.start()
    try:
        client = redis.Redis.from_url(server.url)
        celery = producer(server.url)
        urls = [raw_page(client, celery, i) for i in range(20)]
        client.close()
        celery.close()
        server.restart_after_kill()
        client = redis.Redis.from_url(server.url)
        assert client.llen("extract") == 0
        assert not any(client.exists(raw_page_key(u)) for u in urls)
        client.close()
    finally:
        server.close()


def test_a_task_that_cannot_reach_the_broker_keeps_its_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the broker away, neither a retry nor a failure record can be sent: the task must
    reject its message for requeueing. Any other exception is acked (``acks_late`` acks failures
    too), and Celery's own ``Reject`` from a failed retry drops the message."""
    from types import SimpleNamespace

    from celery.exceptions import Reject
    from kombu.exceptions import OperationalError

    from workers import tasks

    def broker_down(*_: Any, **__: Any) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    class Task:
        request = SimpleNamespace(retries=0)

        def retry(self, **_: Any) -> None:
            raise Reject(OperationalError("cannot publish the retry"), requeue=False)

    monkeypatch.setattr(tasks.app, "send_task", broker_down)
    with pytest.raises(Reject) as caught:
        tasks.fail("extract", {"url": "https://news.test/1"}, "no_text", "thin page")
    assert caught.value.requeue
    with pytest.raises(Reject) as caught:
        tasks._retry(Task(), "extract", {"url": "https://news.test/1"}, OperationalError("down"), 8)  # type: ignore[arg-type]
    assert caught.value.requeue
