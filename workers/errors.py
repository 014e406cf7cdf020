"""What decides a message's fate.

    TranscrawlError
    ├── TransientError      retry with exponential backoff and jitter (network, database, Redis)
    └── PermanentError      never retried: recorded in ``failures`` with ``reason`` and moved on
        ├── RawPageMissing  the raw page expired from Redis before extraction
        ├── BadPage         not HTML, empty, too large, undecodable, no article text
        └── TranslationFailed

Any other exception is a bug: it is retried a few times, then recorded as permanent with its
exception type as the reason, so nothing is ever silently dropped.
"""

from __future__ import annotations


class TranscrawlError(Exception):
    """Base of all errors a stage raises on purpose."""

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


class RawPageMissing(PermanentError):
    reason = "raw_page_missing"


class BadPage(PermanentError):
    """The page cannot yield an article; ``reason`` says why (not_html, empty_page, ...)."""

    reason = "bad_page"


class TranslationFailed(PermanentError):
    reason = "translation_failed"
