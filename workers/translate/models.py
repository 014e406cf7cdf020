"""Installed translation models: one folder per language pair under the models directory.

Layout of ``<models_dir>/<src>-<tgt>/``::

    model/                CTranslate2 files (model.bin, config.json, *_vocabulary.json/txt, and
                          the tokenizer files a ``ct2-transformers-converter`` folder carries)
    sentencepiece.model   or source.spm / target.spm, sentencepiece.bpe.model (NLLB-200, M2M-100),
                          spiece.model (MADLAD-400)
    transcrawl.json       source, target, name, credit, family, licence, languages, target_prefix,
                          installed_at

A multilingual model (NLLB-200, M2M-100, MADLAD-400: :mod:`workers.translate.families`) has
source ``mul``, the languages its vocabulary names, and a folder ``mul-<name>``.

Packages come as archives (Argos Translate ``.argosmodel`` zips, ``.zip``, ``.tar.gz``/``.tgz``),
URLs of them, CTranslate2 folders, or names looked up in the package index (see
:mod:`workers.translate.download`). An Argos package's ``target_prefix`` (a token decoding starts
from, dropped from the output) is kept in the manifest. An install is all or nothing: the new
folder is staged beside the old one, loaded once, and only then renamed into place.
The bundled zh→en model is OPUS-MT by Jörg Tiedemann and Santhosh Thottingal (CC-BY 4.0).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

# Re-exported: its home is the error tree (workers/errors.py), beside the other fates.
from workers.errors import ModelNotInstalled as ModelNotInstalled
from foundation.settings import ARGOS_INDEX_URL
from workers.translate import families, packages

MANIFEST = "transcrawl.json"
SPM_FILES = families.SPM_FILES
OPUS_CREDIT = "OPUS-MT by Jörg Tiedemann and Santhosh Thottingal (CC-BY 4.0)"
MULTILINGUAL = "mul"
_LICENCE_LINE = re.compile(r"^licen[cs]e:\s*([\w.+-]+)\s*$", re.M | re.I)
ARCHIVES = (".argosmodel", ".zip", ".tar.gz", ".tgz", ".tar", ".tar.xz", ".tar.bz2")
_NAME = re.compile(r"^[\w.+-]+$")


class ChecksumMismatch(ValueError):
    """A downloaded file is not the one its index or pin names: nothing is installed from it."""


@dataclasses.dataclass(frozen=True)
class InstalledModel:
    """A model ready to load: its language pair, folder, name and the credit its licence asks for."""

    source: str
    target: str
    path: Path
    name: str
    credit: str | None
    family: str = "marian"
    licence: str | None = None
    languages: tuple[str, ...] = ()  # a multilingual model's language tags (``de``, ``zh-Hant``)
    target_prefix: str | None = None  # an Argos package's: decoding starts from it, the output drops it

    @property
    def installed_at(self) -> str:
        return str(_read_json(self.path / MANIFEST).get("installed_at", ""))

    @property
    def multilingual(self) -> bool:
        return self.source == MULTILINGUAL

    @property
    def size_bytes(self) -> int:
        """Bytes of its CTranslate2 files: what loading it costs, roughly, in memory."""
        return sum(p.stat().st_size for p in (self.path / "model").glob("*") if p.is_file())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Raise ChecksumMismatch (a ValueError) unless ``path`` hashes to ``expected``."""
    actual = sha256_file(path)
    if actual != expected.lower():
        raise ChecksumMismatch(f"sha256 mismatch for {path.name}: expected {expected}, got {actual}; "
                               "nothing was installed")


def install_model(
    source: str,
    models_dir: Path,
    *,
    source_lang: str | None = None,
    target_lang: str | None = None,
    index_url: str = ARGOS_INDEX_URL,
) -> InstalledModel:
    """Install a model from an archive, its URL, a CTranslate2 folder, or a name in the index.

    A name is a pair (``de-en``) or an index code (``translate-de_en``). The new folder is
    assembled and loaded beside the old one and renamed into place, so a worker never sees half
    a model, and an install that fails (download, checksum, unpacking, loading) leaves the
    previous one as it was; installing a pair again replaces it.
    """
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    path = Path(source).expanduser()
    remote = source.startswith(("http://", "https://"))
    if not remote and path.exists():
        return _install_path(path, models_dir, source_lang, target_lang)
    if not remote and not _is_name(source):
        raise FileNotFoundError(f"no model file, folder or package name: {source}")
    from workers.translate import download

    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".download-") as tmp:
        hints: dict[str, str] = {}
        if remote:
            path = download.download_url(source, Path(tmp))
        else:
            path, entry = download.fetch_named(source, Path(tmp), index_url)
            pair = download.PAIR.match(source)
            if entry is not None:
                hints = entry.hints()
            elif pair:
                hints = {"from_code": pair.group(1), "to_code": pair.group(2)}
        return _install_path(path, models_dir, source_lang, target_lang, hints)


def _is_name(source: str) -> bool:
    return bool(_NAME.match(source)) and not source.lower().endswith(ARCHIVES)


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
    """The pair model installed for exactly ``source``-``target`` (no multilingual ones; see routes)."""
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
        family=str(meta.get("family") or "marian"),
        licence=str(meta["licence"]) if meta.get("licence") else None,
        languages=tuple(str(x) for x in meta.get("languages") or ()),  # type: ignore[attr-defined]
        target_prefix=str(meta["target_prefix"]) if meta.get("target_prefix") else None,
    )


def _install_path(path: Path, models_dir: Path, source_lang: str | None, target_lang: str | None,
                  hints: Mapping[str, str] | None = None) -> InstalledModel:
    """Stage ``path`` (archive or folder) beside the models, check it loads, then swap it in.

    ``hints`` (what an index entry says) fill in what the package's own metadata leaves out."""
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".install-") as tmp:
        staging = Path(tmp) / "pkg"
        root = packages.unpack(path, Path(tmp) / "unpacked") if path.is_file() else path
        name, own = _assemble(root, staging)
        hints = hints or {}
        meta = {**{k: v for k, v in hints.items() if k not in ("license", "licence")}, **own}
        family = families.detect(root, staging / "model", meta.get("family"))
        covered = family.covered(families.vocabulary(staging / "model")) if family.multilingual else []
        if family.multilingual and source_lang is None:
            source_lang = MULTILINGUAL
        src = source_lang or meta.get("from_code") or meta.get("source")
        tgt = target_lang or meta.get("to_code") or meta.get("target") or "en"
        if not src or not tgt:
            raise ValueError(f"{path}: no language pair in its metadata; pass source_lang/target_lang")
        prefix = meta.get("target_prefix") or None
        packages.check_loads(staging, family, prefix)
        credit = meta.get("credit") or _credit(root)
        display = meta.get("name") or name
        manifest = {
            "source": src,
            "target": tgt,
            "name": display,
            "credit": credit,
            "family": family.name,
            "licence": _licence(root, meta, family, credit, hints.get("license")),
            "languages": covered,
            "target_prefix": prefix,
            "installed_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
        final = models_dir / (f"{src}-{_slug(display)}" if src == MULTILINGUAL else f"{src}-{tgt}")
        _swap_into_place(staging, final, Path(tmp))
    return _from_manifest(final)


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


def _licence(root: Path, meta: Mapping[str, str], family: families.Family, credit: str | None,
             indexed: str | None = None) -> str | None:
    """The package's word (its metadata, then its model card's ``license:`` line), OPUS-MT's
    CC-BY-4.0, the index entry's, the family's usual one; None is shown as unknown."""
    for key in ("licence", "license"):
        if meta.get(key):
            return meta[key]
    for card in (root / "README.md", root / "model" / "README.md"):
        if card.is_file():
            found = _LICENCE_LINE.search(card.read_text(errors="replace")[:4000])
            if found:
                return found.group(1).upper().replace("APACHE-2.0", "Apache-2.0")
    if credit == OPUS_CREDIT:
        return "CC-BY-4.0"
    return indexed or family.licence


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9._]+", "-", name.lower()).strip("-.") or "model"


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
