"""The scheduler: due sites by interval, one crawler per site (lock), unhealthy sites skipped."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import redis

from crawler import records
from crawler.lock import SiteLock
from crawler.registry import Site
from foundation.settings import Settings
from schemas.keys import crawl_lock_key, last_report_key
from tests.support.pages import site
from tests.support.processes import run_cli, write_registry
from transcrawl.localweb.newsweb import NewsWeb
from transcrawl.scheduler import Scheduler, plan


def entry(site_id: str, interval: int = 600) -> Site:
    return Site(id=site_id, name=site_id, country="gb", language="en", homepage=f"https://{site_id}.example/",
                feeds=(f"https://{site_id}.example/rss",), crawl_interval=interval)


def test_plan_orders_due_sites_and_says_why_others_wait(servers: Settings, clean_state: None) -> None:
    client = redis.Redis.from_url(servers.redis_url or "")
    now = 1_000_000.0
    sites = [entry("never"), entry("recent"), entry("old"), entry("flagged"), entry("busy"), entry("ours")]
    for name, started in (("recent", now - 100), ("old", now - 5000), ("flagged", 0.0), ("busy", 0.0)):
        client.set(last_report_key(name), json.dumps({"site": name, "started_at": started}))
    records.disable(client, "flagged", "3 failed runs in a row")
    client.set(crawl_lock_key("busy"), "another-host:1:abc")
    decided = plan(sites, client, now, running={"ours"})
    assert [s.id for s in decided.due] == ["never", "old"]  # most overdue first; "recent" is not due
    assert decided.skipped == {"flagged": "disabled: 3 failed runs in a row", "busy": "locked", "ours": "running"}
    assert [s.id for s in plan(sites, client, now, dispatched={"never": now - 10, "old": now}).due] == ["ours"]
    client.close()


def test_a_hand_started_crawl_skips_a_locked_site(settings: Settings, clean_state: None, tmp_path: Path) -> None:
    client = redis.Redis.from_url(settings.redis_url or "")
    with NewsWeb([site("held", 2), site("free", 2)]) as web:
        registry_file = write_registry(web.registry(), tmp_path)
        other = SiteLock(client, "held", ttl=60)
        assert other.acquire()
        done = run_cli(settings, "crawl", "--registry", str(registry_file), timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "SKIPPED" in done.stdout and "another crawler holds the lock" in done.stdout, done.stdout
        assert web.paths("held") == [] and len(web.paths("free")) > 2
        assert other.holder() == other.token  # our lock untouched
        assert client.get(crawl_lock_key("free")) is None  # released after its crawl
        other.release()
    client.close()


def test_scheduler_crawls_due_sites_records_runs_and_benches_unhealthy_ones(
        settings: Settings, clean_state: None, tmp_path: Path) -> None:
    strict = Settings.from_env(**{**settings.__dict__, "site_failure_runs": 2, "retry_base_delay": 0.1})
    client = redis.Redis.from_url(settings.redis_url or "")
    with NewsWeb([site("steady", 2), site("broken", 2, dead=True)]) as web:
        registry_file = write_registry(web.registry(crawl_interval=60), tmp_path)
        scheduler = Scheduler(strict, registry_file)
        first = scheduler.tick()
        assert sorted(s.id for s in first.due) == ["broken", "steady"]
        scheduler.wait(timeout=120)
        assert scheduler.tick().due == []  # crawled a moment ago: not due for 60 s
        assert records.health(client, "broken")["bad_runs"] == 1

        later = time.time() + 61
        assert sorted(s.id for s in scheduler.tick(later).due) == ["broken", "steady"]
        scheduler.wait(timeout=120)
        flagged = records.health(client, "broken")
        assert flagged["disabled"] and "2 failed runs" in (flagged["disabled_reason"] or "")
        assert not records.health(client, "steady")["disabled"]

        third = scheduler.tick(time.time() + 200)  # due again, but the broken site is benched
        assert [s.id for s in third.due] == ["steady"] and third.skipped["broken"].startswith("disabled")
        scheduler.wait(timeout=120)

        enabled = run_cli(settings, "sites", "enable", "broken", timeout=60)
        assert "broken: enabled" in enabled.stdout, enabled.stderr
        assert not records.health(client, "broken")["disabled"]
    with psycopg.connect(settings.database_url or "") as conn:
        rows = conn.execute("SELECT site, status, new_articles FROM crawl_runs"
                            " WHERE site IN ('steady', 'broken') ORDER BY id").fetchall()
    assert [r for r in rows if r[0] == "steady"] == [("steady", "ok", 2), ("steady", "ok", 0), ("steady", "ok", 0)]
    assert [r[1] for r in rows if r[0] == "broken"] == ["failed", "failed"]
    client.close()
