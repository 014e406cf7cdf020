"""Health check for registry entries: does every feed and sitemap answer 200 and parse?

Run it on a machine with internet access::

    python -m crawler.check                 # every site in the registry
    python -m crawler.check de-tagesschau gb-bbc --timeout 10

It prints one JSON object per site and exits 1 when any source failed. Nothing here raises for
a bad URL: every failure (DNS, TLS, timeout, HTTP status, HTML instead of XML, empty feed) is a
:class:`SourceCheck` with ``ok=False`` and an ``error`` naming it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Literal
from urllib.parse import urlsplit

from crawler.discovery import (
    MAX_SITEMAP_BYTES,
    NotAFeed,
    feed_links,
    maybe_gunzip,
    sitemap_links,
)
from crawler.registry import Site

USER_AGENT = "Transcrawl/0.1 (+https://github.com/transcrawl/transcrawl)"
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
MAX_BODY_BYTES = MAX_SITEMAP_BYTES  # refuse to read more than a sitemap may hold
_CHUNK = 64 * 1024
_GRACE = 1.0  # seconds past the timeout before a stuck request is abandoned

Kind = Literal["feed", "sitemap"]


@dataclasses.dataclass
class SourceCheck:
    """One feed or sitemap URL: fetched, status, parsed, how many links it listed."""

    url: str
    kind: Kind
    ok: bool
    status: int | None  # final HTTP status; None when no response came (DNS, TLS, timeout)
    links: int  # item links of a feed; pages plus nested sitemaps of a sitemap
    error: str | None
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class SiteCheck:
    """All sources of one site. ``ok`` only when the site has sources and every one is ok."""

    site: str
    ok: bool
    results: list[SourceCheck]

    @property
    def usable(self) -> bool:
        """At least one source works, so the crawler still finds articles."""
        return any(r.ok for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "ok": self.ok,
            "usable": self.usable,
            "results": [r.to_json() for r in self.results],
        }


def check_sites(sites: list[Site], *, timeout: float = 20, concurrency: int = 8) -> list[SiteCheck]:
    """Fetch and parse every feed and sitemap of ``sites``, ``concurrency`` requests at a time.

    Each request is given at most ``timeout`` seconds (connect plus read); one that is still
    running a second later (a resolver that hangs, which no socket timeout covers) is reported as
    timed out and abandoned. Results come back in the order of ``sites`` and, within a site,
    feeds first, then sitemaps, in registry order.
    """
    jobs: list[tuple[int, Kind, str]] = []
    for index, site in enumerate(sites):
        jobs.extend((index, "feed", url) for url in site.feeds)
        jobs.extend((index, "sitemap", url) for url in site.sitemaps)
    opener = _opener()
    started: dict[int, float] = {}
    checks: dict[int, SourceCheck] = {}

    def run(job: int) -> SourceCheck:
        started[job] = time.monotonic()
        _, kind, url = jobs[job]
        return check_source(url, kind, timeout=timeout, opener=opener)

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="check")
    try:
        futures = {pool.submit(run, job): job for job in range(len(jobs))}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            for future in done:
                checks[futures[future]] = _result(future, jobs[futures[future]])
            now = time.monotonic()
            for future in list(pending):
                job = futures[future]
                if job in started and now - started[job] > timeout + _GRACE:
                    pending.discard(future)
                    _, kind, url = jobs[job]
                    checks[job] = SourceCheck(url, kind, False, None, 0, f"timed out after {timeout:g}s",
                                              round(now - started[job], 3))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    results: list[list[SourceCheck]] = [[] for _ in sites]
    for job, (index, _, _) in enumerate(jobs):
        results[index].append(checks[job])
    return [
        SiteCheck(site=site.id, ok=bool(found) and all(r.ok for r in found), results=found)
        for site, found in zip(sites, results, strict=True)
    ]


def _result(future: Future[SourceCheck], job: tuple[int, Kind, str]) -> SourceCheck:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - check_source catches everything; belt and braces
        return SourceCheck(job[2], job[1], False, None, 0, f"{type(exc).__name__}: {exc}", 0.0)


def check_source(
    url: str, kind: Kind, *, timeout: float = 20, opener: urllib.request.OpenerDirector | None = None
) -> SourceCheck:
    """Fetch one URL and parse it as ``kind``; never raises."""
    started = time.monotonic()
    status: int | None = None
    links = 0
    try:
        status, body = _fetch(url, timeout=timeout, opener=opener or _opener())
        if status != 200:
            raise _Failure(f"HTTP {status}")
        links = _count_links(body, kind)
        if links == 0:
            raise _Failure(f"{kind} lists no links")
        error = None
    except _Failure as exc:
        error = str(exc)
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code} {exc.reason}".strip()
        exc.close()
    except urllib.error.URLError as exc:
        error = f"cannot fetch: {exc.reason}"
    except TimeoutError:
        error = f"timed out after {timeout:g}s"
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not crash
        error = f"{type(exc).__name__}: {exc}"
    return SourceCheck(
        url=url,
        kind=kind,
        ok=error is None,
        status=status,
        links=links,
        error=error[:500] if error else None,
        seconds=round(time.monotonic() - started, 3),
    )


class _Failure(Exception):
    """A response came, but it is not a usable feed or sitemap."""


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http(s) URLs (urllib would also follow one to ftp://)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if urlsplit(newurl).scheme not in ("http", "https"):
            raise urllib.error.HTTPError(newurl, code, f"redirect to non-http URL {newurl}", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_HttpOnlyRedirects())


def _fetch(url: str, *, timeout: float, opener: urllib.request.OpenerDirector) -> tuple[int, bytes]:
    if urlsplit(url).scheme not in ("http", "https"):
        raise _Failure(f"not an http(s) URL: {url!r}")
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": ACCEPT})
    with opener.open(request, timeout=timeout) as response:
        status = response.status
        chunks: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError
            chunk = response.read1(_CHUNK)  # returns what has arrived; read() waits for all
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise _Failure(f"body larger than {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
        body = b"".join(chunks)
        if (response.headers.get("Content-Encoding") or "").lower() in ("gzip", "x-gzip"):
            body = maybe_gunzip(body)
    return status, body


def _count_links(body: bytes, kind: Kind) -> int:
    try:
        if kind == "feed":
            return len(feed_links(maybe_gunzip(body)))
        found = sitemap_links(body)
        return len(found.pages) + len(found.sitemaps)
    except NotAFeed as exc:
        raise _Failure(f"not a {kind}: {exc}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    from crawler import registry

    parser = argparse.ArgumentParser(prog="python -m crawler.check", description=__doc__.splitlines()[0])
    parser.add_argument("sites", nargs="*", help="site ids (default: the whole registry)")
    parser.add_argument("--timeout", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    sites = registry.select(registry.load(), args.sites)
    checks = check_sites(sites, timeout=args.timeout, concurrency=args.concurrency)
    for check in checks:
        print(json.dumps(check.to_json(), ensure_ascii=False), flush=True)
    failed = [c.site for c in checks if not c.ok]
    summary = f"{len(checks) - len(failed)}/{len(checks)} sites ok; failing: {' '.join(failed) or '-'}"
    print(summary, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
