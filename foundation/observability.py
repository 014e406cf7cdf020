"""Sentry and logging set-up; both are harmless no-ops when not configured."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

from foundation import logging_context
from foundation.settings import Settings

_SECRET_KEYS = ("password", "secret", "token", "dsn", "database_url", "redis_url", "body", "html")
# user:password@ in any URL (a Redis or Postgres URL quoted in an error message).
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]+@", re.I)


def init_sentry(settings: Settings, *, component: str) -> bool:
    """Start Sentry in this process when ``SENTRY_DSN`` is set; returns whether it did."""
    if not settings.sentry_dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        release=settings.release,
        environment=settings.environment,
        integrations=[CeleryIntegration()],
        send_default_pii=False,
        max_request_body_size="never",
        before_send=_before_send,
    )
    sentry_sdk.set_tag("component", component)
    return True


def _before_send(event: Event, hint: Hint) -> Event | None:
    # Sentry types events as a TypedDict; the scrubber walks them as the plain dicts they are.
    return cast("Event", _scrub(cast("dict[str, Any]", event), hint))


def _scrub(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Drop page bodies and secrets from events (Celery args may hold whole articles).

    Also names the task's site, URL and task id (from the log context) on every event.
    """
    for frame_holder in (event.get("exception", {}) or {}).get("values", []):
        for frame in (frame_holder.get("stacktrace") or {}).get("frames", []):
            frame.pop("vars", None)
        if isinstance(frame_holder.get("value"), str):
            frame_holder["value"] = redact_text(frame_holder["value"])
    extra = event.get("extra") or {}
    for key in list(extra):
        if any(s in key.lower() for s in _SECRET_KEYS) or key.startswith("celery-job"):
            extra[key] = "[removed]"
    for crumb in (event.get("breadcrumbs") or {}).get("values", []):
        crumb.pop("data", None)  # log-record extras and HTTP bodies; the message stays
        if isinstance(crumb.get("message"), str):
            crumb["message"] = redact_text(crumb["message"])
    logentry = event.get("logentry") or {}
    if isinstance(logentry.get("message"), str):
        logentry["message"] = redact_text(logentry["message"])
        logentry.pop("params", None)
    tags = event.setdefault("tags", {})
    for key, value in logging_context.current().items():
        tags.setdefault(key, value)
    return event


def redact_text(text: str) -> str:
    """``text`` with the password of any URL in it replaced by ``***``."""
    return _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                "message": record.getMessage()}
        for key in logging_context.FIELDS:
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The plain format, with the task's context appended when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(f"{k}={getattr(record, k)}" for k in logging_context.FIELDS
                           if getattr(record, k, None))
        return f"{line} [{context}]" if context else line


def setup_logging(settings: Settings, level: int | str = logging.INFO) -> None:
    """One stderr handler on the root logger: JSON lines when ``log_json``, text otherwise."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_json else TextFormatter())
    handler.addFilter(logging_context.ContextFilter())
    if isinstance(level, str):
        level = logging.getLevelName(level.upper())
    handler.setLevel(level)  # Scrapy resets the root logger's level to NOTSET
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
