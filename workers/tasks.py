"""Celery tasks: each deserialises, calls a plain step, then applies the fate policy.

Fates (the tree is drawn in ``foundation.errors``): transient → retry with exponential backoff and
jitter; permanent → a ``failures`` row with the reason, then done; unexpected → a few retries,
then permanent. A message that kills its worker process (a segfault, the OOM killer) is given
back by Celery and comes again: past ``max_deliveries`` deliveries that never finished it is
recorded as ``poison`` and not run again. A task never waits on another task: it sends the next
one by name.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import redis
from celery import Task
from celery.exceptions import (
    MaxRetriesExceededError,
    Reject,
    Retry,
    SoftTimeLimitExceeded,
)
from kombu.exceptions import OperationalError as BrokerError

from schemas import pipeline
from schemas.messages import Article, ExtractMessage, FailureMessage, GroupMessage
from schemas.pipeline import (
    EXTRACT_TASK,
    FAILURE_TASK,
    GROUP_TASK,
    RECORD_FAILURE,
    STORE_TASK,
    TRANSLATE_TASK,
)
from workers import context, deliveries, stages, store
from workers.app import app
from workers.errors import PermanentError, Poison, is_transient

log = logging.getLogger("transcrawl.tasks")

MAX_TRANSIENT_RETRIES = 8
MAX_UNEXPECTED_RETRIES = 2

T = TypeVar("T")


class Request(Protocol):
    """What a fate reads of a task's request (``celery.app.task.Context``)."""

    id: str | None
    retries: int


class BoundTask(Protocol):
    """What a fate needs of a bound Celery task (Celery ships no type hints)."""

    @property
    def request(self) -> Request: ...

    def retry(self, *, exc: BaseException, countdown: float, max_retries: int | None) -> BaseException: ...


def _task(name: str, **options: Any) -> Callable[[Callable[..., None]], Any]:
    """``app.task`` bound, with late acks and the given options."""
    decorator: Callable[[Callable[..., None]], Any] = app.task(name=name, bind=True, acks_late=True, **options)
    return decorator


def backoff(retries: int, base: float = 2.0, cap: float = 300.0) -> float:
    """Full-jitter exponential backoff (seconds) for the ``retries``-th retry."""
    return random.uniform(0, min(cap, base * 2**retries))


def run_with_fate(task: BoundTask, stage: str, message: dict[str, Any], step: Callable[[], T], *,
                  counted: bool = True) -> T | None:
    """Run ``step``; on failure retry or record, so that no message ends silently.

    ``counted``: count this delivery now (poison). A translate step counts its own, when its
    article enters an engine round (``workers.translate.batcher``); the counter goes either way.
    """
    _tag(message)
    counter = delivery_counter(task)
    poison = False
    try:
        if counted and counter:
            count_delivery(counter)  # Poison when earlier deliveries all killed their process
        return step()
    except Retry:
        raise
    except SoftTimeLimitExceeded:
        fail(stage, message, "timeout", f"{stage} ran past its soft time limit")
    except PermanentError as exc:
        poison = isinstance(exc, Poison)  # its counter stays (with a TTL) to refuse a lost ack's return
        fail(stage, message, exc.reason, exc.detail)
    except Exception as exc:
        if is_transient(exc):
            _retry(task, stage, message, exc, MAX_TRANSIENT_RETRIES)
        else:  # a bug or an input we did not foresee: retry a little, then record
            # A warning, not log.exception: Sentry's logging integration would send a second event.
            log.warning("%s failed for %s", stage, message.get("url"), exc_info=True)
            _report(exc)
            _retry(task, stage, message, exc, MAX_UNEXPECTED_RETRIES)
    finally:
        if counter and not poison:  # this delivery ended in a live process: it was no poison
            deliveries.forget(context.current().redis, counter)
    return None


def delivery_counter(task: BoundTask) -> str | None:
    """The delivery counter of the task's message (``workers.deliveries``); None when the task
    was called directly rather than delivered, or when there is no delivery limit."""
    request = task.request
    if not request.id or context.current().settings.max_deliveries <= 0:
        return None
    return deliveries.key(request.id, request.retries)


def count_delivery(counter: str) -> None:
    """Count this delivery; :class:`Poison` past ``max_deliveries``."""
    ctx = context.current()
    limit = ctx.settings.max_deliveries
    [count] = deliveries.enter(ctx.redis, [counter], max_deliveries=limit,
                               task_time_limit=ctx.settings.task_time_limit)
    if count > limit:
        raise Poison(f"delivered {count} times; the {count - 1} before never finished "
                     "(each killed its worker process)")


def _retry(task: BoundTask, stage: str, message: dict[str, Any], exc: Exception, limit: int) -> None:
    try:
        raise task.retry(exc=exc, countdown=backoff(task.request.retries), max_retries=limit)
    except MaxRetriesExceededError:
        fail(stage, message, type(exc).__name__, f"gave up after {limit} retries: {exc}")
    except Retry:
        raise
    except Reject as rejected:  # Celery could not send the retry and would drop the message
        raise Reject(rejected.reason, requeue=True) from exc
    except Exception:  # task.retry re-raises exc itself once max_retries is exceeded
        fail(stage, message, type(exc).__name__, f"gave up after {limit} retries: {exc}")


def fail(stage: str, message: dict[str, Any], reason: str, detail: str) -> None:
    """Send a failure to be recorded (by a store worker) with what is needed to replay it."""
    log.warning("%s failed for %s: %s (%s)", stage, message.get("url"), reason, detail)
    try:
        failure = FailureMessage(url=message.get("url") or "", site=message.get("site"), stage=stage,
                                 reason=reason, detail=detail, raw_key=message.get("raw_key"),
                                 payload=message)
        pipeline.send(app, RECORD_FAILURE, failure.to_json())
    except BrokerError as error:
        # Raising anything else would ack the message (acks_late acks failures too) and lose it:
        # a rejected message goes back to its queue, or stays unacked until the visibility timeout.
        raise Reject(error, requeue=True) from error


@_task(EXTRACT_TASK)
def extract(self: Task, message: dict[str, Any]) -> None:
    def step() -> None:
        article = stages.extract(context.current().redis, ExtractMessage.from_json(message))
        forward("extract", article)

    run_with_fate(self, "extract", message, step)


@_task(TRANSLATE_TASK)
def translate(self: Task, message: dict[str, Any]) -> None:
    # Many of these run at once in a translate worker's threads; the process's batcher gathers
    # their articles into shared engine rounds. The message is acknowledged (acks_late) only after
    # forward() has handed the article on.
    counter = delivery_counter(self)

    def step() -> None:
        ctx = context.current()
        article = stages.translate(ctx.batcher(), Article.from_json(message), delivery=counter,
                                   timeout=float(ctx.settings.task_soft_time_limit))
        forward("translate", article)

    run_with_fate(self, "translate", message, step, counted=False)


@_task(STORE_TASK)
def store_article(self: Task, message: dict[str, Any]) -> None:
    def step() -> None:
        ctx = context.current()
        article = Article.from_json(message)
        with ctx.connection() as conn:
            store.upsert_article(conn, article)
        if article.raw_key:  # the claim check is spent only once the article is safe in Postgres
            ctx.redis.delete(article.raw_key)
        if pipeline.needs_grouping(article):  # a redelivery sends it again: grouping is idempotent
            pipeline.send(app, pipeline.next_hop("store", article),
                          GroupMessage(url=article.url, site=article.site).to_json())

    run_with_fate(self, "store", message, step)


@_task(GROUP_TASK)
def group(self: Task, message: dict[str, Any]) -> None:
    def step() -> None:
        ctx = context.current()
        grouped = stages.group(ctx.connection, GroupMessage.from_json(message), ctx.settings)
        log.info("grouped %s: story %s%s", message.get("url"), grouped.story_id,
                 " (opened)" if grouped.opened else f" (copy of {grouped.duplicate_of})"
                 if grouped.duplicate_of else "")

    run_with_fate(self, "group", message, step)


@_task(FAILURE_TASK, max_retries=None)
def record_failure(self: Task, failure: dict[str, Any]) -> None:
    # Only transient errors are possible here; keep trying (with backoff) until Postgres answers.
    try:
        with context.current().connection() as conn:
            store.record_failure(conn, FailureMessage.from_json(failure))
    except Exception as exc:
        if not is_transient(exc):
            raise
        raise self.retry(exc=exc, countdown=backoff(self.request.retries, cap=60.0)) from exc


def forward(stage: str, article: Article) -> None:
    """Send the article on to wherever the topology says ``stage`` sends it."""
    dedicated = context.current().dedicated.current() if stage == "extract" else frozenset()
    pipeline.send(app, pipeline.next_hop(stage, article, dedicated), article.to_json())


def _tag(message: dict[str, Any]) -> None:
    """Every Sentry event from this task names the article's site and URL."""
    try:
        import sentry_sdk

        sentry_sdk.set_tag("site", message.get("site"))
        sentry_sdk.set_tag("url", message.get("url"))
    except Exception:  # Sentry must never break a task
        pass


def _report(exc: BaseException) -> None:
    """Unexpected errors are bugs: send them to Sentry (a no-op without SENTRY_DSN)."""
    try:
        import sentry_sdk

        sentry_sdk.capture_exception(exc)
    except Exception:
        pass
