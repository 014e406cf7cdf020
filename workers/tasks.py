"""Celery tasks: each deserialises, calls a plain step, then applies the fate policy.

Fates (see ``workers.errors``): transient → retry with exponential backoff and jitter;
permanent → a ``failures`` row with the reason, then done; unexpected → a few retries, then
permanent. A task never waits on another task: it sends the next one by name.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from celery import Task
from celery.exceptions import (
    MaxRetriesExceededError,
    Reject,
    Retry,
    SoftTimeLimitExceeded,
)
from kombu.exceptions import OperationalError as BrokerError

from schemas import pipeline
from schemas.messages import Article, ExtractMessage, FailureMessage
from schemas.pipeline import (
    EXTRACT_TASK,
    FAILURE_TASK,
    RECORD_FAILURE,
    STORE_TASK,
    TRANSLATE_TASK,
)
from workers import resources, stages, store
from workers.app import app
from workers.errors import PermanentError
from workers.resources import TRANSIENT_ERRORS

log = logging.getLogger("transcrawl.tasks")

MAX_TRANSIENT_RETRIES = 8
MAX_UNEXPECTED_RETRIES = 2


def backoff(retries: int, base: float = 2.0, cap: float = 300.0) -> float:
    """Full-jitter exponential backoff (seconds) for the ``retries``-th retry."""
    return random.uniform(0, min(cap, base * 2**retries))


def run_with_fate(task: Task, stage: str, message: dict[str, Any], step: Callable[[], Any]) -> Any:
    """Run ``step``; on failure retry or record, so that no message ends silently."""
    _tag(message)
    try:
        return step()
    except Retry:
        raise
    except PermanentError as exc:
        fail(stage, message, exc.reason, exc.detail)
    except SoftTimeLimitExceeded:
        fail(stage, message, "timeout", f"{stage} ran past its soft time limit")
    except TRANSIENT_ERRORS as exc:
        _retry(task, stage, message, exc, MAX_TRANSIENT_RETRIES)
    except Exception as exc:  # a bug or an input we did not foresee: retry a little, then record
        # A warning, not log.exception: Sentry's logging integration would send a second event.
        log.warning("%s failed for %s", stage, message.get("url"), exc_info=True)
        _report(exc)
        _retry(task, stage, message, exc, MAX_UNEXPECTED_RETRIES)
    return None


def _retry(task: Task, stage: str, message: dict[str, Any], exc: Exception, limit: int) -> None:
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


@app.task(name=EXTRACT_TASK, bind=True, acks_late=True)
def extract(self: Task, message: dict[str, Any]) -> None:
    def step() -> None:
        article = stages.extract(resources.redis_client(), ExtractMessage.from_json(message))
        forward("extract", article)

    run_with_fate(self, "extract", message, step)


@app.task(name=TRANSLATE_TASK, bind=True, acks_late=True)
def translate(self: Task, message: dict[str, Any]) -> None:
    def step() -> None:
        article = stages.translate(resources.translator(), Article.from_json(message))
        forward("translate", article)

    run_with_fate(self, "translate", message, step)


@app.task(name=STORE_TASK, bind=True, acks_late=True)
def store_article(self: Task, message: dict[str, Any]) -> None:
    def step() -> None:
        article = Article.from_json(message)
        with resources.connection() as conn:
            store.upsert_article(conn, article)
        if article.raw_key:  # the claim check is spent only once the article is safe in Postgres
            resources.redis_client().delete(article.raw_key)

    run_with_fate(self, "store", message, step)


@app.task(name=FAILURE_TASK, bind=True, acks_late=True, max_retries=None)
def record_failure(self: Task, failure: dict[str, Any]) -> None:
    # Only transient errors are possible here; keep trying (with backoff) until Postgres answers.
    try:
        with resources.connection() as conn:
            store.record_failure(conn, FailureMessage.from_json(failure))
    except TRANSIENT_ERRORS as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries, cap=60.0)) from exc


def forward(stage: str, article: Article) -> None:
    """Send the article on to wherever the topology says ``stage`` sends it."""
    dedicated = resources.dedicated_languages().current() if stage == "extract" else frozenset()
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
