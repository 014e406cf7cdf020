"""Nothing lost: failures are replayable, the raw-page queue is bounded, readers only read."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from foundation.servers import child_env
from foundation.settings import Settings
from schemas.pipeline import QUEUE_EXTRACT
from tests.support.processes import cli_command, run_cli, wait_until, write_registry
from transcrawl.localweb.newsweb import NewsWeb
from transcrawl.localweb.sampleweb import sample_sites

pytestmark = [pytest.mark.slow]


def english_site() -> Any:
    return next(s for s in sample_sites() if s.language == "en")


def counts(settings: Settings) -> tuple[int, int]:
    with psycopg.connect(settings.database_url or "") as conn:
        row = conn.execute("SELECT (SELECT count(*) FROM articles),"
                           " (SELECT count(*) FROM failures WHERE resolved_at IS NULL)").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_reader_role_reads_the_contract_and_nothing_else(servers: Settings) -> None:
    with psycopg.connect(servers.database_url or "", autocommit=True) as conn:
        conn.execute("SET ROLE transcrawl_reader")
        conn.execute("SELECT url, title_en FROM articles LIMIT 1")
        conn.execute("SELECT id FROM sites LIMIT 1")
        for statement in ("SELECT * FROM failures", "DELETE FROM articles",
                          "INSERT INTO sites (id, name, country, language, homepage) VALUES ('a','a','de','de','x')"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_a_dead_article_is_recorded_then_replayed_once_fixed(settings: Settings, clean_state: None,
                                                             worker_factory: Any, tmp_path: Path) -> None:
    site = english_site()
    broken = site.articles[0]
    site.extra_pages[broken.path()] = (404, "text/html", b"<html><body>gone</body></html>")
    with NewsWeb([site]) as web:
        registry_file = write_registry(web.registry(), tmp_path)
        worker_factory(settings, concurrency=1)
        assert run_cli(settings, "crawl", "--registry", str(registry_file)).returncode == 0
        total = len(site.articles)
        assert wait_until(lambda: counts(settings) == (total - 1, 1), timeout=120), counts(settings)
        listed = run_cli(settings, "failures", "list", "--stage", "crawl")
        assert "http_404" in listed.stdout and broken.slug in listed.stdout

        del site.extra_pages[broken.path()]  # the site fixed its page
        replay = run_cli(settings, "failures", "retry", "--reason", "http_404")
        assert "1 URL(s) will be fetched again" in replay.stdout, replay.stdout + replay.stderr
        assert run_cli(settings, "crawl", "--registry", str(registry_file)).returncode == 0
        assert wait_until(lambda: counts(settings) == (total, 0), timeout=120), counts(settings)


def test_crawler_pauses_while_the_extract_queue_is_full(settings: Settings, clean_state: None,
                                                        worker_factory: Any, tmp_path: Path) -> None:
    bounded = Settings.from_env(**{**settings.__dict__, "max_queued_pages": 2, "concurrency_per_domain": 1})
    sites = sample_sites()
    with NewsWeb(sites) as web:
        registry_file = write_registry(web.registry(), tmp_path)
        crawl = subprocess.Popen(cli_command("crawl", "--registry", str(registry_file)), env=child_env(bounded),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        client = redis.Redis.from_url(settings.redis_url or "")
        depths = []
        for _ in range(16):  # no worker yet: the queue must stay near its bound
            depths.append(int(client.llen(QUEUE_EXTRACT)))
            time.sleep(0.5)
        assert crawl.poll() is None, "the crawl finished although the queue was full"
        client.rpush(QUEUE_EXTRACT, b"{}", b"{}", b"{}")  # over the bound whatever is in flight
        shown = json.loads(run_cli(bounded, "status", "--json").stdout)
        assert shown["backpressure"] == {"max_queued_pages": 2, "holding": True}
        client.ltrim(QUEUE_EXTRACT, 0, -4)
        # One request per site may be in flight when the pause starts.
        assert max(depths) <= 2 + len(sites), depths
        worker_factory(settings, concurrency=2)
        crawl.wait(timeout=180)
        assert crawl.returncode == 0, crawl.stderr.read() if crawl.stderr else ""
        total = sum(len(s.articles) for s in sites)
        assert wait_until(lambda: sum(counts(settings)) >= total, timeout=120), counts(settings)
        client.close()
