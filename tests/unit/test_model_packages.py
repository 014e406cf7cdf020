"""Installing models from a served index and URLs: names, checksums, archives, target_prefix,
licences, and installs that fail leaving the previous model as it was.

Everything is served on 127.0.0.1 by http.server in a thread; the models are tiny CTranslate2
models built on the fly.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import shutil
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sentencepiece
from click.testing import CliRunner

from foundation.settings import Settings
from transcrawl.cli import main
from transcrawl.testing.tiny_model import build_tiny_model, build_tiny_multilingual
from workers.translate import Translator, find_model, install_model, list_models
from workers.translate.download import IndexEntry, find_entry
from workers.translate.models import ChecksumMismatch


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-de", "de")


@pytest.fixture()
def web(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder and the http://127.0.0.1 URL that serves it."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def package(folder: Path, dest: Path, top: str = "translate-de_en-1_0", **metadata: str) -> Path:
    """``folder`` as an Argos-style archive (zip or tar by ``dest``'s suffix), metadata updated."""
    meta = json.loads((folder / "metadata.json").read_text()) | metadata
    files = {f"{top}/{p.relative_to(folder)}": p for p in sorted(folder.rglob("*"))
             if p.is_file() and p.name != "metadata.json"}
    if dest.name.endswith((".zip", ".argosmodel")):
        with zipfile.ZipFile(dest, "w") as zf:
            for name, path in files.items():
                zf.write(path, name)
            zf.writestr(f"{top}/metadata.json", json.dumps(meta))
        return dest
    (dest.parent / "metadata.json").write_text(json.dumps(meta))
    with tarfile.open(dest, "w:gz") as tar:
        for name, path in files.items():
            tar.add(path, name)
        tar.add(dest.parent / "metadata.json", f"{top}/metadata.json")
    (dest.parent / "metadata.json").unlink()
    return dest


def entry(code: str, version: str, link: str, sha256: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"code": code, "type": "translate", "from_code": "de", "to_code": "en",
                             "package_version": version, "links": [link]}
    return found | ({"sha256": sha256} if sha256 else {})


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli(models: Path, index_url: str, *args: str) -> Any:
    env = {"TRANSCRAWL_MODELS_DIR": str(models), "TRANSCRAWL_MODELS_INDEX_URL": index_url}
    return CliRunner().invoke(main, ["models", *args], env=env)


def test_install_by_name_from_a_served_index(tiny: Path, web: tuple[Path, str], tmp_path: Path) -> None:
    root, url = web
    pkg = package(tiny, root / "translate-de_en-1_1.argosmodel", license="CC-BY-4.0")
    (root / "index.json").write_text(json.dumps([
        entry("translate-de_en", "1.0", f"{url}/gone.argosmodel"),  # older: would 404
        entry("translate-de_en", "1.1", f"{url}/{pkg.name}", sha(pkg)),
        {"code": "sbd-de", "type": "sbd", "links": [f"{url}/x"]},  # no pair: not a translation package
    ]))
    models = tmp_path / "models"
    done = cli(models, f"{url}/index.json", "install", "de-en")
    assert done.exit_code == 0, done.output
    assert "installed de→en" in done.output and "licence: CC-BY-4.0" in done.output
    installed = find_model(models, "de")
    assert installed is not None and installed.licence == "CC-BY-4.0"
    assert not [p for p in models.iterdir() if p.name.startswith(".")]  # no download or staging left
    # The index code names it too, and the index may be a file (its links still served).
    again = cli(models, (root / "index.json").as_uri(), "install", "translate-de_en")
    assert again.exit_code == 0, again.output
    listing = cli(models, f"{url}/index.json", "list")
    assert "de-en\ttiny-de_en\tmarian\tCC-BY-4.0" in listing.output


def test_find_entry_by_pair_or_code_newest_first() -> None:
    entries = [e for raw in (entry("translate-de_en", "1.9", "a"), entry("translate-de_en", "1.10", "b"),
                             {"from_code": "zt", "to_code": "en", "links": ["c"]})
               if (e := IndexEntry.from_json(raw))]
    assert find_entry(entries, "de-en").links == ("b",) and find_entry(entries, "de_en").links == ("b",)
    assert find_entry(entries, "zt-en").code == "translate-zt_en"
    with pytest.raises(LookupError):
        find_entry(entries, "fr-en")


def test_checksum_mismatch_is_rejected_and_the_previous_model_stays(
        tiny: Path, web: tuple[Path, str], tmp_path: Path) -> None:
    root, url = web
    models = tmp_path / "models"
    before = install_model(str(tiny), models)
    files = {p.name: sha(p) for p in (before.path / "model").iterdir()}
    pkg = package(tiny, root / "de_en.argosmodel", name="would-replace")
    (root / "index.json").write_text(json.dumps([entry("translate-de_en", "2.0", f"{url}/{pkg.name}", "0" * 64)]))
    done = cli(models, f"{url}/index.json", "install", "de-en")
    assert done.exit_code != 0
    assert "sha256 mismatch" in done.output and "unchanged" in done.output
    with pytest.raises(ChecksumMismatch):
        install_model("de-en", models, index_url=f"{url}/index.json")
    after = find_model(models, "de")
    assert after == before and after.installed_at == before.installed_at
    assert {p.name: sha(p) for p in (after.path / "model").iterdir()} == files
    assert [p.name for p in models.iterdir()] == ["de-en"]


@pytest.mark.parametrize("suffix", [".tar.gz", ".tgz", ".zip"])
def test_archive_from_url_with_target_prefix(tiny: Path, web: tuple[Path, str], tmp_path: Path,
                                             suffix: str) -> None:
    root, url = web
    sp = sentencepiece.SentencePieceProcessor(model_file=str(tiny / "sentencepiece.model"))
    token = sp.id_to_piece(20)
    pkg = package(tiny, root / f"translate-de_en-1_0{suffix}", target_prefix=token)
    installed = install_model(f"{url}/{pkg.name}", tmp_path / "models")
    assert installed.target_prefix == token and installed.path.name == "de-en"
    translator = Translator(Settings(models_dir=tmp_path / "models", intra_threads=1))
    loaded = translator.model("de")
    calls: list[dict[str, Any]] = []
    real = loaded.ct2

    class Spy:
        def translate_batch(self, batch: list[list[str]], **kwargs: Any) -> Any:
            calls.append(kwargs)
            return real.translate_batch(batch, **kwargs)

    loaded.ct2 = Spy()
    [[english]] = translator.translate_documents("de", [["Die Zeitung berichtet heute."]])
    assert calls and calls[0]["target_prefix"] == [[token]]  # decoding starts from the package's token
    raw = real.translate_batch([loaded.tokenize("Die Stadt")], target_prefix=[[token]], max_decoding_length=8)
    hypothesis = raw[0].hypotheses[0]
    assert hypothesis[0] == token and loaded.output(hypothesis) == hypothesis[1:]  # ...and drops it


def test_failed_installs_leave_the_previous_model(tiny: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    before = install_model(str(tiny), models)
    broken = shutil.copytree(tiny, tmp_path / "broken")
    model_bin = broken / "model" / "model.bin"
    model_bin.write_bytes(model_bin.read_bytes()[:4096])  # cut short, as an interrupted copy
    with pytest.raises(ValueError, match="does not load"):
        install_model(str(package(broken, tmp_path / "broken.tar.gz")), models)
    with pytest.raises(ValueError, match="target_prefix"):
        install_model(str(package(tiny, tmp_path / "odd.zip", target_prefix="__nope__")), models)
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"neither zip nor tar")
    with pytest.raises(ValueError, match="neither a zip"):
        install_model(str(junk), models)
    assert list_models(models) == [before] and [p.name for p in models.iterdir()] == ["de-en"]
    assert before.installed_at == find_model(models, "de").installed_at  # type: ignore[union-attr]


def test_unsafe_archive_names_are_not_extracted(tiny: Path, tmp_path: Path) -> None:
    pkg = package(tiny, tmp_path / "good.tar.gz")
    with tarfile.open(tmp_path / "evil.tar.gz", "w:gz") as tar, tarfile.open(pkg) as good:
        for member in good.getmembers():
            tar.addfile(member, good.extractfile(member))
        payload = tmp_path / "payload"
        payload.write_text("x")
        tar.add(payload, "../../../escaped.txt")  # from models/.install-*/unpacked: tmp_path
    install_model(str(tmp_path / "evil.tar.gz"), tmp_path / "models")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "models" / "escaped.txt").exists()


def test_licence_from_metadata_else_family_else_unknown(tiny: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    install_model(str(tiny), models)  # a pair with no word on its licence
    nllb = build_tiny_multilingual(tmp_path / "nllb-tiny", "nllb")
    (nllb / "README.md").unlink()  # no model card: the family's usual licence
    install_model(str(nllb), models)
    m2m = build_tiny_multilingual(tmp_path / "m2m-tiny", "m2m100", seed=1)
    (m2m / "metadata.json").write_text(json.dumps({"license": "CC-BY-SA-4.0"}))
    install_model(str(m2m), models)
    assert {m.name: m.licence for m in list_models(models)} == {
        "tiny-de_en": None, "nllb-tiny": "CC-BY-NC-4.0", "m2m-tiny": "CC-BY-SA-4.0"}
    listing = CliRunner().invoke(main, ["models", "list"], env={"TRANSCRAWL_MODELS_DIR": str(models)})
    lines = {line.split("\t")[1]: line for line in listing.output.splitlines()}
    assert "licence unknown" in lines["tiny-de_en"]
    assert "CC-BY-NC-4.0: non-commercial use only, commercial use is forbidden" in lines["nllb-tiny"]
    assert lines["m2m-tiny"].split("\t")[3] == "CC-BY-SA-4.0"
    data = json.loads(CliRunner().invoke(main, ["models", "list", "--json"],
                                         env={"TRANSCRAWL_MODELS_DIR": str(models)}).output)
    assert {m["name"]: m["commercial_use_forbidden"] for m in data} == {
        "tiny-de_en": False, "nllb-tiny": True, "m2m-tiny": False}
