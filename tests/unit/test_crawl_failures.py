"""Crawl failures are classified by exception type into the reason codes of the ``failures`` table."""

from __future__ import annotations

import pytest
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import HtmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error
from twisted.python.failure import Failure

from crawler.failures import failure_reason, robots_refusal
from crawler.politeness import UnsafeRedirect

# The messages are Scrapy's own (RedirectMiddleware, HttpCompressionMiddleware, the HTTP/1.1 handler).
CASES = [
    (HttpError(HtmlResponse("https://example.com/a", status=404), "Ignoring non-200 response"), "http_404"),
    (HttpError(HtmlResponse("https://example.com/a", status=503)), "http_503"),
    (UnsafeRedirect("redirect_offsite", "https://example.com/a", "https://else.org/"), "redirect_offsite"),
    (UnsafeRedirect("redirect_private_address", "https://example.com/a", "http://10.0.0.1/"),
     "redirect_private_address"),
    (IgnoreRequest("max redirections reached"), "redirect_loop"),
    (IgnoreRequest("Ignored response <200 https://example.com/a> because its body (10 B compressed, 2000 B "
                   "decompressed so far) exceeded DOWNLOAD_MAXSIZE (1000 B) during decompression."), "page_too_large"),
    (DownloadCancelledError("Expected to receive 5000 bytes which is larger than download max size (1000)"),
     "page_too_large"),
    (DownloadTimeoutError("Getting https://example.com/a took longer than 1.0 seconds."), "timeout"),
    (error.TimeoutError(), "timeout"),
    (error.TCPTimedOutError(), "timeout"),  # a ConnectError, but a timeout first
    (CannotResolveHostError("DNS lookup failed: no results for hostname lookup: nowhere.invalid."), "unreachable"),
    (error.DNSLookupError(), "unreachable"),
    (DownloadConnectionRefusedError("Connection was refused by other side: 111: Connection refused."), "unreachable"),
    (error.ConnectionRefusedError(), "unreachable"),
    (error.ConnectionLost(), "unreachable"),
    (error.ConnectionDone(), "unreachable"),
    (ConnectionResetError(104, "Connection reset by peer"), "unreachable"),
    # No class of their own: named after their class, as they always were.
    (DownloadFailedError("[<twisted.python.failure.Failure ResponseNeverReceived>]"), "download_failed_error"),
    (ResponseDataLossError(), "response_data_loss_error"),
    (ValueError("odd"), "value_error"),
]


@pytest.mark.parametrize(("exc", "reason"), CASES, ids=[f"{type(e).__name__}-{r}" for e, r in CASES])
def test_failures_are_classified_by_type(exc: BaseException, reason: str) -> None:
    assert failure_reason(Failure(exc)) == reason


def test_only_robots_txt_refusals_are_policy() -> None:
    assert robots_refusal(Failure(IgnoreRequest("Forbidden by robots.txt")))
    assert not robots_refusal(Failure(IgnoreRequest("max redirections reached")))
    assert not robots_refusal(Failure(UnsafeRedirect("redirect_offsite", "https://a.com/x", "https://b.com/robots.txt")))
