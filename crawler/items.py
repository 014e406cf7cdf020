"""What the spider yields: a fetched article page, or an article URL that could not be fetched.

The item pipeline (:mod:`crawler.pipelines`) dispatches on the type; neither item leaves the
crawler process as is: a page becomes a raw-page claim check and an ``ExtractMessage``, a failure a
``FailureMessage``.
"""

from __future__ import annotations

import dataclasses

from schemas.messages import FailureMessage, RawPage


@dataclasses.dataclass(frozen=True)
class FetchedPage:
    """An article page as fetched: its description (the claim check's ``meta``) and its body."""

    page: RawPage
    body: bytes = dataclasses.field(repr=False)  # kept out of Scrapy's "Scraped from" log lines
    # Let through by the backpressure gate: it counts as in flight until the pipeline queued it.
    holds_place: bool = False


@dataclasses.dataclass(frozen=True)
class CrawlFailure:
    """An article URL whose fetch failed, for the ``failures`` table (stage ``crawl``)."""

    url: str  # canonical
    site: str
    reason: str  # crawler.failures.failure_reason
    detail: str

    def message(self) -> FailureMessage:
        return FailureMessage(url=self.url, site=self.site, stage="crawl", reason=self.reason, detail=self.detail)
