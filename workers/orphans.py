"""Raw pages whose message was lost: given back to ``extract`` (a sweep every worker runs).

kombu's Redis transport takes a message in two commands: ``BRPOP`` removes it from its queue, a
second command records it as unacknowledged. A worker killed between the two (kill -9, the OOM
killer, a dead translate node) or a Redis crash between them loses that message: it is in no
queue and not in ``unacked``, so no visibility timeout brings it back. What survives is the claim
check: the raw page stays in Redis until its article is stored (``workers/tasks.py``).

So a raw page whose article is not stored, that has no open failure, and that no message in a
queue or in ``unacked`` refers to, has lost its message: it is sent to ``extract`` again. Queues
and ``unacked`` are read in one transaction, a snapshot in which every live message is somewhere
(a message moves by being sent on before its own is acknowledged). The one exception, a message
inside another live worker's two commands, is then sent twice, which is harmless: the store is an
upsert. While the queues hold more than :data:`SNAPSHOT_LIMIT` messages the sweep waits for a
quieter moment rather than read them all; ``transcrawl failures requeue-orphans`` (after a Redis
crash) settles by age instead.

A page whose article is stored from this very fetch is a spent claim check whose delete was lost
(see docs/recovery.md): it is deleted.

A ``group`` message has no claim check behind it (its article is stored): a stored article of the
story window that is not grouped (or grouped on its original while it now has English), stored
over a minute ago, and that no queued or unacknowledged ``group`` message names, has lost its
message too, and is sent to ``group`` again (grouping is idempotent); one whose grouping failed
waits in ``failures`` for the operator.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import psycopg
import redis

from foundation.settings import Settings
from schemas.keys import KEY_PREFIX, RAW_PAGE_PREFIX
from schemas.messages import ExtractMessage, GroupMessage
from schemas.pipeline import EXTRACT, GROUP, GROUP_TASK, producer, queue_names, send
from workers import metrics
from workers.grouping.stories import READABLE

log = logging.getLogger(__name__)

UNACKED = "unacked"  # kombu's hash of delivered, unacknowledged messages (tag -> [payload, ...])
# Queued messages a sweep reads at most; more and it waits. A translate message carries its whole
# article (~5-20 kB): 500 of them are a few MB read inside one MULTI, which Redis serves at once.
SNAPSHOT_LIMIT = 500
MIN_AGE = 60.0  # seconds: a page fetched since has its extract message on the way
UNGROUPED_BATCH = 1000  # ungrouped articles sent to group at most per sweep
SWEEP_LOCK = f"{KEY_PREFIX}orphan-sweep"

# Deletes a raw page only if it is still the fetch that was read: the crawler may have fetched the
# URL again since (same key), and that page waits for its own extraction.
_DELETE_IF_UNCHANGED = ("if redis.call('hget', KEYS[1], 'meta') == ARGV[1] then"
                        " return redis.call('del', KEYS[1]) end return 0")


@dataclass
class Settled:
    requeued: int = 0  # raw pages sent to extract again
    spent: int = 0  # claim checks deleted: their article is stored from that fetch
    grouped: int = 0  # stored articles sent to group again: their group message was lost
    busy: bool = False  # the queues were too long to read: nothing was decided

    def as_dict(self) -> dict[str, int]:
        return {"requeued": self.requeued, "spent": self.spent}


@dataclass
class References:
    """What the messages in queues and in ``unacked`` refer to."""

    raw_keys: set[str]
    grouped_urls: set[str]  # articles a group message names


def references(client: redis.Redis) -> References | None:
    """What every queued or unacknowledged message refers to; None when the queues hold more than
    :data:`SNAPSHOT_LIMIT` messages (reading them all would cost more than waiting)."""
    queues = queue_names(client)
    with client.pipeline(transaction=False) as pipe:  # cheap first look: busy queues are not read
        for queue in queues:
            pipe.llen(queue)
        if sum(pipe.execute()) > SNAPSHOT_LIMIT:
            return None
    with client.pipeline(transaction=True) as pipe:  # MULTI/EXEC: one consistent snapshot
        for queue in queues:
            pipe.llen(queue)
            pipe.lrange(queue, 0, SNAPSHOT_LIMIT)
        pipe.hvals(UNACKED)
        replies = pipe.execute()
    lengths, lists, unacked = replies[0:-1:2], replies[1:-1:2], replies[-1]
    if sum(lengths) > SNAPSHOT_LIMIT:
        return None
    found = References(set(), set())
    payloads = [json.loads(raw) for items in lists for raw in items]
    payloads += [json.loads(value)[0] for value in unacked]
    for payload in payloads:
        task, messages = _messages(payload)
        for message in messages:
            if message.get("raw_key"):
                found.raw_keys.add(message["raw_key"])
            if task == GROUP_TASK and message.get("url"):
                found.grouped_urls.add(message["url"])
    return found


def _messages(payload: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
    """The task name of one kombu message and our JSON messages in it (a Celery task's args)."""
    try:
        body = payload["body"]
        if payload.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        task = payload.get("headers", {}).get("task")
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        return None, []
    return task, [arg for arg in args if isinstance(arg, dict)]


def settle(settings: Settings, *, min_age: float = MIN_AGE, by_age: bool = False) -> Settled:
    """Send to ``extract`` the raw pages whose message was lost; delete the spent claim checks.

    ``by_age`` (after a Redis crash, when queues may be long): every unsettled page fetched at
    least ``min_age`` seconds ago counts as lost, referenced or not; sending one twice is harmless.
    """
    assert settings.database_url and settings.redis_url
    client = redis.Redis.from_url(settings.redis_url)
    try:
        pages = _raw_pages(client, min_age)  # read before the snapshot: a page seen there is older
        snapshot = References(set(), set())
        if not by_age:
            found = references(client)
            if found is None:
                return Settled(busy=True)
            snapshot = found
        urls = [meta["url"] for _, _, meta in pages]
        with psycopg.connect(settings.database_url) as conn:
            stored = _stored_fetches(conn, urls)
            failed = _open_failures(conn, urls)
            ungrouped = [] if by_age else _ungrouped(conn, min_age, settings.story_window_hours)
        settled = Settled()
        celery = producer(settings.redis_url)
        for key, raw_meta, meta in pages:
            if _already_stored(meta, stored.get(meta["url"])):
                settled.spent += int(cast(int, client.eval(_DELETE_IF_UNCHANGED, 1, key, raw_meta)))
            elif meta["url"] not in failed and key not in snapshot.raw_keys:
                send(celery, EXTRACT, ExtractMessage(raw_key=key, url=meta["url"], site=meta["site"]).to_json())
                settled.requeued += 1
                log.warning("orphan: %s had no message in any queue or delivery; sent to extract again",
                            meta["url"])
        for url, site in ungrouped:
            if url not in snapshot.grouped_urls:
                send(celery, GROUP, GroupMessage(url=url, site=site).to_json())
                settled.grouped += 1
                log.warning("orphan: %s is stored but not grouped, and no group message names it;"
                            " sent to group again", url)
        celery.close()
        return settled
    finally:
        client.close()


class Sweeper:
    """Settles orphans every ``settings.orphan_sweep_seconds``, in one worker of the cluster at a
    time (a Redis lock that expires with the interval)."""

    def __init__(self, settings: Settings, node: str) -> None:
        self.settings = settings
        self.node = node
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="orphan-sweep", daemon=True)

    def start(self) -> None:
        if self.settings.orphan_sweep_seconds > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        interval = self.settings.orphan_sweep_seconds
        client = redis.Redis.from_url(self.settings.redis_url or "")
        while not self._stop.wait(interval):
            try:
                if not client.set(SWEEP_LOCK, self.node, nx=True, ex=max(1, int(interval))):
                    continue  # another worker swept within this interval
                settled = settle(self.settings)
                metrics.on_orphans(settled.requeued, settled.spent, settled.grouped)
                if settled.requeued or settled.spent or settled.grouped:
                    log.warning("orphan sweep: requeued %d raw page(s), deleted %d spent claim check(s),"
                                " sent %d article(s) to group", settled.requeued, settled.spent, settled.grouped)
            except Exception as exc:  # noqa: BLE001 - Redis or Postgres away: the next round retries
                log.info("orphan sweep skipped: %s", exc)


def _raw_pages(client: redis.Redis, min_age: float) -> list[tuple[str, bytes, dict[str, Any]]]:
    """(key, meta as stored, meta) of each raw page fetched at least ``min_age`` seconds ago."""
    cutoff = datetime.now().timestamp() - min_age
    pages = []
    for key in client.scan_iter(match=f"{RAW_PAGE_PREFIX}*", count=500):
        raw_meta = cast("bytes | None", client.hget(key, "meta"))
        meta = json.loads(raw_meta or b"{}")
        if raw_meta and meta and _fetched(meta) <= cutoff:
            pages.append((key.decode(), raw_meta, meta))
    return pages


def _stored_fetches(conn: psycopg.Connection[Any], urls: list[str]) -> dict[str, datetime]:
    """``fetched_at`` of the stored article of each URL that has one."""
    rows = conn.execute("SELECT url, fetched_at FROM articles WHERE url = ANY(%s)", (urls,)).fetchall()
    return {url: fetched_at for url, fetched_at in rows}


def _ungrouped(conn: psycopg.Connection[Any], min_age: float, window_hours: int) -> list[tuple[str, str]]:
    """(url, site) of the window's stored articles that grouping has not seen as they now are."""
    rows = conn.execute(
        "SELECT a.url, a.site FROM articles a LEFT JOIN grouping_articles g ON g.article_id = a.id"
        " WHERE a.listed_at > now() - make_interval(hours => %(window)s)"
        " AND a.updated_at < now() - make_interval(secs => %(age)s) AND a.status <> 'pending'"
        " AND (g.article_id IS NULL OR (NOT g.on_english AND a.status = ANY(%(readable)s)"
        "      AND (a.title_en IS NOT NULL OR a.text_en IS NOT NULL)))"
        # A grouping that failed waits for the operator (`failures retry`), as a failed page does.
        " AND NOT EXISTS (SELECT 1 FROM failures f WHERE f.url = a.url AND f.stage = 'group'"
        "                 AND f.resolved_at IS NULL)"
        " ORDER BY a.listed_at LIMIT %(limit)s",
        {"window": window_hours, "age": min_age, "readable": list(READABLE), "limit": UNGROUPED_BATCH},
    ).fetchall()
    return [(url, site) for url, site in rows]


def _open_failures(conn: psycopg.Connection[Any], urls: list[str]) -> set[str]:
    rows = conn.execute("SELECT url FROM failures WHERE url = ANY(%s) AND resolved_at IS NULL", (urls,))
    return {row[0] for row in rows}


def _already_stored(meta: dict[str, Any], stored_fetch: datetime | None) -> bool:
    # An upsert that changes nothing keeps the older fetched_at: such a page is extracted again,
    # which stores nothing new and then spends the claim check.
    return stored_fetch is not None and stored_fetch.timestamp() >= _fetched(meta)


def _fetched(meta: dict[str, Any]) -> float:
    return datetime.fromisoformat(meta["fetched_at"]).timestamp()
