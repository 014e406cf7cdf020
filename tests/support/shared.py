"""Where ``../shared`` is: the real-page corpus, the zh→en model and the data sets, beside the checkout."""

from __future__ import annotations

from pathlib import Path

# One lookup for tests and benches alike ($TRANSCRAWL_SHARED, else ../shared beside the checkout).
from transcrawl.localweb.corpusweb import shared_dir as shared_path

REPO = Path(__file__).resolve().parents[2]

__all__ = ["REPO", "shared_path"]
