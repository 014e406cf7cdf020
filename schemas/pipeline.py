"""The pipeline's whole wiring: queues, tasks, who sends what to whom, routing, delivery policy.

    crawl ──ExtractMessage──▶ extract ──Article──▶ translate[.<lang>] ──Article──▶ store ──GroupMessage──▶ group
                                 └──────────── English (no translation) ────────────▶ store
    any stage ──FailureMessage──▶ record_failure (consumed on the store queue)

Stages never name their neighbours: a task computes its result and asks :func:`next_hop` where
it goes. Producers (crawler, shell) and workers build their Celery app from :func:`celery_config`
(through :func:`producer` or the workers' app), so routing and serialisation never disagree.

Routing by language: workers started with ``--languages zh,de`` consume ``translate.zh`` and
``translate.de`` and advertise those languages in Redis with an expiry, renewed while they live.
Articles in an advertised language go to its queue; all others go to ``translate``. If the
dedicated workers stop, the advertisement expires and new articles fall back to the general
queue; messages already waiting in a dedicated queue stay there, visible in ``transcrawl
status``, until a worker for that language returns.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from schemas.keys import DEDICATED_LANGUAGES_KEY
from schemas.messages import Article, ArticleStatus

if TYPE_CHECKING:  # imported when used: ``transcrawl extract`` needs neither (0.17 s at start)
    import redis
    from celery import Celery

EXTRACT_TASK = "transcrawl.extract"
TRANSLATE_TASK = "transcrawl.translate"
STORE_TASK = "transcrawl.store"
FAILURE_TASK = "transcrawl.record_failure"
GROUP_TASK = "transcrawl.group"

QUEUE_EXTRACT = "extract"
QUEUE_TRANSLATE = "translate"
QUEUE_STORE = "store"
QUEUE_GROUP = "group"
ALL_QUEUES = (QUEUE_EXTRACT, QUEUE_TRANSLATE, QUEUE_STORE, QUEUE_GROUP)
DEFAULT_WORKER_QUEUES = ALL_QUEUES

ENGLISH = "en"


@dataclasses.dataclass(frozen=True)
class Hop:
    """A task and the queue its message goes to."""

    task: str
    queue: str


EXTRACT = Hop(EXTRACT_TASK, QUEUE_EXTRACT)
TRANSLATE = Hop(TRANSLATE_TASK, QUEUE_TRANSLATE)
STORE = Hop(STORE_TASK, QUEUE_STORE)
RECORD_FAILURE = Hop(FAILURE_TASK, QUEUE_STORE)
GROUP = Hop(GROUP_TASK, QUEUE_GROUP)

# Who sends what to whom: each stage and the hops its messages may take.
FLOW: dict[str, tuple[Hop, ...]] = {
    "crawl": (EXTRACT, RECORD_FAILURE),  # crawler/pipelines.py
    "extract": (TRANSLATE, STORE, RECORD_FAILURE),
    "translate": (STORE, RECORD_FAILURE),
    "store": (GROUP, RECORD_FAILURE),
    "group": (RECORD_FAILURE,),
}

# The hop that replays a failed stage's message (``transcrawl failures retry``).
REPLAY: dict[str, Hop] = {"extract": EXTRACT, "translate": TRANSLATE, "store": STORE, "group": GROUP}

TASK_ROUTES = {hop.task: {"queue": hop.queue} for hop in (EXTRACT, TRANSLATE, STORE, RECORD_FAILURE, GROUP)}


def translate_queue(language: str) -> str:
    """The queue of workers dedicated to one source language (``transcrawl worker --languages``)."""
    return f"{QUEUE_TRANSLATE}.{language}"


def queue_names(client: redis.Redis) -> list[str]:
    """The pipeline's queues plus any per-language translate queue (``translate.zh``, …) in Redis."""
    extra = sorted(k.decode() for k in client.scan_iter(f"{QUEUE_TRANSLATE}.*", _type="list"))
    return [*ALL_QUEUES, *extra]


def needs_grouping(article: Article) -> bool:
    """Stored with text to group by: English, or its original until a translation comes."""
    return article.status != ArticleStatus.PENDING


def needs_translation(article: Article) -> bool:
    return article.status == ArticleStatus.PENDING and article.language != ENGLISH


def next_hop(stage: str, article: Article, dedicated: Collection[str] = ()) -> Hop:
    """Where ``stage`` sends its article: translation (routed by language) or the store."""
    if stage == "extract" and needs_translation(article):
        if article.language in dedicated:
            return Hop(TRANSLATE_TASK, translate_queue(article.language))
        return TRANSLATE
    if stage in ("extract", "translate"):
        return STORE
    if stage == "store":
        return GROUP
    raise ValueError(f"stage {stage!r} sends no article on")


def worker_queues(queues: Sequence[str], languages: Sequence[str] = ()) -> list[str]:
    """The queues a worker consumes: with ``languages``, their dedicated translate queues replace
    the general one."""
    if not languages:
        return list(queues)
    return [*(q for q in queues if q != QUEUE_TRANSLATE), *(translate_queue(lang) for lang in languages)]


def send(app: Celery, hop: Hop, message: dict[str, Any]) -> None:
    """Send one JSON message along ``hop`` (by task name: the sender imports no worker code)."""
    app.send_task(hop.task, args=[message], queue=hop.queue)


ADVERTISE_EVERY = 30.0  # seconds between renewals of a dedicated worker's advertisement
ADVERTISE_FOR = 90.0  # an advertisement outlives two missed renewals


def advertise(client: redis.Redis, languages: Sequence[str]) -> None:
    """Say that workers for ``languages`` are alive, for the next :data:`ADVERTISE_FOR` seconds."""
    until = time.time() + ADVERTISE_FOR
    client.hset(DEDICATED_LANGUAGES_KEY, mapping={lang: until for lang in languages})


class DedicatedLanguages:
    """The languages that have live dedicated workers, read from Redis at most every few seconds."""

    def __init__(self, client: redis.Redis, cache_seconds: float = 10.0) -> None:
        self.client, self.cache_seconds = client, cache_seconds
        self._until: dict[str, float] = {}
        self._read_at = float("-inf")

    def current(self) -> frozenset[str]:
        now = time.time()
        if now - self._read_at > self.cache_seconds:
            raw: dict[bytes, bytes] = self.client.hgetall(DEDICATED_LANGUAGES_KEY)  # type: ignore[assignment]
            self._until = {k.decode(): float(v) for k, v in raw.items()}
            self._read_at = now
        return frozenset(lang for lang, until in self._until.items() if until > now)


def visibility_timeout(task_time_limit: int) -> int:
    """Seconds before Redis gives an unacknowledged message to another worker.

    Must exceed the hard time limit, or a long task is redelivered while it still runs.
    """
    return task_time_limit * 6


def celery_config(redis_url: str, *, task_time_limit: int = 600, soft_time_limit: int = 540) -> dict[str, Any]:
    """The delivery policy: Celery settings for producers and workers alike."""
    return {
        "broker_url": redis_url,
        "task_ignore_result": True,
        "result_backend": None,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_routes": TASK_ROUTES,
        "task_default_queue": QUEUE_EXTRACT,
        # Redelivery safety: a task is acknowledged only after it ran, and a worker that dies
        # mid-task gives it back. Tasks are idempotent (upserts keyed on the canonical URL), and a
        # message that keeps killing its worker is stopped by a delivery count (poison).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": task_time_limit,
        "task_soft_time_limit": soft_time_limit,
        # A worker sweeps for deliveries whose worker died every 10 s (kombu's default, every 100 s),
        # so that they come back soon after their visibility timeout.
        "broker_transport_options": {"visibility_timeout": visibility_timeout(task_time_limit),
                                     "unacked_restore_throttle": 1},
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": True,
        "task_send_sent_event": False,
    }


def producer(redis_url: str) -> Celery:
    """A Celery app that only sends messages, with the pipeline's routing and serialisation."""
    from celery import Celery

    app = Celery("transcrawl-producer", set_as_current=False)
    app.conf.update(celery_config(redis_url))
    return app
