"""The three test tiers: which marker each folder's tests get, and the servers the unit tier refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

# The fixtures of tests/conftest.py that stand on a real Postgres and Redis.
SERVER_FIXTURES = ("servers", "settings", "clean_state", "worker_factory")
UNIT_REFUSAL = "unit tests use no servers: move this test to tests/integration"


def mark_tier(items: list[pytest.Item], folder: Path, marker: str) -> None:
    """Give every collected test under ``folder`` the ``marker`` (pytest hands every conftest all items)."""
    for item in items:
        if item.path.is_relative_to(folder):
            item.add_marker(marker)
