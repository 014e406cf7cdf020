"""Which Celery worker nodes one ``transcrawl worker`` runs, and the translate node's supervision.

    transcrawl worker ──▶ stage node (prefork, -c N): extract, store   ← this process
                     └─▶ translate node (threads, one process): translate, translate.<lang>
                         a child process, restarted if it dies, stopped with its parent

Extraction and storing are CPU-bound Python that must be killable by a hard time limit, so they
run in a prefork pool, one task per process. Translation is the opposite: its work is in
CTranslate2, outside the GIL, and it is fast only when many articles share one engine round. So
the translate queues get a node of their own with one process (one model copy, one set of
replicas sized to the cores) and many threads, each holding one message while the process's
batcher (workers/translate/batcher.py) translates their articles together. A worker given only
translate queues (a GPU box) is just that node; one without them is just the stage node.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import logging
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Any

from foundation.servers import child_env
from foundation.settings import Settings
from schemas.pipeline import QUEUE_TRANSLATE, visibility_timeout

log = logging.getLogger("transcrawl.worker")

RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)  # seconds before restarting a node that died
PR_SET_PDEATHSIG = 1


def is_translate_queue(queue: str) -> bool:
    return queue == QUEUE_TRANSLATE or queue.startswith(f"{QUEUE_TRANSLATE}.")


def split_queues(queues: Sequence[str]) -> tuple[list[str], list[str]]:
    """(stage queues, translate queues)."""
    return [q for q in queues if not is_translate_queue(q)], [q for q in queues if is_translate_queue(q)]


def translate_hostname(hostname: str | None) -> str:
    """The translate node's name beside a stage node called ``hostname`` (Celery's %h expands)."""
    name, _, host = (hostname or "celery@%h").partition("@")
    return f"{name}-translate@{host or '%h'}"


def node_name(argv: Sequence[str]) -> str:
    """The node name in a worker's arguments (``--hostname``), with Celery's %h expanded."""
    name = argv[list(argv).index("--hostname") + 1] if "--hostname" in argv else "celery@%h"
    return name.replace("%h", socket.gethostname())


def translate_settings(settings: Settings) -> Settings:
    """The translate node's settings: its own metrics port (the next one) when metrics are on."""
    if settings.metrics_port:
        return dataclasses.replace(settings, metrics_port=settings.metrics_port + 1)
    return settings


def _die_with_parent() -> None:
    # Linux: the child gets SIGTERM when the worker that started it dies, even by kill -9, so no
    # translate node outlives its worker holding messages.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


M_ARENA_MAX = -8  # glibc mallopt parameter


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Call before the translate node starts its threads.

    Many threads allocating (tasks, engine replicas) would each get a glibc malloc arena of their
    own and keep its freed memory: with two arenas the node stayed 20-40 MB smaller on the
    pipeline benchmark (docs/benchmarks.md). A no-op where the C library has no mallopt.
    """
    try:
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, arenas)
    except (OSError, AttributeError):
        pass


class HeldDeliveries:
    """What a supervised translate node holds, so that its supervisor can give it back at once.

    The node records each message it takes (delivery tag → task id, in Redis) just before kombu
    records it in ``unacked``: there is no moment at which kombu holds a message of the node that the
    record lacks. If the node dies, its supervisor puts whatever is recorded back at the head of its
    queue (kombu's own restore, which also takes it out of ``unacked``), instead of leaving it for the
    visibility timeout: a dead translate node then costs seconds, like a dead prefork child. A tag
    recorded in the instant before kombu's own write restores nothing; that message was only popped
    (``BRPOP``), and the workers' orphan sweep (workers/orphans.py) sends its raw page on again.

    A record is forgotten only once its message is acknowledged, not when its task ends: Celery
    sends ``task_postrun`` before the late ack, and a node killed between the two would otherwise
    leave a message nobody gives back. Restoring a tag already acknowledged restores nothing, so a
    record kept a little too long is harmless.
    """

    def __init__(self, redis_url: str, node: str, ttl: int = 3600) -> None:
        import redis

        from schemas.keys import held_key

        self.key = held_key(node)
        self.ttl = ttl  # past the visibility timeout Redis gives the messages back anyway
        self.redis_url = redis_url
        self._client = redis.Redis.from_url(redis_url)
        self._tags: dict[str, str] = {}  # task id -> delivery tag, in this process
        self._finished: list[str] = []  # tags whose task ended, forgotten once kombu has acked them
        self._lock = threading.Lock()

    def record(self) -> None:
        """Hook this node's deliveries (call in the node before its worker starts)."""
        from celery.signals import task_postrun, task_received
        from kombu.transport import redis as kombu_redis

        kombu_append: Any = kombu_redis.QoS.append
        hold = self._hold

        def append(qos: Any, message: Any, delivery_tag: Any) -> None:
            hold(str(delivery_tag), str((getattr(message, "headers", None) or {}).get("id", "")))
            kombu_append(qos, message, delivery_tag)

        kombu_redis.QoS.append = append  # type: ignore[method-assign]
        task_received.connect(self._received, weak=False)
        task_postrun.connect(self._ended, weak=False)

    def _hold(self, tag: str, task_id: str) -> None:
        try:
            with self._client.pipeline() as pipe:
                pipe.hset(self.key, tag, task_id)
                pipe.expire(self.key, self.ttl)
                pipe.execute()
        except Exception as exc:  # noqa: BLE001 - the visibility timeout still brings it back
            log.info("could not record delivery %s: %s", tag, exc)

    def _received(self, request: Any = None, **_: Any) -> None:
        tag = getattr(getattr(request, "message", None), "delivery_tag", None)
        if tag is None or request is None:
            return
        with self._lock:  # which tag to forget when the task ends
            self._tags[request.id] = str(tag)

    def _ended(self, task_id: str | None = None, **_: Any) -> None:
        with self._lock:
            tag = self._tags.pop(task_id or "", None)
            if tag is not None:
                self._finished.append(tag)
            ended, self._finished = self._finished, []
        if ended:
            self._forget_acked(ended)

    def _forget_acked(self, tags: list[str]) -> None:
        """Drop the records of the tags acknowledged by now; keep the rest for the next call."""
        from kombu.transport.redis import Channel

        try:
            with self._client.pipeline(transaction=False) as pipe:
                for tag in tags:
                    pipe.hexists(Channel.unacked_key, tag)
                pending = pipe.execute()
            acked = [tag for tag, still in zip(tags, pending, strict=True) if not still]
            if acked:
                self._client.hdel(self.key, *acked)
            waiting = [tag for tag, still in zip(tags, pending, strict=True) if still]
        except Exception as exc:  # noqa: BLE001 - a stale record restores to nothing
            log.info("could not forget deliveries: %s", exc)
            waiting = tags
        with self._lock:
            self._finished.extend(waiting)

    def restore(self) -> int:
        """After the node died: its held messages back to their queues; how many there were."""
        tags = [t.decode() if isinstance(t, bytes) else str(t) for t in self._client.hkeys(self.key)]
        if tags:
            from workers.app import app

            with app.connection_for_write() as connection:
                qos = connection.default_channel.qos
                for tag in tags:  # to the end of the queue consumers take from next, as kombu does
                    qos.restore_by_tag(tag)
        self._client.delete(self.key)
        return len(tags)


class TranslateNode:
    """The translate node as a supervised child process of ``transcrawl worker``."""

    def __init__(self, settings: Settings, argv: list[str]) -> None:
        env = child_env(translate_settings(settings))
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the stage node empties its own folder at start
        self.node = node_name(argv)
        self.held = HeldDeliveries(settings.redis_url or "", self.node,
                                   visibility_timeout(settings.task_time_limit))
        self.command = [sys.executable, "-m", "transcrawl.cli", "worker", *argv, "--held-by-supervisor"]
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="translate-node", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _supervise(self) -> None:
        deaths = 0
        while not self._stopping.is_set():
            self.process = subprocess.Popen(self.command, env=self.env, preexec_fn=_die_with_parent)  # noqa: S603
            code = self.process.wait()
            if self._stopping.is_set():
                return
            try:
                restored = self.held.restore()
            except Exception as exc:  # noqa: BLE001 - the visibility timeout brings them back
                log.warning("could not give back the dead translate node's messages: %s", exc)
                restored = 0
            delay = RESTART_DELAYS[min(deaths, len(RESTART_DELAYS) - 1)]
            deaths += 1
            # Its messages were never acknowledged: Redis gives them back after the visibility
            # timeout, to the restarted node or any other.
            line = (f"translate node exited with code {code}; gave back the {restored} message(s) it "
                    f"held; restarting it in {delay:.0f} s")
            log.warning(line)
            print(line, file=sys.stderr, flush=True)
            if self._stopping.wait(delay):
                return

    def stop(self, timeout: float = 60.0) -> None:
        """Warm shutdown: SIGTERM lets the node finish its round and hand its articles on."""
        self._stopping.set()
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            with contextlib.suppress(Exception):
                self.held.restore()

