"""Crawl policies as pure functions: Retry-After, backoff, redirects (crawls: tests/integration/test_crawling.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from crawler.politeness import (
    BackoffRetry,
    is_local_host,
    redirect_problem,
    retry_after,
)


# -- pure pieces ------------------------------------------------------------------------------------
def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after(b"7") == 7.0
    assert retry_after(b"Fri, 27 Nov 2026 10:00:30 GMT", now=datetime(2026, 11, 27, 10, 0, tzinfo=UTC).timestamp()) == 30
    assert retry_after(b"soon") is None and retry_after(None) is None


def test_backoff_grows_and_is_bounded() -> None:
    from scrapy.settings import Settings as ScrapySettings

    middleware = BackoffRetry(ScrapySettings({"TRANSCRAWL_RETRY_BASE_DELAY": 1.0, "TRANSCRAWL_RETRY_MAX_DELAY": 5.0}))
    assert 0.5 <= middleware.backoff(1) < 1.0
    assert 2.0 <= middleware.backoff(3) < 4.0
    assert all(middleware.backoff(n) <= 5.0 for n in range(1, 30))


def test_redirect_rules() -> None:
    domains = ("www.example.com",)
    home = "https://www.example.com/"
    assert redirect_problem("https://www.example.com/a", home, domains, ()) is None
    assert redirect_problem("https://example.com/a", home, domains, ()) is None  # apex and www are one site
    assert redirect_problem("https://evil.test/a", home, domains, ()) == "redirect_offsite"
    assert redirect_problem("http://127.0.0.1:6379/", home, domains, ()) == "redirect_private_address"
    assert redirect_problem("http://169.254.169.254/latest", home, domains, ()) == "redirect_private_address"
    assert redirect_problem("ftp://www.example.com/a", home, domains, ()) == "redirect_bad_scheme"
    local = ("http://127.0.0.1:8001",)  # a local test site: its own origin only
    assert redirect_problem("http://127.0.0.1:8001/x", "http://127.0.0.1:8001/", ("127.0.0.1",), local) is None
    assert redirect_problem("http://127.0.0.1:8002/x", "http://127.0.0.1:8001/", ("127.0.0.1",), local) == "redirect_offsite"
    assert is_local_host("10.1.2.3") and is_local_host("localhost") and not is_local_host("8.8.8.8")
