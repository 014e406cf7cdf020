"""Structured logs: every line a task logs names its site, URL and task id (JSON with log_json)."""

from __future__ import annotations

import io
import json
import logging

from foundation import logging_context
from foundation.observability import JsonFormatter, TextFormatter, _scrub, redact_text


def _record_through(formatter: logging.Formatter) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(logging_context.ContextFilter())
    logger = logging.getLogger("transcrawl.test.logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logging_context.bind(site="de-example", url="http://de.example/a.html", task_id="t-1", task="x")
        logger.warning("inside a task")
        logging_context.clear()
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
        logging_context.clear()
    return stream.getvalue()


def test_json_lines_carry_the_task_context() -> None:
    inside, outside = (json.loads(line) for line in _record_through(JsonFormatter()).splitlines())
    assert inside["site"] == "de-example" and inside["url"] == "http://de.example/a.html"
    assert inside["task_id"] == "t-1" and inside["message"] == "inside a task"
    assert "site" not in outside and outside["level"] == "WARNING"


def test_text_lines_carry_the_task_context() -> None:
    inside, outside = _record_through(TextFormatter()).splitlines()
    assert inside.endswith("[site=de-example url=http://de.example/a.html task_id=t-1 task=x]")
    assert "site=" not in outside


def test_sentry_events_are_scrubbed_and_tagged() -> None:
    logging_context.bind(site="s", url="http://s.example/x", task_id="t-2")
    try:
        event = _scrub({
            "exception": {"values": [{"value": "cannot connect to redis://:hunter2@redis:6379/0",
                                      "stacktrace": {"frames": [{"vars": {"body": "PAGE"}}]}}]},
            "extra": {"celery-job": {"args": ["PAGE"]}, "database_url": "postgresql://u:p@h/db"},
            "breadcrumbs": {"values": [{"message": "postgresql://u:secret@db/x down", "data": {"b": 1}}]},
        }, {})
    finally:
        logging_context.clear()
    text = json.dumps(event)
    assert "hunter2" not in text and "secret" not in text and "PAGE" not in text
    assert event["tags"] == {"site": "s", "url": "http://s.example/x", "task_id": "t-2"}
    assert redact_text("redis://redis:6379/0") == "redis://redis:6379/0"


