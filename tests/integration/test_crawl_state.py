"""One crawl state per site crawler, shared by its components; no Redis call on the reactor thread.

Each test crawls two local sites through the real ``crawler.run.crawl`` in a fresh process (a
Twisted reactor runs once per process) with Redis and the crawl-state classes watched, and reads
what the watch saw from the process's last output line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crawler import registry as reg
from foundation.servers import child_env
from foundation.settings import Settings
from tests.support.processes import write_registry
from transcrawl.localweb.newsweb import LocalArticle, LocalSite, NewsWeb

WHEN = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SITES = ("state-a", "state-b")
STATE_HOLDERS = ("NewsSpider", "ConditionalGet", "SafeRedirects", "RawPageQueuePipeline")


def local_site(site_id: str, count: int) -> LocalSite:
    articles = []
    for i in range(count):
        slug = f"{site_id}-story-{i}"
        html = (f"<!DOCTYPE html><html lang='en'><head><title>{slug}</title></head><body><article>"
                f"<h1>{slug}</h1><p>{'The story of the day, told at length. ' * 20}</p></article></body></html>")
        articles.append(LocalArticle(slug=slug, title=slug, html=html.encode(), published=WHEN + timedelta(days=i)))
    return LocalSite(id=site_id, name=site_id, country="gb", language="en", articles=articles)


def watched_crawl(settings: Settings, tmp_path: Path) -> dict[str, Any]:
    """Crawl two sites (one with a dead article, one over the page cap) in a watched child process."""
    dead_one, capped = local_site(SITES[0], 3), local_site(SITES[1], 5)
    dead_one.extra_pages[dead_one.articles[0].path()] = (404, "text/html", b"<html><body>gone</body></html>")
    tuned = Settings.from_env(**{**settings.__dict__, "max_pages_per_run": 3, "max_queued_pages": 50,
                                 "download_delay": 0.2, "crawl_lock_ttl": 3, "retry_base_delay": 0.1})
    with NewsWeb([dead_one, capped]) as web:
        registry = write_registry(web.registry(), tmp_path)
        code = f"from tests.integration.test_crawl_state import probe; probe({str(registry)!r})"
        done = subprocess.run([sys.executable, "-c", code], env=child_env(tuned), capture_output=True,
                              text=True, timeout=120, cwd=Path(__file__).resolve().parents[2], check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    reports = result["reports"]
    assert reports[SITES[0]]["pages_fetched"] == 2 and reports[SITES[0]]["failure_reasons"] == {"http_404": 1}
    assert reports[SITES[1]]["pages_fetched"] == 3 and reports[SITES[1]]["articles_deferred"] >= 2
    return result


def test_each_site_crawler_builds_one_crawl_state_and_every_component_shares_it(
        settings: Settings, clean_state: None, tmp_path: Path) -> None:
    result = watched_crawl(settings, tmp_path)
    # Built once per site crawler: not again by the pipeline (per page) nor by the crawl runner.
    assert result["built"] == {"CrawlState": 2, "SeenSet": 2, "Pending": 2, "Validators": 2}, result["built"]
    states = result["states"]
    for site in SITES:
        seen = states[site]
        assert set(seen) == {*STATE_HOLDERS, "registry"}, seen
        assert len(set(seen.values())) == 1, seen  # the spider's, the middlewares', the pipeline's: one
        assert result["backpressure_shares_client"][site] is True
    assert states[SITES[0]]["NewsSpider"] != states[SITES[1]]["NewsSpider"]  # one per crawler


def test_no_redis_call_is_made_on_the_reactor_thread(settings: Settings, clean_state: None, tmp_path: Path) -> None:
    result = watched_crawl(settings, tmp_path)
    assert result["on_reactor"] == {}, result["on_reactor"]
    # The watch did see the crawl's Redis traffic: seen-set lookups, frontier, validators,
    # backpressure, claim checks, the lock and the report, all from the reactor's thread pool.
    off = result["off_reactor"]
    for command in ("ZMSCORE", "ZRANGEBYSCORE", "HGETALL", "LLEN", "PIPELINE", "SET", "EVAL"):
        assert off.get(command, 0) > 0, (command, off)


# -- the watched child process ---------------------------------------------------------------------


def probe(registry: str) -> None:
    """Crawl ``registry`` with ``crawler.run.crawl`` while watching Redis and the crawl state; print
    one JSON line: Redis commands on and off the reactor thread, what was built, who holds which state."""
    import redis
    from redis.client import Pipeline
    from scrapy import signals
    from scrapy.crawler import Crawler, CrawlerProcess
    from twisted.python import threadable

    import crawler.run
    from crawler.frontier import Pending
    from crawler.seen import SeenSet
    from crawler.state import CrawlState
    from crawler.validators import Validators

    on_reactor: Counter[str] = Counter()
    off_reactor: Counter[str] = Counter()
    built: Counter[str] = Counter()
    states: dict[str, dict[str, int]] = {}
    shares_client: dict[str, bool] = {}

    def reactor_thread() -> bool:
        reactor = sys.modules.get("twisted.internet.reactor")  # never import it: Scrapy installs it
        return bool(reactor is not None and getattr(reactor, "running", False) and threadable.isInIOThread())

    def watch_command(method: Any, name: Any) -> Any:
        def watched(self: Any, *args: Any, **kwargs: Any) -> Any:
            (on_reactor if reactor_thread() else off_reactor)[name(args)] += 1
            return method(self, *args, **kwargs)
        return watched

    def count_built(cls: Any) -> Any:
        original = cls.__init__

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            built[cls.__name__] += 1
            original(self, *args, **kwargs)
        return init

    patch = pytest.MonkeyPatch()  # this process ends with the crawl: nothing to undo
    patch.setattr(redis.Redis, "execute_command", watch_command(redis.Redis.execute_command, lambda a: str(a[0]).upper()))
    patch.setattr(Pipeline, "execute", watch_command(Pipeline.execute, lambda a: "PIPELINE"))
    for cls in (CrawlState, SeenSet, Pending, Validators):
        patch.setattr(cls, "__init__", count_built(cls))

    def on_close(watched: Crawler) -> Any:
        def closed(spider: Any) -> None:
            state = CrawlState.of(watched)
            components = [spider, *watched.engine.downloader.middleware.middlewares,
                          *watched.engine.scraper.itemproc.middlewares]
            seen = {type(c).__name__: id(c.state) for c in components if type(c).__name__ in STATE_HOLDERS}
            states[spider.site.id] = {**seen, "registry": id(state)}
            shares_client[spider.site.id] = any(type(c).__name__ == "QueueBackpressure" and c.client is state.client
                                                for c in components)
        return closed

    class WatchedProcess(CrawlerProcess):
        def create_crawler(self, spidercls: Any) -> Crawler:
            created: Crawler = super().create_crawler(spidercls)
            created.signals.connect(on_close(created), signal=signals.spider_closed, weak=False)
            return created

    patch.setattr(crawler.run, "CrawlerProcess", WatchedProcess)  # the one crawl() builds
    reports = crawler.run.crawl(reg.load(Path(registry)), Settings.from_env())
    print(json.dumps({"reports": {r.site: r.to_json() for r in reports}, "on_reactor": on_reactor,
                      "off_reactor": off_reactor, "built": built, "states": states,
                      "backpressure_shares_client": shares_client}))
