"""The extraction result handed to the pipeline and to ``transcrawl extract``."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class Extracted:
    """One article as extracted from one page, with where each field came from."""

    title: str
    text: str  # paragraphs separated by "\n", none empty
    authors: list[str]  # clean names: no "By", no site names, no duplicates
    published_at: str | None  # ISO 8601 with time zone, or None
    language: str  # ISO 639-1
    sources: dict[str, str]  # field -> source ("json-ld", "og:title", "trafilatura", ...)
    flags: list[str]  # quality flags ("thin", "no_date", ...)
    image_url: str | None = None  # the lead image, absolute, its largest size (workers/extraction/media.py)
    image_caption: str | None = None
    image_credit: str | None = None
    description: str | None = None  # the standfirst or declared summary, cleaned

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
