"""Where ``../shared`` is: the real-page corpus, the zh→en model and the data sets, beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def shared_path() -> Path | None:
    """``$TRANSCRAWL_SHARED``, else ``../shared`` beside the checkout; None when that folder is absent."""
    folder = Path(os.environ.get("TRANSCRAWL_SHARED") or REPO.parent / "shared")
    return folder if folder.is_dir() else None
