"""``extract_file``: one saved page (.html or .html.gz) to a JSON-ready dict, for the CLI."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

from workers.errors import BadPage
from workers.extraction.combine import extract_article
from workers.extraction.decode import MAX_HTML_BYTES

_CANONICAL = re.compile(rb"""<link[^>]+rel=["']canonical["'][^>]*>""", re.I)
_HREF = re.compile(rb"""href=["']([^"']+)["']""", re.I)


def extract_file(path: str) -> dict[str, Any]:
    """Extract the article in a saved page; errors come back as ``{"path", "error"}``, never raised."""
    try:
        data = _read(Path(path))
        result = extract_article(data, _page_url(data, path)).to_json()
    except BadPage as err:
        return {"path": path, "error": f"{err.reason}: {err.detail}"}
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        return {"path": path, "error": f"unreadable: {err}"}
    except Exception as err:  # noqa: BLE001 - a CLI over many files reports, never stops
        return {"path": path, "error": f"{type(err).__name__}: {err}"}
    return {"path": path, **result}


def _read(path: Path) -> bytes:
    if path.name.endswith(".gz"):
        with gzip.open(path, "rb") as handle:
            # Read one byte past the limit so a huge page is rejected, not silently cut.
            return handle.read(MAX_HTML_BYTES + 1)
    return path.read_bytes()


def _page_url(data: bytes, path: str) -> str:
    """The page's canonical URL when it names one: site names and URL dates come from it."""
    link = _CANONICAL.search(data[:300_000])
    href = _HREF.search(link.group(0)) if link else None
    if href and href.group(1).startswith(b"http"):
        return href.group(1).decode("utf-8", "replace")
    return Path(path).resolve().as_uri()
