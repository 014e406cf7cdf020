"""Sentry for real: a worker sends an event for an unexpected error to a local capture server."""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import redis

from foundation.settings import Settings
from schemas.keys import raw_page_key
from schemas.messages import RawPage
from schemas.pipeline import EXTRACT_TASK, producer
from tests.support.processes import wait_until

pytestmark = [pytest.mark.slow]


class Envelopes:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        envelopes = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "br":
                    import brotli

                    body = brotli.decompress(body)
                envelopes.raw.append(body)
                for line in body.splitlines():
                    try:
                        envelopes.items.append(json.loads(line))
                    except ValueError:
                        pass
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self.server.server_port}/1"

    def events(self) -> list[dict[str, Any]]:
        return [i for i in self.items if "exception" in i]


def test_unexpected_error_reaches_sentry_with_tags(settings: Settings, clean_state: None,
                                                   worker_factory: Any) -> None:
    envelopes = Envelopes()
    with_sentry = Settings.from_env(**{**settings.__dict__, "sentry_dsn": envelopes.dsn,
                                       "environment": "ci"})
    url = "http://n.example/2026/11/27/corrupt.html"
    key = raw_page_key(url)
    page = RawPage(url=url, site="corrupt-site", country="de", site_language="de",
                   fetched_at="2026-11-27T12:00:00+00:00", status=200, content_type="text/html",
                   final_url=url)
    client = redis.Redis.from_url(settings.redis_url or "")
    # A body that is not zlib data: decompressing it raises, which no stage expects.
    client.hset(key, mapping={"meta": json.dumps(page.to_json()), "body": b"SECRET-PAGE-BODY not zlib"})
    worker_factory(with_sentry, queues="extract", concurrency=1)
    producer(settings.redis_url or "").send_task(EXTRACT_TASK, args=[{"raw_key": key, "url": url,
                                                                     "site": "corrupt-site"}])
    assert wait_until(lambda: envelopes.events(), timeout=60), envelopes.raw
    event = envelopes.events()[0]
    assert event["tags"]["site"] == "corrupt-site" and event["tags"]["url"] == url
    assert event["environment"] == "ci" and event["release"].startswith("transcrawl@")
    assert event["exception"]["values"][-1]["type"] == "error"  # zlib.error
    assert all(b"SECRET-PAGE-BODY" not in raw for raw in envelopes.raw)
    assert event["exception"]["values"][-1]["module"] == zlib.__name__  # the module whose error we provoked
