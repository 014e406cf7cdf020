"""What decides a message's fate: one error tree, and which library errors count as transient.

    TranscrawlError
    ├── TransientError        retry with exponential backoff and jitter: the cause is outside the
    │                         message (network, Postgres, Redis, the broker) and may go away
    └── PermanentError        never retried: recorded in ``failures`` with ``reason``, then done
        ├── RawPageMissing    workers: the raw page expired from Redis before extraction
        ├── BadPage           workers: not HTML, empty, too large, undecodable, no article text
        ├── TranslationFailed workers: the model failed on this text
        ├── ModelNotInstalled workers: no model for the language; not a failure: the article is
        │                     stored ``untranslated`` with the reason (``no_model``)
        └── Poison            workers: the message killed its worker process at every delivery

Libraries raise their own errors; :func:`is_transient` is the one place that says which of them
mean "try again later" (:func:`transient_library_errors`), so a stage need not wrap every call.
Any other exception is a bug: retried a few times, then recorded with its type as the reason.
Each ``reason`` is a short word stored in ``failures.reason``: part of the database contract.
"""

from __future__ import annotations

from functools import cache


class TranscrawlError(Exception):
    """Base of all errors a stage raises on purpose; ``reason`` is the word stored in ``failures``."""

    reason = "error"

    def __init__(self, detail: str, *, reason: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if reason:
            self.reason = reason


class TransientError(TranscrawlError):
    """Worth retrying: the cause is outside the message and may go away."""

    reason = "transient"


class PermanentError(TranscrawlError):
    """Retrying cannot help: record it and move on."""

    reason = "permanent"


@cache
def transient_library_errors() -> tuple[type[BaseException], ...]:
    """The library errors that mean "try again later".

    Imported on first use, not with this module: every stage imports the error tree, and
    ``transcrawl extract`` on files would otherwise load the database and broker clients for nothing.
    """
    import kombu.exceptions
    import psycopg
    import redis

    return (
        psycopg.OperationalError,  # includes AdminShutdown (Postgres restarting) and PoolTimeout
        redis.ConnectionError,
        redis.TimeoutError,
        kombu.exceptions.OperationalError,  # sending the next task failed: the broker is unreachable
        ConnectionError,
        TimeoutError,
    )


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` deserves a retry: a :class:`TransientError`, or a library's network error."""
    if isinstance(exc, PermanentError):
        return False
    return isinstance(exc, (TransientError, *transient_library_errors()))
