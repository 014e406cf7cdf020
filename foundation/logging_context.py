"""Per-task log context: site, URL and task id, stamped on every log record a task emits."""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

FIELDS = ("site", "url", "task_id", "task")

_context: ContextVar[dict[str, str]] = ContextVar("transcrawl_log_context", default={})


def bind(**fields: Any) -> None:
    """Set the context of the running task (fields that are None are left out)."""
    _context.set({k: str(v) for k, v in fields.items() if v is not None})


def clear() -> None:
    _context.set({})


def current() -> dict[str, str]:
    return dict(_context.get())


class ContextFilter(logging.Filter):
    """Copies the task context onto each record; attach it to handlers, not loggers.

    (A filter on a logger only sees records created by that logger, not its children's.)
    """

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        site = getattr(getattr(record, "spider", None), "site", None)  # Scrapy adds `spider`
        if site is not None and not hasattr(record, "site"):
            record.site = getattr(site, "id", site)
        return True
