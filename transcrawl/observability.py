"""Sentry and logging set-up; both are harmless no-ops when not configured."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from transcrawl.settings import Settings

_SECRET_KEYS = ("password", "secret", "token", "dsn", "database_url", "redis_url", "body", "html")


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
        before_send=_scrub,
    )
    sentry_sdk.set_tag("component", component)
    return True


def _scrub(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Drop page bodies and secrets from events (Celery args may hold whole articles)."""
    for frame_holder in (event.get("exception", {}) or {}).get("values", []):
        for frame in (frame_holder.get("stacktrace") or {}).get("frames", []):
            frame.pop("vars", None)
    extra = event.get("extra") or {}
    for key in list(extra):
        if any(s in key.lower() for s in _SECRET_KEYS) or key.startswith("celery-job"):
            extra[key] = "[removed]"
    return event


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                "message": record.getMessage()}
        for key in ("site", "url", "task_id"):
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def setup_logging(settings: Settings, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
