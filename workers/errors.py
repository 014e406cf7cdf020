"""The workers' permanent errors; the whole tree (and what is transient) is drawn in ``foundation.errors``."""

from __future__ import annotations

from foundation.errors import (
    PermanentError,
    TranscrawlError,
    TransientError,
    is_transient,
    transient_library_errors,
)

__all__ = [
    "BadPage",
    "ModelNotInstalled",
    "NotStored",
    "PermanentError",
    "Poison",
    "RawPageMissing",
    "TranscrawlError",
    "TransientError",
    "TranslationFailed",
    "is_transient",
    "transient_library_errors",
]


class RawPageMissing(PermanentError):
    """The claim check points at nothing: the page expired, or a store already spent it."""

    reason = "raw_page_missing"


class BadPage(PermanentError):
    """The page cannot yield an article; ``reason`` says why (not_html, empty_page, ...)."""

    reason = "bad_page"


class NotStored(PermanentError):
    """The article a message names is not in Postgres (never stored, or deleted since)."""

    reason = "not_stored"


class TranslationFailed(PermanentError):
    reason = "translation_failed"


class ModelNotInstalled(PermanentError):
    """No model translates this language into English yet.

    Not recorded as a failure: ``stages.translate`` stores the article ``untranslated`` with this
    detail as its ``status_reason``, and ``transcrawl translate --backfill`` picks it up later.
    """

    reason = "no_model"

    def __init__(self, source: str, target: str = "en", hint: str | None = None) -> None:
        super().__init__(
            f"no model installed for {source}→{target}; "
            f"run {hint or f'`transcrawl models install {source}-{target}`'}"
        )
        self.source, self.target = source, target


class Poison(PermanentError):
    """The message was delivered more than ``max_deliveries`` times: each one killed its worker."""

    reason = "poison"
