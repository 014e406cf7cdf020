"""Build a local news web from the shared corpus of real article pages (``shared/corpus/news``)."""

from __future__ import annotations

import gzip
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from transcrawl.newsweb import LocalArticle, LocalSite

# The corpus uses a few non-ISO country codes; the registry wants ISO 3166 alpha-2.
COUNTRY_FIXES = {"uk": "gb", "ind": "in"}
COUNTRY_LANGUAGE = {
    "at": "de", "au": "en", "be": "nl", "ca": "en", "ch": "de", "de": "de", "dk": "da", "es": "es",
    "fr": "fr", "gb": "en", "id": "id", "il": "he", "in": "en", "it": "it", "jp": "ja", "kr": "ko",
    "li": "de", "ls": "en", "lt": "lt", "lu": "de", "mx": "es", "na": "en", "no": "no", "pl": "pl",
    "ru": "ru", "se": "sv", "tr": "tr", "tz": "en", "us": "en", "za": "en",
}  # fmt: skip
_HTML_LANG = re.compile(rb"<html[^>]*?\blang=[\"']?([A-Za-z]{2,3})\b", re.I)


def shared_dir() -> Path | None:
    """The shared folder (``$TRANSCRAWL_SHARED`` or ``../shared`` beside the repo), or None when absent."""
    override = os.environ.get("TRANSCRAWL_SHARED")
    path = Path(override) if override else Path(__file__).resolve().parents[2].parent / "shared"
    return path if path.is_dir() else None


def corpus_sites(
    shared: Path, *, max_sites: int | None = None, per_site: int | None = None
) -> tuple[list[LocalSite], dict[str, dict[str, Any]]]:
    """One :class:`LocalSite` per publisher of the corpus, and its ground truth.

    The ground truth maps each *served path* (``/YYYY/MM/DD/slug.html``, no tracking parameters) to its
    index row (url, publisher, country, title, body, authors, publishing_date, ...), keyed per site:
    ``truth[site_id][path]``. Served URLs need the running web's ports, so use :func:`truth_by_url`
    once it runs. Sites come in index order; ``max_sites`` and ``per_site`` cut them down.
    """
    root = shared / "corpus" / "news"
    rows = [json.loads(line) for line in (root / "index.jsonl").read_text(encoding="utf-8").splitlines() if line]
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(site_id(row["publisher"]), []).append(row)
    sites: list[LocalSite] = []
    truth: dict[str, dict[str, Any]] = {}
    for sid, members in list(grouped.items())[:max_sites]:
        site, paths = _site(root, sid, members[:per_site])
        sites.append(site)
        truth[sid] = paths
    return sites, truth


def truth_by_url(web: Any, truth: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Served article URL -> index row, for a running :class:`~transcrawl.newsweb.NewsWeb`."""
    return {web.origin(sid) + path: row for sid, paths in truth.items() for path, row in paths.items()}


def site_id(publisher: str) -> str:
    """``"TheGlobeAndMail"`` -> ``"theglobeandmail"`` (a valid registry id)."""
    slug = re.sub(r"[^a-z0-9]+", "-", publisher.lower()).strip("-")
    return slug if len(slug) >= 2 else f"site-{slug}"


def _site(root: Path, sid: str, rows: list[dict[str, Any]]) -> tuple[LocalSite, dict[str, Any]]:
    country = COUNTRY_FIXES.get(rows[0]["country"], rows[0]["country"])
    articles: list[LocalArticle] = []
    paths: dict[str, Any] = {}
    for row in rows:
        html = gzip.decompress((root / row["file"]).read_bytes())
        article = LocalArticle(
            slug=_unique_slug(row["url"], {a.slug for a in articles}),
            title=row["title"],
            html=html,
            published=datetime.fromisoformat(row["publishing_date"]),
        )
        articles.append(article)
        paths[article.path()] = row
    language = _language(articles[0].html) or COUNTRY_LANGUAGE.get(country, "en")
    site = LocalSite(id=sid, name=rows[0]["publisher"], country=country, language=language, articles=articles)
    return site, paths


def _unique_slug(url: str, taken: set[str]) -> str:
    path = unquote(urlsplit(url).path).lower()
    path = re.sub(r"\.s?html?$|\.php$", "", path)
    slug = re.sub(r"[^a-z0-9]+", "-", path).strip("-")[-80:].strip("-") or "article"
    candidate, counter = slug, 2
    while candidate in taken:
        candidate, counter = f"{slug}-{counter}", counter + 1
    return candidate


def _language(html: bytes) -> str | None:
    match = _HTML_LANG.search(html[:4000])
    return match.group(1).decode().lower() if match else None
