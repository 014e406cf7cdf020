"""Installing and listing translation models: folders, packages, pair names, checksums."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest

import workers.translate.download as download
from transcrawl.testing.tiny_model import build_tiny_model
from workers.translate import (
    InstalledModel,
    find_model,
    install_model,
    list_models,
    sha256_file,
    verify_sha256,
)
from workers.translate.models import OPUS_CREDIT

REAL_SHA256 = "62e7af5a3a48b530e47b7b3e5c78c2de79073ecd815750d2bf3ab35b4a67da2d"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-de", "de")


def _as_argosmodel(folder: Path, dest: Path, top: str = "translate-xx_en-1_0") -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"{top}/{path.relative_to(folder)}")
        zf.writestr(f"{top}/stanza/ignored.pt", b"x")
    return dest


def test_install_folder_layout_and_list(tiny: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    installed = install_model(str(tiny), models, source_lang="de", target_lang="en")
    assert installed == InstalledModel("de", "en", models / "de-en", "tiny-de_en", None)
    assert {p.name for p in installed.path.iterdir()} == {"model", "sentencepiece.model", "transcrawl.json"}
    assert (installed.path / "model" / "model.bin").is_file()
    manifest = json.loads((installed.path / "transcrawl.json").read_text())
    assert manifest["source"] == "de" and manifest["installed_at"]
    assert list_models(models) == [installed]
    assert find_model(models, "de") == installed and find_model(models, "fr") is None
    assert not [p for p in models.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_reinstall_replaces(tiny: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    first = install_model(str(tiny), models)
    stamp = first.installed_at
    second = install_model(str(tiny), models, source_lang="de")
    assert second.installed_at != stamp and list_models(models) == [second]


def test_language_codes_from_arguments(tiny: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(tiny, bare)
    (bare / "metadata.json").unlink()
    with pytest.raises(ValueError, match="source_lang"):
        install_model(str(bare), tmp_path / "models")
    installed = install_model(str(bare), tmp_path / "models", source_lang="ja")
    assert installed.source == "ja" and installed.name == "bare"


def test_install_bare_ctranslate2_folder(tiny: Path, tmp_path: Path) -> None:
    ct2 = shutil.copytree(tiny / "model", tmp_path / "opus-ko-en")
    shutil.copy(tiny / "sentencepiece.model", ct2 / "sentencepiece.model")
    installed = install_model(str(ct2), tmp_path / "models", source_lang="ko", target_lang="en")
    assert installed.name == "opus-ko-en" and (installed.path / "sentencepiece.model").is_file()
    assert not (installed.path / "model" / "sentencepiece.model").exists()


def test_install_package_zip(tiny: Path, tmp_path: Path) -> None:
    package = _as_argosmodel(tiny, tmp_path / "tiny.argosmodel")
    installed = install_model(str(package), tmp_path / "models")
    assert (installed.source, installed.target) == ("de", "en")
    assert not (installed.path / "stanza").exists()


def test_install_rejects_non_packages(tmp_path: Path) -> None:
    junk = tmp_path / "junk.argosmodel"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ValueError):
        install_model(str(junk), tmp_path / "models")
    with pytest.raises(FileNotFoundError):
        install_model(str(tmp_path / "missing.argosmodel"), tmp_path / "models")


def test_pair_name_downloads(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_fetch(name: str, dest: Path, index_url: str) -> tuple[Path, None]:
        assert (name, index_url) == ("de-en", "file:///index.json")
        return _as_argosmodel(tiny, dest / "de_en.argosmodel"), None

    monkeypatch.setattr(download, "fetch_named", fake_fetch)
    installed = install_model("de-en", tmp_path / "models", index_url="file:///index.json")
    assert installed.path == tmp_path / "models" / "de-en"


def test_pair_name_falls_back_to_pypi_only_for_zh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: object) -> str:
        raise OSError("offline")

    fallback: list[tuple[str, str]] = []
    monkeypatch.setattr(download, "read_index", offline)
    monkeypatch.setattr(download, "pip_fallback", lambda s, t, d: fallback.append((s, t)) or d / "x")
    assert download.fetch_named("zh-en", tmp_path, "x") == (tmp_path / "x", None) and fallback == [("zh", "en")]
    with pytest.raises(LookupError, match="no package 'fr-en'"):
        download.fetch_named("fr-en", tmp_path, "x")


def test_index_is_a_setting() -> None:
    from foundation.settings import ARGOS_INDEX_URL, Settings

    assert Settings().models_index_url == ARGOS_INDEX_URL
    own = Settings.from_env({"TRANSCRAWL_MODELS_INDEX_URL": "http://127.0.0.1:1/index.json"})
    assert own.models_index_url == "http://127.0.0.1:1/index.json"


def test_sha256_verification(tmp_path: Path) -> None:
    small = tmp_path / "small.bin"
    small.write_bytes(b"transcrawl")
    expected = hashlib.sha256(b"transcrawl").hexdigest()
    assert sha256_file(small) == expected
    verify_sha256(small, expected.upper())
    with pytest.raises(ValueError, match="sha256 mismatch"):
        verify_sha256(small, "0" * 64)


@pytest.mark.shared
def test_install_real_argosmodel(tmp_path: Path, shared: Path) -> None:
    package = shared / "models" / "translate-zh_en-1_9.argosmodel"
    copy = Path(shutil.copy(package, tmp_path / package.name))  # shared is read-only
    assert sha256_file(copy) == REAL_SHA256
    installed = install_model(str(copy), tmp_path / "models")
    assert (installed.source, installed.target, installed.name) == ("zh", "en", "translate-zh_en-1_9")
    assert installed.credit == OPUS_CREDIT and "Tiedemann" in installed.credit
    assert {p.name for p in installed.path.iterdir()} == {"model", "sentencepiece.model", "transcrawl.json"}
    assert list_models(tmp_path / "models") == [installed]
