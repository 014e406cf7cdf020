"""``transcrawl scheduler``: start each site's crawl when it is due, in batches of crawl processes.

Every ``scheduler_tick`` seconds the loop reloads the registry, and a site is due when its last
crawl started at least ``crawl_interval`` seconds ago (the start time is in the site's last crawl
report in Redis, or when this scheduler last dispatched it, whichever is later). Due sites that are
flagged unhealthy, locked by a crawler, or already in one of our crawl processes are left out; the
rest, most overdue first, go to ``transcrawl crawl SITE...`` subprocesses of at most
``scheduler_batch`` sites, at most ``scheduler_processes`` at a time. The crawl takes each site's
lock itself, so two schedulers, or a scheduler and a hand-started crawl, never crawl one site twice.

Why a loop and not Celery beat: beat fires fixed schedules of named tasks, while this needs per-site
intervals that change with the registry, and to skip sites by state (locked, flagged, in flight)
read at the moment of dispatch. And a Scrapy crawl needs a fresh process (its Twisted reactor cannot
restart), so a beat-fired task would only start a subprocess anyway; a plain loop does that with
no broker round trip and is easy to test one ``tick()`` at a time.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

from crawler import records
from crawler import registry as reg
from crawler.lock import locked_sites
from crawler.registry import Site
from foundation.servers import child_env
from foundation.settings import Settings
from schemas.keys import last_report_key

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """One tick's decision: what to crawl now and why the rest waits."""

    due: list[Site] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # site -> disabled / locked / running


def last_started(client: redis.Redis, site_ids: list[str]) -> dict[str, float]:
    """When each site's last crawl started (sites never crawled are absent)."""
    if not site_ids:
        return {}
    found = {}
    for site, raw in zip(site_ids, client.mget([last_report_key(s) for s in site_ids])):
        if raw:
            found[site] = float(json.loads(raw).get("started_at") or 0)
    return found


def plan(sites: list[Site], client: redis.Redis, now: float, *, running: set[str] = frozenset(),  # type: ignore[assignment]
         dispatched: dict[str, float] | None = None) -> Plan:
    """The sites due at ``now``, most overdue first, and the due ones held back, with the reason."""
    ids = [s.id for s in sites]
    started = last_started(client, ids)
    for site_id, moment in (dispatched or {}).items():
        started[site_id] = max(started.get(site_id, 0.0), moment)
    due = [s for s in sites if now - started.get(s.id, 0.0) >= s.crawl_interval]
    disabled = records.disabled_sites(client)
    locked = locked_sites(client, [s.id for s in due])
    result = Plan()
    for site in sorted(due, key=lambda s: started.get(s.id, 0.0) + s.crawl_interval):
        reason = ("disabled: " + (disabled[site.id]["disabled_reason"] or "") if site.id in disabled
                  else "running" if site.id in running else "locked" if site.id in locked else None)
        if reason:
            result.skipped[site.id] = reason
        else:
            result.due.append(site)
    return result


Spawn = Callable[[list[str]], "subprocess.Popen[bytes]"]


class Scheduler:
    """The loop's state: crawl processes in flight and what each crawls."""

    def __init__(self, settings: Settings, registry: Path | None = None, *, spawn: Spawn | None = None,
                 log_level: str = "WARNING") -> None:
        assert settings.redis_url, "the scheduler needs Redis"
        self.settings, self.registry, self.log_level = settings, registry, log_level
        self.client = redis.Redis.from_url(settings.redis_url)
        self.spawn = spawn or self._spawn
        self.children: dict[subprocess.Popen[bytes], list[str]] = {}
        self.dispatched: dict[str, float] = {}

    def tick(self, now: float | None = None) -> Plan:
        """Reap finished crawls, then start crawl processes for the due sites."""
        self.reap()
        now = time.time() if now is None else now
        sites = reg.load(self.registry or self.settings.sites)
        running = {s for ids in self.children.values() for s in ids}
        decided = plan(sites, self.client, now, running=running, dispatched=self.dispatched)
        batch_size = max(1, self.settings.scheduler_batch)
        queue = [s.id for s in decided.due]
        while queue and len(self.children) < max(1, self.settings.scheduler_processes):
            batch, queue = queue[:batch_size], queue[batch_size:]
            self.children[self.spawn(batch)] = batch
            self.dispatched.update((site, now) for site in batch)
            log.info("crawling %d site(s): %s", len(batch), " ".join(batch))
        for site, reason in decided.skipped.items():
            log.debug("site %s due but skipped: %s", site, reason)
        return decided

    def reap(self) -> None:
        for child, batch in list(self.children.items()):
            if child.poll() is not None:
                del self.children[child]
                if child.returncode:
                    log.warning("crawl of %s exited with %s", " ".join(batch), child.returncode)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every crawl process started so far."""
        for child in list(self.children):
            child.wait(timeout=timeout)
        self.reap()

    def run(self, *, once: bool = False) -> None:
        """Tick every ``scheduler_tick`` seconds until interrupted (``once``: one tick, then wait)."""
        try:
            while True:
                self.tick()
                if once:
                    self.wait()
                    return
                time.sleep(max(1, self.settings.scheduler_tick))
        finally:
            for child in self.children:  # crawls finish on SIGTERM and release their locks
                child.terminate()
            self.client.close()

    def _spawn(self, site_ids: list[str]) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "transcrawl.cli", "crawl", "--log-level", self.log_level]
        if self.registry:
            argv += ["--registry", str(self.registry)]
        return subprocess.Popen([*argv, *site_ids], env=child_env(self.settings))
