"""Installed translation models: one folder per language pair under the models directory.

Layout of ``<models_dir>/<src>-<tgt>/``::

    model/                CTranslate2 files (model.bin, config.json, *_vocabulary.json)
    sentencepiece.model   or source.spm / target.spm when the two sides are separate
    transcrawl.json       source, target, name, credit, installed_at

Packages come as Argos Translate ``.argosmodel`` zips, URLs of them, CTranslate2 folders, or pair
names looked up in the Argos index (see :mod:`workers.translate.download`). The bundled zh→en
model is OPUS-MT by Jörg Tiedemann and Santhosh Thottingal (CC-BY 4.0).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

# Re-exported: its home is the error tree (workers/errors.py), beside the other fates.
from workers.errors import ModelNotInstalled as ModelNotInstalled

MANIFEST = "transcrawl.json"
SPM_FILES = ("sentencepiece.model", "source.spm", "target.spm")
OPUS_CREDIT = "OPUS-MT by Jörg Tiedemann and Santhosh Thottingal (CC-BY 4.0)"
_PAIR = re.compile(r"^([a-z]{2,3}(?:_[A-Za-z]+)?)[-_]([a-z]{2,3}(?:_[A-Za-z]+)?)$")


@dataclasses.dataclass(frozen=True)
class InstalledModel:
    """A model ready to load: its language pair, folder, name and the credit its licence asks for."""

    source: str
    target: str
    path: Path
    name: str
    credit: str | None

    @property
    def installed_at(self) -> str:
        return str(_read_json(self.path / MANIFEST).get("installed_at", ""))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Raise ValueError unless ``path`` hashes to ``expected``."""
    actual = sha256_file(path)
    if actual != expected.lower():
        raise ValueError(f"sha256 mismatch for {path.name}: expected {expected}, got {actual}")


def install_model(
    source: str,
    models_dir: Path,
    *,
    source_lang: str | None = None,
    target_lang: str | None = None,
) -> InstalledModel:
    """Install a model from a ``.argosmodel`` file, its URL, a CTranslate2 folder or a pair name.

    The new folder is assembled beside the old one and renamed into place, so a worker never
    sees half a model; installing a pair again replaces it.
    """
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    if source.startswith(("http://", "https://")):
        from workers.translate.download import download_url

        with tempfile.TemporaryDirectory(dir=models_dir) as tmp:
            path = download_url(source, Path(tmp))
            return _install_path(path, models_dir, source_lang, target_lang)
    path = Path(source).expanduser()
    if not path.exists() and _PAIR.match(source):
        from workers.translate.download import fetch_pair

        src, tgt = _PAIR.match(source).groups()  # type: ignore[union-attr]
        with tempfile.TemporaryDirectory(dir=models_dir) as tmp:
            path = fetch_pair(src, tgt, Path(tmp))
            return _install_path(path, models_dir, source_lang or src, target_lang or tgt)
    if not path.exists():
        raise FileNotFoundError(f"no model file, folder or known pair name: {source}")
    return _install_path(path, models_dir, source_lang, target_lang)


def list_models(models_dir: Path) -> list[InstalledModel]:
    """Every installed model, sorted by pair; folders without a manifest are skipped."""
    found = []
    for manifest in sorted(Path(models_dir).glob(f"*/{MANIFEST}")):
        try:
            found.append(_from_manifest(manifest.parent))
        except (KeyError, ValueError, OSError):
            continue
    return found


def find_model(models_dir: Path, source: str, target: str = "en") -> InstalledModel | None:
    folder = Path(models_dir) / f"{source}-{target}"
    if not (folder / MANIFEST).is_file():
        return None
    return _from_manifest(folder)


def _from_manifest(folder: Path) -> InstalledModel:
    meta = _read_json(folder / MANIFEST)
    return InstalledModel(
        source=str(meta["source"]),
        target=str(meta["target"]),
        path=folder,
        name=str(meta.get("name") or folder.name),
        credit=str(meta["credit"]) if meta.get("credit") else None,
    )


def _install_path(
    path: Path, models_dir: Path, source_lang: str | None, target_lang: str | None
) -> InstalledModel:
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".install-") as tmp:
        staging = Path(tmp) / "pkg"
        if path.is_file():
            root = _unzip_package(path, Path(tmp) / "zip")
        else:
            root = path
        name, meta = _assemble(root, staging)
        src = source_lang or meta.get("from_code") or meta.get("source")
        tgt = target_lang or meta.get("to_code") or meta.get("target") or "en"
        if not src or not tgt:
            raise ValueError(f"{path}: no language pair in its metadata; pass source_lang/target_lang")
        manifest = {
            "source": src,
            "target": tgt,
            "name": meta.get("name") or name,
            "credit": meta.get("credit") or _credit(root),
            "installed_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
        final = models_dir / f"{src}-{tgt}"
        _swap_into_place(staging, final, Path(tmp))
    return _from_manifest(final)


def _unzip_package(path: Path, dest: Path) -> Path:
    """Extract a package zip, skipping unsafe names; return the folder holding its model."""
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not an .argosmodel (zip) package")
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            parts = Path(info.filename).parts
            if info.filename.startswith("/") or ".." in parts or "stanza" in parts:
                continue
            zf.extract(info, dest)
    hits = sorted(p.parent.parent for p in dest.rglob("model/model.bin"))
    hits += sorted(p.parent for p in dest.rglob("model.bin") if p.parent.name != "model")
    if not hits:
        raise ValueError(f"{path}: no CTranslate2 model.bin inside")
    return hits[0]


def _assemble(root: Path, staging: Path) -> tuple[str, dict[str, str]]:
    """Copy the CTranslate2 files and SentencePiece model(s) of ``root`` into ``staging``."""
    model_dir = root / "model" if (root / "model" / "model.bin").is_file() else root
    if not (model_dir / "model.bin").is_file():
        raise ValueError(f"{root}: no CTranslate2 model.bin")
    staging.mkdir(parents=True)
    shutil.copytree(model_dir, staging / "model", ignore=shutil.ignore_patterns(*SPM_FILES, "*.json.bak"))
    spm = [p for name in SPM_FILES for p in (root / name, model_dir / name) if p.is_file()]
    if not spm:
        raise ValueError(f"{root}: no sentencepiece.model (or source.spm) beside the model")
    for p in spm:
        shutil.copy2(p, staging / p.name)
    meta: dict[str, str] = {}
    for candidate in (root / MANIFEST, root / "metadata.json"):
        if candidate.is_file():
            meta.update({k: v for k, v in _read_json(candidate).items() if isinstance(v, str)})
    return root.name, meta


def _credit(root: Path) -> str | None:
    readme = root / "README.md"
    if not readme.is_file():
        return None
    text = readme.read_text(errors="replace")
    if "OPUS" in text and "Tiedemann" in text:
        return OPUS_CREDIT
    match = re.search(r"^Authors?:\s*(.+)$", text, re.M)
    return f"by {match.group(1).strip()}" if match else None


def _swap_into_place(staging: Path, final: Path, tmp: Path) -> None:
    """Rename ``staging`` to ``final``; an old install is moved aside first and removed after."""
    old = tmp / "old"
    if final.exists():
        final.rename(old)
    try:
        staging.rename(final)
    except OSError:
        if old.exists():
            old.rename(final)
        raise


def _read_json(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object")
    return data
