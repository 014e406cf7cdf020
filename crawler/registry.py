"""The site registry: one declarative entry per news site, validated when loaded.

Entries live in TOML files, one per country, under ``crawler/sites/`` (or wherever
``TRANSCRAWL_SITES`` points). Each ``[[site]]`` table becomes a :class:`Site`.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,62}$")
_COUNTRY = re.compile(r"^[a-z]{2}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


class RegistryError(ValueError):
    """A registry entry is invalid; the message names the entry and the file."""


@dataclasses.dataclass(frozen=True)
class Site:
    """One news site and where to discover its articles."""

    id: str
    name: str
    country: str
    language: str
    homepage: str
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()  # plain, index or Google News sitemaps
    article_pattern: str | None = None  # regex over the URL; homepage links must match it
    allowed_domains: tuple[str, ...] = ()  # defaults to the homepage's host
    crawl_interval: int = 3600  # seconds between scheduled crawls
    extract: dict[str, str] = dataclasses.field(default_factory=dict)  # per-site overrides

    @property
    def domains(self) -> tuple[str, ...]:
        return self.allowed_domains or (urlsplit(self.homepage).hostname or "",)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["feeds"], data["sitemaps"] = list(self.feeds), list(self.sitemaps)
        data["allowed_domains"] = list(self.domains)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], *, where: str = "registry") -> Site:
        return _build(data, where)


def load(path: Path | None = None) -> list[Site]:
    """Load and validate every entry under ``path`` (a .toml file or a folder of them)."""
    sites: list[Site] = []
    for name, text in _sources(path):
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RegistryError(f"{name}: not valid TOML: {exc}") from exc
        for index, entry in enumerate(document.get("site", [])):
            where = f"{name} [[site]] #{index + 1} ({entry.get('id', '?')})"
            sites.append(_build(entry, where))
    check_unique(sites)
    return sites


def check_unique(sites: Iterable[Site]) -> None:
    """Duplicate ids or homepages are errors naming both entries."""
    ids: dict[str, Site] = {}
    homepages: dict[str, Site] = {}
    for site in sites:
        if site.id in ids:
            raise RegistryError(f"duplicate site id {site.id!r}")
        home = site.homepage.rstrip("/")
        if home in homepages:
            raise RegistryError(f"sites {homepages[home].id!r} and {site.id!r} share homepage {home}")
        ids[site.id], homepages[home] = site, site


def select(sites: list[Site], ids: Iterable[str]) -> list[Site]:
    """The sites named by id, in the order given; an unknown id is an error."""
    wanted = list(ids)
    if not wanted:
        return sites
    by_id = {s.id: s for s in sites}
    missing = [i for i in wanted if i not in by_id]
    if missing:
        raise RegistryError(f"unknown site(s): {', '.join(missing)}")
    return [by_id[i] for i in wanted]


def dumps(sites: Iterable[Site]) -> str:
    """TOML text for ``sites`` (used to hand a generated registry to a crawler process)."""
    lines: list[str] = []
    for site in sites:
        lines.append("[[site]]")
        for key, value in site.to_json().items():
            if value in (None, [], {}):
                continue
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items()) + " }"
    return json.dumps(value, ensure_ascii=False)  # JSON strings and lists are valid TOML


def _sources(path: Path | None) -> list[tuple[str, str]]:
    if path is None:
        folder = resources.files("crawler").joinpath("sites")
        return sorted(
            (f"crawler/sites/{f.name}", f.read_text(encoding="utf-8"))
            for f in folder.iterdir()
            if f.name.endswith(".toml")
        )
    if path.is_dir():
        return [(str(f), f.read_text(encoding="utf-8")) for f in sorted(path.rglob("*.toml"))]
    if not path.exists():
        raise RegistryError(f"site registry {path} does not exist")
    return [(str(path), path.read_text(encoding="utf-8"))]


def _build(entry: dict[str, Any], where: str) -> Site:
    known = {f.name for f in dataclasses.fields(Site)}
    unknown = set(entry) - known
    if unknown:
        raise RegistryError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for required in ("id", "name", "country", "language", "homepage"):
        if not isinstance(entry.get(required), str) or not entry[required].strip():
            raise RegistryError(f"{where}: {required!r} is required")
    if not _ID.match(entry["id"]):
        raise RegistryError(f"{where}: id {entry['id']!r} must be lower-case letters, digits, - or _")
    if not _COUNTRY.match(entry["country"]):
        raise RegistryError(f"{where}: country {entry['country']!r} is not an ISO 3166 alpha-2 code")
    if not _LANGUAGE.match(entry["language"]):
        raise RegistryError(f"{where}: language {entry['language']!r} is not an ISO 639-1 code")
    values = dict(entry)
    for key in ("feeds", "sitemaps", "allowed_domains"):
        values[key] = tuple(entry.get(key, ()))
    for url in (values["homepage"], *values["feeds"], *values["sitemaps"]):
        _check_url(url, where)
    if values.get("article_pattern"):
        try:
            re.compile(values["article_pattern"])
        except re.error as exc:
            raise RegistryError(f"{where}: article_pattern is not a valid regex: {exc}") from exc
    interval = values.get("crawl_interval", 3600)
    if not isinstance(interval, int) or interval < 60:
        raise RegistryError(f"{where}: crawl_interval must be an integer of at least 60 seconds")
    return Site(**values)


def _check_url(url: Any, where: str) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise RegistryError(f"{where}: {url!r} is not an absolute http(s) URL")
