"""The error tree decides each message's fate: retry, record, untranslated, or poison."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, Self

import kombu.exceptions
import psycopg
import psycopg_pool
import pytest
import redis
from celery.exceptions import Retry

from foundation.errors import (
    PermanentError,
    TranscrawlError,
    TransientError,
    is_transient,
)
from foundation.settings import Settings
from schemas.messages import Article, ArticleStatus
from schemas.pipeline import DedicatedLanguages
from workers import context, errors, stages, tasks
from workers.translate import ModelNotInstalled as FromTranslate
from workers.translate.models import ModelNotInstalled as FromModels

WORKER_ERRORS: dict[type[TranscrawlError], str] = {
    errors.RawPageMissing: "raw_page_missing",
    errors.BadPage: "bad_page",
    errors.TranslationFailed: "translation_failed",
    errors.ModelNotInstalled: "no_model",
    errors.Poison: "poison",
}


def test_every_worker_error_is_permanent_with_its_stored_reason() -> None:
    # The reasons are stored in failures.reason (and articles.status_reason): a contract.
    for cls, reason in WORKER_ERRORS.items():
        assert issubclass(cls, PermanentError) and issubclass(cls, TranscrawlError), cls
        assert cls.reason == reason
    assert not issubclass(TransientError, PermanentError) and issubclass(TransientError, TranscrawlError)
    assert errors.BadPage("binary body", reason="not_html").reason == "not_html"
    assert FromTranslate is FromModels is errors.ModelNotInstalled


@pytest.mark.parametrize("exc", [
    psycopg.OperationalError("server closed the connection"),
    psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
    psycopg_pool.PoolTimeout("couldn't get a connection after 30 s"),
    redis.ConnectionError("Error 111 connecting"),
    redis.TimeoutError("Timeout reading from socket"),
    kombu.exceptions.OperationalError("broker unreachable"),
    ConnectionResetError(),
    TimeoutError(),
    TransientError("try later"),
])
def test_network_and_database_errors_are_transient(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize("exc", [ValueError("bug"), KeyError("meta"), errors.BadPage("empty"),
                                 psycopg.errors.UniqueViolation("duplicate key"), errors.Poison("x")])
def test_bugs_and_permanent_errors_are_not(exc: BaseException) -> None:
    assert not is_transient(exc)


def test_a_missing_model_stores_the_article_untranslated() -> None:
    class NoModel:
        def translate_article(self, article: Article, *, delivery: str | None = None,
                              timeout: float | None = None) -> Article:
            raise errors.ModelNotInstalled(article.language)

    article = Article(url="https://z.test/1", site="z", country="xx", language="xx", title="t",
                      text="t", authors=[], published_at=None, fetched_at="2026-11-27T09:00:00+00:00")
    out = stages.translate(NoModel(), article)
    assert out.status == ArticleStatus.UNTRANSLATED and "xx→en" in (out.status_reason or "")


# -- fates in run_with_fate, with a Redis double (unit tests use no servers) ------------------


class FakeRedis:
    """The three commands the delivery counter uses."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.ttls: dict[str, int] = {}

    def pipeline(self) -> FakeRedis:
        self._queued: list[Any] = []
        return self

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        pass

    def incr(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1
        self._queued.append(self.counts[key])

    def expire(self, key: str, seconds: int) -> None:
        self.ttls[key] = seconds
        self._queued.append(True)

    def execute(self) -> list[Any]:
        return self._queued

    def delete(self, key: str) -> None:
        self.counts.pop(key, None)


class FakeTask:
    def __init__(self, task_id: str | None = "t1", retries: int = 0) -> None:
        self.request = SimpleNamespace(id=task_id, retries=retries)

    def retry(self, *, exc: BaseException, countdown: float, max_retries: int | None) -> BaseException:
        retry: BaseException = Retry(exc=exc, when=countdown)
        return retry


@pytest.fixture()
def fates(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeRedis, list[tuple[str, str]]]]:
    """A context on a Redis double; failures sent are collected instead of published."""
    client = FakeRedis()
    ctx = context.WorkerContext(Settings(redis_url="redis://127.0.0.1:6399/0", max_deliveries=3),
                                client, DedicatedLanguages(client))  # type: ignore[arg-type]
    monkeypatch.setattr(context, "_current", ctx)
    monkeypatch.setattr(context, "_settings", ctx.settings)
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(tasks, "fail", lambda stage, message, reason, detail: sent.append((stage, reason)))
    yield client, sent


def test_fates(fates: tuple[FakeRedis, list[tuple[str, str]]]) -> None:
    client, sent = fates
    message = {"url": "https://news.test/1"}

    def permanent() -> None:
        raise errors.BadPage("thin", reason="no_text")

    def transient() -> None:
        raise psycopg.OperationalError("server closed the connection")

    def ours() -> None:
        raise TransientError("the translation service is busy")

    assert tasks.run_with_fate(FakeTask(), "extract", message, lambda: "done") == "done"
    tasks.run_with_fate(FakeTask(), "extract", message, permanent)
    assert sent == [("extract", "no_text")]
    with pytest.raises(Retry):
        tasks.run_with_fate(FakeTask(), "extract", message, transient)
    with pytest.raises(Retry):
        tasks.run_with_fate(FakeTask(), "extract", message, ours)
    assert client.counts == {}, "a delivery that ended, whatever its fate, leaves no counter"


def test_a_message_whose_deliveries_never_end_is_poison(fates: tuple[FakeRedis, list[tuple[str, str]]]) -> None:
    client, sent = fates
    ran: list[int] = []
    # Three deliveries died (their counter was never deleted): what a killed process leaves.
    for _ in range(3):
        tasks.count_delivery(tasks.delivery_counter(FakeTask("t2")) or "")
    assert tasks.run_with_fate(FakeTask("t2"), "translate", {}, lambda: ran.append(1)) is None
    assert ran == [] and sent == [("translate", "poison")]
    assert client.counts == {"transcrawl:deliveries:t2:0": 4}, "kept (with a TTL) to refuse a lost ack's return"
    assert client.ttls["transcrawl:deliveries:t2:0"] > 0
    # A retry of the same task id is a new message with a count of its own.
    tasks.run_with_fate(FakeTask("t2", retries=1), "translate", {}, lambda: ran.append(1))
    assert ran == [1] and sent == [("translate", "poison")]
    # A task called directly (no delivery) is never counted.
    tasks.run_with_fate(FakeTask(None), "translate", {}, lambda: ran.append(2))
    assert ran == [1, 2] and list(client.counts) == ["transcrawl:deliveries:t2:0"]
