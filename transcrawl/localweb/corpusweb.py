"""Build a local news web from the shared corpus of real article pages (``shared/corpus/news``)."""

from __future__ import annotations

import gzip
import json
import os
import re
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from transcrawl.localweb.newsweb import HOST, LocalArticle, LocalSite

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

    The ground truth maps each served article URL (``http://127.0.0.1:PORT/YYYY/MM/DD/slug.html``, as
    the registry, feeds and sitemaps expose it, without tracking parameters) to its index row (url,
    publisher, country, title, body, authors, publishing_date, ...). To know the URLs up front, each
    site gets a free port now (``LocalSite.port``) that :class:`~transcrawl.localweb.newsweb.NewsWeb` binds at
    start. Sites come in index order; ``max_sites`` and ``per_site`` cut them down.
    """
    root = shared / "corpus" / "news"
    rows = [json.loads(line) for line in (root / "index.jsonl").read_text(encoding="utf-8").splitlines() if line]
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(site_id(row["publisher"]), []).append(row)
    sites: list[LocalSite] = []
    truth: dict[str, dict[str, Any]] = {}
    chosen = list(grouped.items())[:max_sites]
    for (sid, members), port in zip(chosen, free_ports(len(chosen)), strict=True):
        site, paths = _site(root, sid, members[:per_site])
        site.port = port
        sites.append(site)
        truth.update((f"http://{HOST}:{site.port}{path}", row) for path, row in paths.items())
    return sites, truth


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free right now (the OS picks them; a tiny race with other processes remains)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:  # all held open at once, so the OS cannot hand out one port twice
            probe.bind((HOST, 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


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
            published=_aware(datetime.fromisoformat(row["publishing_date"])),
        )
        articles.append(article)
        paths[article.path()] = row
    language = _language(articles[0].html) or COUNTRY_LANGUAGE.get(country, "en")
    site = LocalSite(id=sid, name=rows[0]["publisher"], country=country, language=language, articles=articles)
    return site, paths


def _unique_slug(url: str, taken: set[str]) -> str:
    path = unquote(urlsplit(url).path).lower()
    path = re.sub(r"\.s?html?$|\.php$", "", path)
    words = re.sub(r"[^a-z0-9]+", "-", path).strip("-").split("-")
    while len(words) > 1 and len("-".join(words)) > 80:
        words.pop(0)  # the end of a news URL's path is the most specific part
    slug = "-".join(words)[:80] or "article"
    candidate, counter = slug, 2
    while candidate in taken:
        candidate, counter = f"{slug}-{counter}", counter + 1
    return candidate


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # a few rows carry no offset


def _language(html: bytes) -> str | None:
    match = _HTML_LANG.search(html[:4000])
    return match.group(1).decode().lower() if match else None
