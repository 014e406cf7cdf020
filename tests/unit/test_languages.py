"""Language codes: every registry language and every NTREX file maps to each table's code."""

from __future__ import annotations


import pytest

from crawler import registry
from workers.translate import languages as lc

NTREX = ("arb", "bos", "deu", "ell", "eng", "fra", "hin", "hrv", "jpn", "kor", "nld", "por", "rus",
         "spa", "srp_Cyrl", "swa", "tur", "ukr", "vie", "zho_Hans", "zho_Hant")


def test_every_registry_language_is_in_the_table() -> None:
    codes = {site.language for site in registry.load()}
    assert len(codes) >= 45
    missing = sorted(c for c in codes if lc.language(c) is None)
    assert not missing
    for code in codes:
        lang = lc.LANGUAGES[code]
        flores = lang.flores_code()
        assert flores and lc.parse(flores)[0] == code  # round trip through FLORES-200
        assert lang.m2m, code  # every registry language is one of M2M-100's hundred


@pytest.mark.parametrize("name", NTREX)
def test_ntrex_file_names_parse(name: str) -> None:
    iso, script = lc.parse(name)
    assert iso in lc.LANGUAGES and (script is None or script in lc.LANGUAGES[iso].scripts)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("zh", ("zh", None)), ("zh-TW", ("zh", "Hant")), ("zh_HK", ("zh", "Hant")), ("zh-CN", ("zh", "Hans")),
        ("zh-Hant", ("zh", "Hant")), ("zho_Hant", ("zh", "Hant")), ("zt", ("zh", "Hant")),
        ("nb", ("no", None)), ("pb", ("pt", None)), ("srp_Latn", ("sr", "Latn")), ("sr-Cyrl", ("sr", "Cyrl")),
        ("__de__", ("de", None)), ("<2fr>", ("fr", None)), ("arb_Arab", ("ar", "Arab")), ("DE", ("de", None)),
        ("xx", ("xx", None)),
    ],
)
def test_parse(code: str, expected: tuple[str, str | None]) -> None:
    assert lc.parse(code) == expected


def test_codes_per_table() -> None:
    assert lc.flores_code("zh") == "zho_Hans" and lc.flores_code("zh", "Hant") == "zho_Hant"
    assert lc.flores_code("zh-TW") == "zho_Hant" and lc.flores_code("ar") == "arb_Arab"
    assert lc.flores_code("sr") == "srp_Cyrl" and lc.flores_code("sr", "Latn") == "srp_Latn"
    assert lc.flores_code("no") == "nob_Latn" and lc.flores_code("xx") is None
    assert lc.m2m_code("no") == "no" and lc.m2m_code("zh-Hant") == "zh" and lc.m2m_code("te") is None
    assert lc.argos_code("no") == "nb" and lc.argos_code("zh") == "zh" and lc.argos_code("zh", "Hant") == "zt"
    assert lc.argos_code("zh-TW") == "zt" and lc.argos_code("pt-BR") == "pb" and lc.argos_code("de") == "de"
    assert lc.LANGUAGES["no"].madlad_codes() == ("no", "nb") and lc.LANGUAGES["de"].madlad_codes() == ("de",)
    assert lc.name("sw") == "Swahili" and lc.name("xx") == "xx"
    assert lc.LANGUAGES["zh"].scripts == ("Hans", "Hant") and lc.LANGUAGES["sr"].scripts == ("Cyrl", "Latn")


def test_table_has_no_duplicate_codes() -> None:
    flores = [code for lang in lc.LANGUAGES.values() for code in lang.flores.values()]
    assert len(flores) == len(set(flores))
