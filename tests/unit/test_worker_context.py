"""One context per worker process, built from settings handed in, never from the parent's globals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from foundation.settings import Settings
from workers import app as worker_app
from workers import context

# Not in the environment (tests/unit/conftest.py removes the server URLs): only configure() has it.
GIVEN = Settings(redis_url="redis://127.0.0.1:6399/5", database_url="postgresql://u@127.0.0.1:1/given",
                 max_deliveries=7)


@pytest.fixture(autouse=True)
def fresh_context(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts in a process that nobody configured; the module's state is put back after."""
    monkeypatch.setattr(context, "_settings", None)
    monkeypatch.setattr(context, "_current", None)
    yield


def in_forked_child(run: object) -> dict[str, object]:
    """Fork (as Celery's prefork pool does), call ``run()`` in the child, return its JSON answer."""
    assert callable(run)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 0
        try:
            answer = json.dumps(run())
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            answer, code = json.dumps({"error": repr(exc)}), 1
        os.write(write, answer.encode())
        os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    result: dict[str, object] = json.loads(answer)
    return result


def test_settings_given_to_configure_reach_a_forked_pool_process() -> None:
    worker_app.configure(GIVEN)  # what `transcrawl worker` does before worker_main
    parent = context.current()  # a context in the parent too: the child must not reuse it

    def child() -> dict[str, object]:
        inherited = context.peek()
        worker_app._init_process()  # the worker_process_init handler, as the pool calls it
        ctx = context.current()
        kwargs = ctx.redis.connection_pool.connection_kwargs
        return {"inherited": inherited is not None, "redis_url": ctx.settings.redis_url,
                "port": kwargs["port"], "db": kwargs["db"], "max_deliveries": ctx.settings.max_deliveries,
                "same_context": ctx is parent, "same_client": ctx.redis is parent.redis,
                "pool_opened": ctx._pool is not None, "translator": ctx.loaded_translator is not None}

    assert "TRANSCRAWL_REDIS_URL" not in os.environ
    assert in_forked_child(child) == {
        "inherited": False, "redis_url": GIVEN.redis_url, "port": 6399, "db": 5, "max_deliveries": 7,
        "same_context": False, "same_client": False, "pool_opened": False, "translator": False,
    }
    assert worker_app.app.conf.broker_url == GIVEN.redis_url


def test_outside_a_worker_the_context_says_what_is_missing() -> None:
    with pytest.raises(context.NotInitialised, match="configure"):
        context.current()
    assert context.peek() is None


def test_a_thread_pool_builds_one_context_on_first_use() -> None:
    # The threads pool sends no worker_process_init: the first task builds it, once.
    context.configure(GIVEN)
    seen: list[context.WorkerContext] = []
    threads = [threading.Thread(target=lambda: seen.append(context.current())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and all(ctx is seen[0] for ctx in seen)
    assert seen[0].settings is GIVEN


def test_the_pool_and_the_translator_open_on_first_use_only() -> None:
    ctx = context.WorkerContext.build(GIVEN)
    assert ctx._pool is None and ctx.loaded_translator is None
    translator = ctx.translator()
    assert ctx.translator() is translator and ctx.loaded_translator is translator
    assert translator.settings is GIVEN
    ctx.close()


def test_a_context_without_a_redis_url_is_refused() -> None:
    with pytest.raises(context.NotInitialised, match="TRANSCRAWL_REDIS_URL"):
        context.WorkerContext.build(Settings())


def test_an_unconfigured_app_reads_the_environment_when_first_used_not_at_import() -> None:
    # `celery -A workers.app worker` (or flower): nobody calls configure(). The URL is set only
    # after the import, so the app can only have it if it read the environment later.
    code = ("import json, os\n"
            "import workers.app, workers.tasks\n"
            "from workers import context\n"
            "os.environ['TRANSCRAWL_REDIS_URL'] = 'redis://127.0.0.1:6398/4'\n"
            "os.environ['TRANSCRAWL_TASK_TIME_LIMIT'] = '7'\n"
            "conf = workers.app.app.conf\n"
            "print(json.dumps([conf.broker_url, conf.task_time_limit, conf.task_acks_late,\n"
            "                  context.settings().redis_url]))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRANSCRAWL_")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert json.loads(done.stdout) == ["redis://127.0.0.1:6398/4", 7, True, "redis://127.0.0.1:6398/4"]
