"""Language codes in one table: ISO 639-1 (the registry and the language identifier), FLORES-200
(NLLB-200, NTREX file names), M2M-100, MADLAD-400's ``<2xx>`` tokens and the Argos index's own.

Where a language is written in two scripts (Chinese Hans/Hant, Serbian Cyrl/Latn) the script is
part of the code for FLORES-200 (``zho_Hant``) and for Argos (``zt`` is Traditional Chinese); a
bare ``zh`` means the default script, the first of ``Language.scripts``.
"""

from __future__ import annotations

import dataclasses
import re


@dataclasses.dataclass(frozen=True)
class Language:
    """One language under every code we meet; ``flores`` maps each script to its FLORES-200 code."""

    iso: str
    name: str
    flores: dict[str, str]
    m2m: str | None = None  # the code inside M2M-100's ``__xx__`` token; None: not in M2M-100
    argos: dict[str, str] = dataclasses.field(default_factory=dict)  # script → Argos code, when not iso
    madlad: tuple[str, ...] = ()  # MADLAD-400 codes to try (inside ``<2xx>``), when not just iso

    @property
    def scripts(self) -> tuple[str, ...]:
        return tuple(self.flores)

    def flores_code(self, script: str | None = None) -> str:
        return self.flores.get(script or "", next(iter(self.flores.values())))

    def argos_code(self, script: str | None = None) -> str:
        return self.argos.get(script or "", self.argos.get("", self.iso))

    def madlad_codes(self) -> tuple[str, ...]:
        return self.madlad or (self.iso,)


def _l(iso: str, name: str, *flores: str, m2m: str | None = "", argos: dict[str, str] | None = None,
       madlad: tuple[str, ...] = ()) -> Language:
    scripts = {code.split("_", 1)[1]: code for code in flores}
    return Language(iso, name, scripts, iso if m2m == "" else m2m, argos or {}, madlad)


_TABLE = (
    _l("af", "Afrikaans", "afr_Latn"),
    _l("am", "Amharic", "amh_Ethi"),
    _l("ar", "Arabic", "arb_Arab"),
    _l("az", "Azerbaijani", "azj_Latn"),
    _l("be", "Belarusian", "bel_Cyrl"),
    _l("bg", "Bulgarian", "bul_Cyrl"),
    _l("bn", "Bengali", "ben_Beng"),
    _l("bs", "Bosnian", "bos_Latn"),
    _l("ca", "Catalan", "cat_Latn"),
    _l("cs", "Czech", "ces_Latn"),
    _l("cy", "Welsh", "cym_Latn"),
    _l("da", "Danish", "dan_Latn"),
    _l("de", "German", "deu_Latn"),
    _l("el", "Greek", "ell_Grek"),
    _l("en", "English", "eng_Latn"),
    _l("eo", "Esperanto", "epo_Latn", m2m=None),
    _l("es", "Spanish", "spa_Latn"),
    _l("et", "Estonian", "est_Latn"),
    _l("eu", "Basque", "eus_Latn", m2m=None),
    _l("fa", "Persian", "pes_Arab"),
    _l("fi", "Finnish", "fin_Latn"),
    _l("fr", "French", "fra_Latn"),
    _l("ga", "Irish", "gle_Latn"),
    _l("gl", "Galician", "glg_Latn"),
    _l("gu", "Gujarati", "guj_Gujr"),
    _l("ha", "Hausa", "hau_Latn"),
    _l("he", "Hebrew", "heb_Hebr"),
    _l("hi", "Hindi", "hin_Deva"),
    _l("hr", "Croatian", "hrv_Latn"),
    _l("hu", "Hungarian", "hun_Latn"),
    _l("hy", "Armenian", "hye_Armn"),
    _l("id", "Indonesian", "ind_Latn"),
    _l("is", "Icelandic", "isl_Latn"),
    _l("it", "Italian", "ita_Latn"),
    _l("ja", "Japanese", "jpn_Jpan"),
    _l("ka", "Georgian", "kat_Geor"),
    _l("kk", "Kazakh", "kaz_Cyrl"),
    _l("km", "Khmer", "khm_Khmr"),
    _l("kn", "Kannada", "kan_Knda"),
    _l("ko", "Korean", "kor_Hang"),
    _l("ky", "Kyrgyz", "kir_Cyrl", m2m=None),
    _l("lt", "Lithuanian", "lit_Latn"),
    _l("lv", "Latvian", "lvs_Latn"),
    _l("mk", "Macedonian", "mkd_Cyrl"),
    _l("ml", "Malayalam", "mal_Mlym"),
    _l("mn", "Mongolian", "khk_Cyrl"),
    _l("mr", "Marathi", "mar_Deva"),
    _l("ms", "Malay", "zsm_Latn"),
    _l("my", "Burmese", "mya_Mymr"),
    _l("ne", "Nepali", "npi_Deva"),
    _l("nl", "Dutch", "nld_Latn"),
    _l("no", "Norwegian (Bokmål)", "nob_Latn", argos={"": "nb"}, madlad=("no", "nb")),
    _l("pa", "Punjabi", "pan_Guru"),
    _l("pl", "Polish", "pol_Latn"),
    _l("ps", "Pashto", "pbt_Arab"),
    _l("pt", "Portuguese", "por_Latn"),
    _l("ro", "Romanian", "ron_Latn"),
    _l("ru", "Russian", "rus_Cyrl"),
    _l("si", "Sinhala", "sin_Sinh"),
    _l("sk", "Slovak", "slk_Latn"),
    _l("sl", "Slovenian", "slv_Latn"),
    _l("so", "Somali", "som_Latn"),
    _l("sq", "Albanian", "als_Latn"),
    # FLORES-200 and NLLB-200 have Serbian in Cyrillic only; Latin text is transliterated (scripts.py).
    _l("sr", "Serbian", "srp_Cyrl", "srp_Latn", madlad=("sr", "sr_Latn")),
    _l("sv", "Swedish", "swe_Latn"),
    _l("sw", "Swahili", "swh_Latn"),
    _l("ta", "Tamil", "tam_Taml"),
    _l("te", "Telugu", "tel_Telu", m2m=None),
    _l("th", "Thai", "tha_Thai"),
    _l("tl", "Tagalog", "tgl_Latn"),
    _l("tr", "Turkish", "tur_Latn"),
    _l("uk", "Ukrainian", "ukr_Cyrl"),
    _l("ur", "Urdu", "urd_Arab"),
    _l("uz", "Uzbek", "uzn_Latn"),
    _l("vi", "Vietnamese", "vie_Latn"),
    _l("xh", "Xhosa", "xho_Latn"),
    _l("yo", "Yoruba", "yor_Latn"),
    _l("zh", "Chinese", "zho_Hans", "zho_Hant", argos={"Hans": "zh", "Hant": "zt"}),
    _l("zu", "Zulu", "zul_Latn"),
)
LANGUAGES: dict[str, Language] = {lang.iso: lang for lang in _TABLE}
ENGLISH = LANGUAGES["en"]

# Codes other tables use for a language (and its script, where the code says it).
_ALIASES: dict[str, tuple[str, str | None]] = {
    "nb": ("no", None), "nn": ("no", None),  # Nynorsk is routed as Norwegian: no model has it apart
    "zt": ("zh", "Hant"), "pb": ("pt", None),  # Argos: Traditional Chinese, Brazilian Portuguese
    "arb": ("ar", None), "swa": ("sw", None), "zsm": ("ms", None), "pes": ("fa", None),
    "fil": ("tl", None), "iw": ("he", None), "in": ("id", None),
}
_REGION_SCRIPT = {("zh", "tw"): "Hant", ("zh", "hk"): "Hant", ("zh", "mo"): "Hant",
                  ("zh", "cn"): "Hans", ("zh", "sg"): "Hans"}
_SCRIPT = re.compile(r"^[A-Z][a-z]{3}$")
_BY_ISO3 = {code.split("_")[0]: lang.iso for lang in _TABLE for code in lang.flores.values()}


def parse(code: str) -> tuple[str, str | None]:
    """``(iso, script)`` for any code we know: ``zh-TW``, ``zh_Hant``, ``zho_Hant``, ``zt``, ``nb``,
    ``__de__``, ``<2de>``; an unknown base comes back lower-cased, with no script."""
    text = code.strip().strip("_").removeprefix("<2").removesuffix(">").replace("-", "_")
    base, *rest = text.split("_") if text else ("",)
    low = base.lower()
    iso, script = _ALIASES.get(low, (_BY_ISO3.get(low, low), None))
    for part in rest:
        if _SCRIPT.match(part):
            script = part
        elif (iso, part.lower()) in _REGION_SCRIPT:
            script = script or _REGION_SCRIPT[(iso, part.lower())]
    return iso, script


def language(code: str) -> Language | None:
    """The table's entry for ``code`` (any form :func:`parse` reads), or None."""
    return LANGUAGES.get(parse(code)[0])


def flores_code(code: str, script: str | None = None) -> str | None:
    lang = language(code)
    return lang.flores_code(script or parse(code)[1]) if lang else None


def m2m_code(code: str) -> str | None:
    lang = language(code)
    return lang.m2m if lang else None


def argos_code(code: str, script: str | None = None) -> str:
    """The Argos index's code: ``nb`` for Norwegian, ``zt`` for Traditional Chinese."""
    iso, parsed_script = parse(code)
    lang = LANGUAGES.get(iso)
    if code.lower().replace("_", "-") in ("pt-br", "pb"):
        return "pb"
    return lang.argos_code(script or parsed_script) if lang else iso


def name(code: str) -> str:
    lang = language(code)
    return lang.name if lang else code
