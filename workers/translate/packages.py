"""Model packages on disk: unpacking archives safely, and proving a staged model loads.

An archive is read by its content, not its name: a zip (``.argosmodel``, ``.zip``) or a tar,
compressed or not (``.tar.gz``, ``.tgz``, ``.tar.xz``). Names that climb out of the folder,
absolute names, links and Argos's ``stanza/`` sentence splitter are never extracted.
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from workers.translate import families


def unpack(path: Path, dest: Path) -> Path:
    """Extract the archive ``path`` into ``dest``; return the folder that holds its model."""
    if zipfile.is_zipfile(path):
        _unzip(path, dest)
    elif tarfile.is_tarfile(path):
        _untar(path, dest)
    else:
        raise ValueError(f"{path.name}: neither a zip (.argosmodel, .zip) nor a tar (.tar.gz, .tgz) package")
    return model_root(dest, path.name)


def model_root(folder: Path, what: str) -> Path:
    """The folder under ``folder`` holding ``model/model.bin`` (Argos) or ``model.bin`` (a converter's)."""
    hits = sorted(p.parent.parent for p in folder.rglob("model/model.bin"))
    hits += sorted(p.parent for p in folder.rglob("model.bin") if p.parent.name != "model")
    if not hits:
        raise ValueError(f"{what}: no CTranslate2 model.bin inside")
    return hits[0]


def _skipped(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return name.startswith("/") or ".." in parts or "stanza" in parts


def _unzip(path: Path, dest: Path) -> None:
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not _skipped(info.filename):
                zf.extract(info, dest)


def _untar(path: Path, dest: Path) -> None:
    with tarfile.open(path) as tar:
        members = [m for m in tar.getmembers() if (m.isfile() or m.isdir()) and not _skipped(m.name)]
        # The "data" filter refuses what the list above may have missed (device files, odd modes).
        tar.extractall(dest, members=members, filter="data")


def check_loads(staged: Path, family: families.Family, target_prefix: str | None) -> None:
    """Raise ValueError unless the staged model loads as a worker would load it.

    Run before the staged folder replaces an installed one: a package that is cut short, of
    another format, or whose ``target_prefix`` its vocabulary lacks never reaches the workers.
    """
    import ctranslate2
    import sentencepiece

    names = family.spm_files
    spm = next((staged / n for n in names if (staged / n).is_file()), None)
    if spm is None:
        raise ValueError(f"{staged.name}: a {family.title} model needs one of {', '.join(names)}")
    if target_prefix and target_prefix not in families.vocabulary(staged / "model"):
        raise ValueError(f"target_prefix {target_prefix!r} is not a token of the model's vocabulary")
    try:
        sentencepiece.SentencePieceProcessor(model_file=str(spm))
        translator = ctranslate2.Translator(str(staged / "model"), device="cpu", compute_type="default",
                                            inter_threads=1, intra_threads=1)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ValueError(f"the model does not load: {exc}") from exc
    del translator
