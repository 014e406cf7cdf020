"""The ``transcrawl`` command as a user runs it: extract, translate, models, backfill, demo."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from foundation.settings import Settings
from tests.support.pages import PAGE
from tests.support.processes import run_cli
from transcrawl.testing.tiny_model import build_tiny_model
from workers.translate import Translator


@pytest.fixture()
def offline_settings(tmp_path: Path) -> Settings:
    return Settings.from_env(home=tmp_path / "home", models_dir=tmp_path / "models")


def test_extract_prints_one_line_per_path_in_order(offline_settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text(PAGE, encoding="utf-8")
    (tmp_path / "b.html.gz").write_bytes(gzip.compress(PAGE.encode()))
    (tmp_path / "c.bin").write_bytes(bytes(range(256)) * 50)
    paths = [str(tmp_path / n) for n in ("a.html", "missing.html", "b.html.gz", "c.bin")]
    done = run_cli(offline_settings, "extract", *paths)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["path"] for line in lines] == paths
    first, missing, second, binary = lines
    assert first["title"] == "Neue Brücke über den Fluss eröffnet"
    assert first["authors"] == ["Petra Lindner"] and first["language"] == "de"
    assert first["published_at"].startswith("2026-11-20T08:30:00+01:00")
    assert first["text"].count("\n") == 2 and "Impressum" not in first["text"]
    assert second["text"] == first["text"]
    assert "error" in missing and "error" in binary


def test_translate_with_a_tiny_model_keeps_lines(offline_settings: Settings, tmp_path: Path) -> None:
    folder = build_tiny_model(tmp_path / "tiny-de", "de")
    done = run_cli(offline_settings, "models", "install", str(folder), "--source-lang", "de",
                   "--target-lang", "en")
    assert done.returncode == 0, done.stderr
    listed = run_cli(offline_settings, "models", "list", "--json")
    assert [(m["source"], m["target"]) for m in json.loads(listed.stdout)] == [("de", "en")]
    done = run_cli(offline_settings, "translate", "--source", "de", "--beam-size", "1",
                   stdin="Guten Morgen.\n\nDie Stadt feiert. Alle kommen.\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")[:-1]
    source = ["Guten Morgen.", "", "Die Stadt feiert. Alle kommen."]
    assert len(lines) == 3 and lines[1] == ""
    assert lines[0] != source[0] and lines[2] != source[2], lines  # translated, not handed back
    [expected] = Translator(offline_settings).translate_documents("de", [source], beam_size=1)
    assert lines == expected  # exactly what the tiny model makes of them in this process


def test_translate_without_a_model_is_a_clear_error(offline_settings: Settings) -> None:
    done = run_cli(offline_settings, "translate", "--source", "xx", stdin="hello\n")
    assert done.returncode != 0
    assert "no model installed for xx→en" in done.stderr


@pytest.mark.shared
def test_translate_real_chinese(offline_settings: Settings, shared: Path) -> None:
    model = shared / "models" / "translate-zh_en-1_9.argosmodel"
    assert run_cli(offline_settings, "models", "install", str(model)).returncode == 0
    done = run_cli(offline_settings, "translate", "--source", "zh",
                   stdin="北京是中国的首都。\n今天天气很好，我们去公园散步。\n")
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert "Beijing" in first and "capital" in first
    assert "park" in second.lower() and "walk" in second.lower()


