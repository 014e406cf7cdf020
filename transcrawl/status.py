"""What ``transcrawl status`` shows: queue depths, article counts, recent failures, last crawls."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import redis

from schemas.contract import ALL_QUEUES, KEY_PREFIX, QUEUE_TRANSLATE
from transcrawl.settings import Settings
from workers import store


def queue_depths(client: redis.Redis) -> dict[str, int]:
    """Messages waiting per queue, plus those delivered but not yet acknowledged."""
    depths = {queue: int(client.llen(queue)) for queue in ALL_QUEUES}
    for key in sorted(client.scan_iter(f"{QUEUE_TRANSLATE}.*", _type="list")):
        depths[key.decode()] = int(client.llen(key))  # per-language translate queues
    depths["unacked"] = int(client.hlen("unacked"))
    return depths


def last_crawls(client: redis.Redis) -> list[dict[str, Any]]:
    reports = []
    for key in sorted(client.scan_iter(f"{KEY_PREFIX}crawl:last:*")):
        raw = client.get(key)
        if raw:
            reports.append(json.loads(raw))
    return reports


def gather(settings: Settings) -> dict[str, Any]:
    """Everything for the status screen, as one JSON-able dict."""
    assert settings.redis_url and settings.database_url
    client = redis.Redis.from_url(settings.redis_url)
    try:
        result: dict[str, Any] = {"queues": queue_depths(client), "crawls": last_crawls(client)}
    finally:
        client.close()
    with psycopg.connect(settings.database_url) as conn:
        result.update(store.summary(conn))
    return result
