"""Errors as problem documents (RFC 9457, ``application/problem+json``), naming what was wrong."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

PROBLEM_TYPE = "application/problem+json"


class Problem(Exception):
    """An error the client should see as a problem document."""

    def __init__(self, status: int, title: str, detail: str, *,
                 invalid_params: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.invalid_params = invalid_params or []

    def response(self, instance: str) -> Response:
        body: dict[str, Any] = {"type": "about:blank", "title": self.title, "status": self.status,
                                "detail": self.detail, "instance": instance}
        if self.invalid_params:
            body["invalid_params"] = self.invalid_params  # the extension member RFC 9457 shows
        headers = {"Cache-Control": "no-store"}
        if self.status == 503:
            headers["Retry-After"] = "5"
        return Response(json.dumps(body), status_code=self.status, media_type=PROBLEM_TYPE, headers=headers)


def bad_parameter(name: str, reason: str) -> Problem:
    return Problem(400, "Bad parameter", f"{name}: {reason}", invalid_params=[{"name": name, "reason": reason}])


def not_found(detail: str) -> Problem:
    return Problem(404, "Not found", detail)


def unavailable(detail: str) -> Problem:
    return Problem(503, "Service unavailable", detail)
