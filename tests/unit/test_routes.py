"""Scripts, model families and routes: tiny models of each family, laid out as the real ones are."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from foundation.settings import Settings
from schemas.messages import Article
from transcrawl.cli import main
from transcrawl.testing.tiny_model import build_tiny_model, build_tiny_multilingual
from workers.translate import ModelNotInstalled, Translator, install_model, list_models, scripts
from workers.translate import families as fam
from workers.translate import routes

HANT = "香港經濟日報報導，台灣的經濟發展與國際關係。"
HANS = "香港经济日报报导，台湾的经济发展与国际关系。"


# -- scripts ------------------------------------------------------------------------------------


def test_detect_and_convert_chinese() -> None:
    assert scripts.detect("zh", HANT) == "Hant" and scripts.detect("zh-TW", HANT) == "Hant"
    assert scripts.detect("zh", HANS) == "Hans"
    assert scripts.detect("zh", "中国人民") is None  # too little evidence either way
    assert scripts.detect("zh", "hello") is None and scripts.detect("de", HANT) is None
    assert scripts.convert(HANT, "zh", "Hant", "Hans") == HANS
    assert scripts.convert(HANS, "zh", "Hans", "Hant").startswith("香港經濟日報")
    assert scripts.convert(HANS, "zh", "Hans", "Hans") == HANS


def test_detect_and_transliterate_serbian() -> None:
    cyr = "Љубав и њежност џепа: Ђорђе је читао новине у Београду."
    lat = "Ljubav i nježnost džepa: Đorđe je čitao novine u Beogradu."
    assert scripts.detect("sr", cyr) == "Cyrl" and scripts.detect("sr", lat) == "Latn"
    assert scripts.convert(cyr, "sr", "Cyrl", "Latn") == lat
    assert scripts.convert(lat, "sr", "Latn", "Cyrl") == cyr
    assert scripts.convert("LJUBAV", "sr", "Latn", "Cyrl") == "ЉУБАВ"
    with pytest.raises(ValueError):
        scripts.convert("x", "de", "Latn", "Cyrl")


# -- families -----------------------------------------------------------------------------------


def test_family_conventions() -> None:
    pieces = ["▁a", "b"]
    assert fam.NLLB.source_tokens(pieces, "zh", "Hant") == ["zho_Hant", "▁a", "b", "</s>"]
    assert fam.NLLB.target_prefix() == ["eng_Latn"] and fam.NLLB.output(["eng_Latn", "▁x"]) == ["▁x"]
    assert fam.M2M100.source_tokens(pieces, "de", None) == ["__de__", "▁a", "b", "</s>"]
    assert fam.M2M100.target_prefix() == ["__en__"] and fam.M2M100.output(["__en__", "▁x"]) == ["▁x"]
    assert fam.M2M100.language_token("zh", "Hant") is None  # one token, the Simplified script
    assert fam.MADLAD.source_tokens(pieces, "de", None) == ["<2en>", "▁a", "b", "</s>"]
    assert fam.MADLAD.target_prefix() is None and fam.MADLAD.output(["▁x"]) == ["▁x"]
    assert fam.MARIAN.source_tokens(pieces, "zh", "Hans") == pieces and fam.MARIAN.target_prefix() is None
    assert "commercial use is forbidden" in fam.licence_note("CC-BY-NC-4.0")
    assert fam.licence_note("MIT") == "MIT" and "unknown" in fam.licence_note(None)


@pytest.fixture(scope="module")
def tiny_families(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    return {name: build_tiny_multilingual(root / f"{name}-tiny-ct2", name, seed=i)
            for i, name in enumerate(("nllb", "m2m100", "madlad"))}


@pytest.mark.parametrize(
    ("family", "licence", "spm"),
    [("nllb", "CC-BY-NC-4.0", "sentencepiece.bpe.model"), ("m2m100", "MIT", "sentencepiece.bpe.model"),
     ("madlad", "Apache-2.0", "spiece.model")],
)
def test_install_detects_family_languages_and_licence(tiny_families: dict[str, Path], tmp_path: Path,
                                                      family: str, licence: str, spm: str) -> None:
    installed = install_model(str(tiny_families[family]), tmp_path / "models")
    assert installed.family == family and installed.licence == licence and installed.multilingual
    assert installed.path.name == f"mul-{family}-tiny-ct2" and (installed.path / spm).is_file()
    assert {"de", "fr"} <= set(installed.languages) and "en" in installed.languages
    assert list_models(tmp_path / "models") == [installed]
    assert installed.size_bytes > 0


class Spy:
    """Wraps a real CTranslate2 translator and records what it was given."""

    def __init__(self, real: Any) -> None:
        self.real, self.batches, self.kwargs = real, [], []  # type: list[list[list[str]]]

    def translate_batch(self, batch: list[list[str]], **kwargs: Any) -> Any:
        self.batches.append(batch)
        self.kwargs.append(kwargs)
        return self.real.translate_batch(batch, **kwargs)


@pytest.mark.parametrize("family", ["nllb", "m2m100", "madlad"])
def test_translate_through_each_family(tiny_families: dict[str, Path], tmp_path: Path, family: str) -> None:
    """Language token in, target prefix in, prefix out: proven on a real (tiny) CTranslate2 model."""
    install_model(str(tiny_families[family]), tmp_path / "models")
    translator = Translator(Settings(models_dir=tmp_path / "models", intra_threads=1))
    loaded = translator.model("de")
    spy = loaded.ct2 = Spy(loaded.ct2)
    [[out]] = translator.translate_documents("de", [["Die Stadt wählt heute."]])
    [source] = spy.batches[0]
    prefix = spy.kwargs[0].get("target_prefix")
    if family == "madlad":
        assert source[0] == "<2en>" and source[-1] == "</s>" and prefix is None
    else:
        token, english = {"nllb": ("deu_Latn", "eng_Latn"), "m2m100": ("__de__", "__en__")}[family]
        assert source[0] == token and source[-1] == "</s>" and prefix == [[english]]
        raw = spy.real.translate_batch([source], target_prefix=prefix, max_decoding_length=20)
        assert raw[0].hypotheses[0][0] == english  # the model's output starts with the prefix...
        assert english not in out  # ...which the family drops
    assert out and "Die Stadt" not in out


# -- routes -------------------------------------------------------------------------------------


@pytest.fixture()
def pair_and_nllb(tiny_families: dict[str, Path], tmp_path: Path) -> Path:
    models = tmp_path / "models"
    install_model(str(build_tiny_model(tmp_path / "zh", "zh")), models)
    install_model(str(tiny_families["nllb"]), models)
    return models


def test_pair_preferred_multilingual_else(pair_and_nllb: Path) -> None:
    zh = routes.resolve(pair_and_nllb, "zh")
    assert zh is not None and zh.model.path.name == "zh-en"
    hant = routes.resolve(pair_and_nllb, "zh", script="Hant")
    assert hant is not None and hant.model.path.name == "zh-en" and hant.model_script == "Hans" and hant.converts
    de = routes.resolve(pair_and_nllb, "de")
    assert de is not None and de.model.family == "nllb" and not de.converts
    sr_latin = routes.resolve(pair_and_nllb, "sr", script="Latn")
    assert sr_latin is not None and sr_latin.model_script == "Cyrl"  # NLLB reads Serbian in Cyrillic
    assert routes.resolve(pair_and_nllb, "sw") is None


def test_preferences_choose_the_route(pair_and_nllb: Path) -> None:
    def folder(code: str, prefer: str) -> str:
        route = routes.resolve(pair_and_nllb, code, prefer=prefer)
        assert route is not None
        return route.model.path.name

    nllb = "mul-nllb-tiny-ct2"
    assert folder("zh", "") == folder("zh", "pair") == "zh-en"  # the default: pair first
    assert folder("zh", "multilingual") == folder("zh", "zh=nllb-tiny-ct2") == nllb  # by name or folder
    assert folder("zh", f"zh-TW,de={nllb}") == nllb and folder("zh", f"de={nllb}") == "zh-en"
    assert folder("zh", f"fr=pair; zh={nllb}; multilingual") == nllb  # the first rule naming zh wins
    assert folder("zh", "zh=pair; multilingual") == "zh-en"
    assert folder("zh", "zh=not-installed") == "zh-en" and folder("de", "de=zh-en") == nllb  # cannot: the usual
    assert routes.preferences(" zh = pair ;; m2m ") == (routes.Rule(frozenset({"zh"}), "pair"),
                                                        routes.Rule(frozenset(), "m2m"))
    for bad in ("xx=pair", "=pair", "zh="):
        with pytest.raises(ValueError, match="MODELS_PREFER"):
            routes.preferences(bad)


def test_preference_setting_reaches_the_translator_and_coverage(pair_and_nllb: Path) -> None:
    settings = Settings.from_env({"TRANSCRAWL_MODELS_DIR": str(pair_and_nllb),
                                  "TRANSCRAWL_MODELS_PREFER": "zh=multilingual", "TRANSCRAWL_INTRA_THREADS": "1"})
    assert settings.models_prefer == "zh=multilingual"
    assert Translator(settings).model("zh").info.family == "nllb"
    assert Translator(dataclasses.replace(settings, models_prefer="")).model("zh").info.path.name == "zh-en"
    with pytest.raises(ValueError, match="MODELS_PREFER"):
        Translator(dataclasses.replace(settings, models_prefer="xx=pair"))
    env = {"TRANSCRAWL_MODELS_DIR": str(pair_and_nllb), "TRANSCRAWL_MODELS_PREFER": "zh=multilingual"}
    data = json.loads(CliRunner().invoke(main, ["models", "coverage", "--json"], env=env).output)
    assert {row["language"]: row for row in data}["zh"]["route"]["family"] == "nllb"
    for command in (["models", "coverage"], ["worker"]):  # the worker refuses before starting anything
        bad = CliRunner().invoke(main, command, env=env | {"TRANSCRAWL_MODELS_PREFER": "=x"})
        assert bad.exit_code != 0 and "MODELS_PREFER" in bad.output, bad.output


def test_script_picks_its_own_pair(tmp_path: Path) -> None:
    models = tmp_path / "models"
    install_model(str(build_tiny_model(tmp_path / "zh", "zh")), models)
    install_model(str(build_tiny_model(tmp_path / "zt", "zt", seed=1)), models)
    assert routes.resolve(models, "zh", script="Hant").model.source == "zt"  # type: ignore[union-attr]
    assert routes.resolve(models, "zh", script="Hans").model.source == "zh"  # type: ignore[union-attr]
    only_zt = routes.resolve(models, "zh", installed=[m for m in list_models(models) if m.source == "zt"],
                             script="Hans")
    assert only_zt is not None and only_zt.model_script == "Hant" and only_zt.converts


def test_traditional_article_is_converted_for_the_simplified_pair(pair_and_nllb: Path) -> None:
    translator = Translator(Settings(models_dir=pair_and_nllb, intra_threads=1))
    loaded = translator.model("zh")
    spy = loaded.ct2 = Spy(loaded.ct2)
    article = Article(url="https://example.hk/a", site="hk", country="hk", language="zh", title=HANT,
                      text=HANT, authors=[], published_at=None, fetched_at="2024-01-01T00:00:00+00:00")
    out = translator.translate_article(article)
    assert out.translation_model == "tiny-zh_en" and out.title_en
    assert spy.batches[0][0] == loaded.tokenize(HANS)  # the Simplified text's pieces reached the model
    assert out.text == HANT  # the stored original is untouched


def test_no_route_names_the_install_command(tmp_path: Path) -> None:
    translator = Translator(Settings(models_dir=tmp_path / "none"))
    with pytest.raises(ModelNotInstalled) as err:
        translator.model("no")
    assert "transcrawl models install nb-en" in str(err.value)
    with pytest.raises(ModelNotInstalled) as err:
        translator.model("sw")
    assert "multilingual" in str(err.value)


def test_coverage_and_cli(pair_and_nllb: Path, tiny_families: dict[str, Path]) -> None:
    rows = routes.coverage(pair_and_nllb, {"zh": 3, "de": 67, "sw": 1, "en": 78})
    assert [r.language for r in rows] == ["de", "zh", "sw"]  # most sites first, English left out
    assert rows[0].route and rows[0].route.model.family == "nllb" and rows[2].route is None
    assert rows[2].hint == routes.MULTILINGUAL_HINT
    runner = CliRunner()
    env = {"TRANSCRAWL_MODELS_DIR": str(pair_and_nllb)}
    result = runner.invoke(main, ["models", "coverage", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data) == 44 and all(row["route"] or row["install"] for row in data)
    by = {row["language"]: row for row in data}
    assert by["zh"]["route"]["folder"] == "zh-en" and by["de"]["route"]["licence"] == "CC-BY-NC-4.0"
    assert by["sw"]["route"] is None and by["no"]["route"] is None and "nb-en" in by["no"]["install"]
    listing = runner.invoke(main, ["models", "list"], env=env)
    assert "commercial use is forbidden" in listing.output and "zh-en" in listing.output
    installed = runner.invoke(main, ["models", "install", str(tiny_families["m2m100"])], env=env)
    assert installed.exit_code == 0 and "licence: MIT" in installed.output


def test_multilingual_covers_every_registry_language_it_names(pair_and_nllb: Path) -> None:
    nllb = next(m for m in list_models(pair_and_nllb) if m.multilingual)
    full = dataclasses.replace(nllb, languages=tuple(
        f"{lang.iso}-{s}" if len(lang.scripts) > 1 else lang.iso
        for lang in routes.lc.LANGUAGES.values() for s in lang.scripts))
    from crawler import registry

    for code in {site.language for site in registry.load()} - {"en"}:
        route = routes.resolve(pair_and_nllb, code, installed=[full])
        assert route is not None, code


def test_status_lists_languages_without_a_route(pair_and_nllb: Path) -> None:
    from rich.console import Console

    from transcrawl.render import print_status
    from transcrawl.status import without_route

    missing = without_route(Settings(models_dir=pair_and_nllb))
    assert {row["language"] for row in missing} >= {"sw", "no", "xh"} and "zh" not in {r["language"] for r in missing}
    console = Console(record=True, width=200)
    print_status({"queues": {}, "articles": 0, "by_status": {}, "by_language": {}, "without_route": missing}, console)
    assert "Languages without a route" in console.export_text()
