"""Structured logs: every line a task logs names its site, URL and task id (JSON with log_json)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from foundation.settings import Settings
from schemas.keys import raw_page_key
from schemas.pipeline import EXTRACT_TASK, producer
from tests.support.processes import wait_until


@pytest.mark.slow
def test_worker_json_logs_name_site_url_and_task(settings: Settings, clean_state: None,
                                                worker_factory: Any) -> None:
    worker = worker_factory(dataclasses.replace(settings, log_json=True), queues="extract", concurrency=1)
    url = "http://logs.example/2026/11/27/gone.html"
    producer(settings.redis_url or "").send_task(
        EXTRACT_TASK, args=[{"raw_key": raw_page_key(url), "url": url, "site": "logs-site"}])

    def failure_line() -> dict[str, Any] | None:
        for line in worker.log.read_text(errors="replace").splitlines():
            if line.startswith("{") and "raw_page_missing" in line and url in line:
                return dict(json.loads(line))
        return None

    assert wait_until(failure_line, timeout=60), worker.tail()
    line = failure_line()
    assert line is not None
    assert line["site"] == "logs-site" and line["url"] == url and line["task_id"]
    # Celery's own lines about the task carry the same context.
    task_lines = [json.loads(x) for x in worker.log.read_text().splitlines()
                  if x.startswith("{") and line["task_id"] in x]
    assert len(task_lines) >= 2 and all(x.get("task_id") == line["task_id"] for x in task_lines
                                        if x["logger"] != "celery.worker.strategy")
