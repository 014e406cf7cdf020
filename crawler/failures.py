"""Why a fetch failed, as the short reason code stored in ``failures.reason`` (stage ``crawl``).

The exception's *type* decides, first match wins::

    HttpError                                   http_<status>
    UnsafeRedirect                              its own code (redirect_offsite, redirect_private_address, ...)
    IgnoreRequest "max redirections reached"    redirect_loop    RedirectMiddleware has no subclass for it
    IgnoreRequest "... DOWNLOAD_MAXSIZE ..."    page_too_large   HttpCompressionMiddleware: decompressed too big
    DownloadCancelledError                      page_too_large   the download handler: over DOWNLOAD_MAXSIZE
    DownloadTimeoutError, TCPTimedOutError,
    TimeoutError (Twisted's, Python's)          timeout
    CannotResolveHostError, DNSLookupError,
    DownloadConnectionRefusedError,
    ConnectError, ConnectionClosed,
    ConnectionError                             unreachable
    anything else                               the class name in snake_case (download_failed_error, ...)

Scrapy (2.15+) wraps Twisted's errors in its own (``CannotResolveHostError`` for ``DNSLookupError``,
...); both are listed so that a download handler that does not wrap them is classified the same.
"""

from __future__ import annotations

import re

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.defer import TimeoutError as DeferredTimeoutError
from twisted.internet.error import (
    ConnectError,
    ConnectionClosed,
    DNSLookupError,
    TCPTimedOutError,
)
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.python.failure import Failure

from crawler.politeness import UnsafeRedirect

TIMEOUT = "timeout"
UNREACHABLE = "unreachable"
PAGE_TOO_LARGE = "page_too_large"
REDIRECT_LOOP = "redirect_loop"

# Order matters: TCPTimedOutError is a ConnectError, and a timeout is the more useful answer.
_BY_TYPE: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((DownloadCancelledError,), PAGE_TOO_LARGE),
    ((DownloadTimeoutError, TwistedTimeoutError, TCPTimedOutError, DeferredTimeoutError, TimeoutError), TIMEOUT),
    ((CannotResolveHostError, DNSLookupError, DownloadConnectionRefusedError, ConnectError, ConnectionClosed,
      ConnectionError), UNREACHABLE),
)


def failure_reason(failure: Failure) -> str:
    """The reason code of a request's failure (see the module docstring)."""
    return exception_reason(failure.value)


def exception_reason(exc: BaseException | None) -> str:
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    if isinstance(exc, UnsafeRedirect):
        return exc.reason
    if isinstance(exc, IgnoreRequest):  # Scrapy says why only in the message of this one type
        if "max redirections" in str(exc):
            return REDIRECT_LOOP
        if "maxsize" in str(exc).lower():
            return PAGE_TOO_LARGE
    for types, reason in _BY_TYPE:
        if isinstance(exc, types):
            return reason
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def robots_refusal(failure: Failure) -> bool:
    """Disallowed by robots.txt: policy, not an error (RobotsTxtMiddleware raises a bare IgnoreRequest)."""
    exc = failure.value
    return type(exc) is IgnoreRequest and "robots.txt" in str(exc)
