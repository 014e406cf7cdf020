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
mean "try again later" (:data:`TRANSIENT_LIBRARY_ERRORS`), so a stage need not wrap every call.
Any other exception is a bug: retried a few times, then recorded with its type as the reason.
Each ``reason`` is a short word stored in ``failures.reason``: part of the database contract.
"""

from __future__ import annotations

import kombu.exceptions
import psycopg
import redis


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


TRANSIENT_LIBRARY_ERRORS: tuple[type[BaseException], ...] = (
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
    return isinstance(exc, (TransientError, *TRANSIENT_LIBRARY_ERRORS))
