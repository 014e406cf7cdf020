"""Model families: how each kind of CTranslate2 model wants its input and gives its output.

- ``marian``: one language pair (OPUS-MT, the Argos packages). Source pieces as SentencePiece cuts
  them; no prefix. Knows one script of a two-script language (``zh-en`` Simplified, ``zt-en``
  Traditional, as the Argos codes say).
- ``nllb`` (NLLB-200, CC-BY-NC-4.0) and ``m2m100`` (M2M-100, MIT): many languages. The source is
  ``[source-language token] + pieces + ["</s>"]``; decoding starts from ``target_prefix`` =
  ``[English token]`` and the first output token (that prefix) is dropped. NLLB's tokens are
  FLORES-200 codes (``zho_Hant``), M2M-100's ``__xx__``.
- ``madlad`` (MADLAD-400, T5, Apache-2.0): ``<2en>`` prepended to the source text (a piece of its
  ``spiece.model``), ``</s>`` appended; no prefix, nothing dropped.

A model's family is read from its files when it is installed (:func:`detect`) and kept in its
manifest; which languages a multilingual model covers is read from its vocabulary.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from workers.translate import languages as lc

EOS = "</s>"


@dataclasses.dataclass(frozen=True)
class Family:
    """One family's conventions; see the module docstring."""

    name: str
    title: str
    licence: str | None  # the usual licence of its published models
    multilingual: bool = True
    spm_files: tuple[str, ...] = ("sentencepiece.model", "source.spm")
    drop_first: bool = False  # the output starts with the target prefix

    def language_token(self, iso: str, script: str | None) -> str | None:
        """The token that names ``iso`` (in ``script``) to this model; None if it has none."""
        return None

    def source_tokens(self, pieces: list[str], iso: str, script: str | None, target: str = "en") -> list[str]:
        return pieces

    def target_prefix(self, target: str = "en") -> list[str] | None:
        return None

    def output(self, pieces: list[str]) -> list[str]:
        return pieces[1:] if self.drop_first and pieces else pieces

    def covered(self, vocabulary: set[str]) -> list[str]:
        """Language tags (``de``, ``zh-Hant``) this model can read, by its vocabulary's tokens."""
        found = []
        for lang in lc.LANGUAGES.values():
            for script in lang.scripts:
                token = self.language_token(lang.iso, script)
                if token and token in vocabulary:
                    found.append(f"{lang.iso}-{script}" if len(lang.scripts) > 1 else lang.iso)
        return found


class Marian(Family):
    pass


class Nllb(Family):
    def language_token(self, iso: str, script: str | None) -> str | None:
        lang = lc.LANGUAGES.get(iso)
        return lang.flores.get(script or lang.scripts[0]) if lang else None

    def source_tokens(self, pieces: list[str], iso: str, script: str | None, target: str = "en") -> list[str]:
        return [self.language_token(iso, script) or "<unk>", *pieces, EOS]

    def target_prefix(self, target: str = "en") -> list[str] | None:
        return [self.language_token(target, None) or "<unk>"]


class M2m100(Nllb):
    def language_token(self, iso: str, script: str | None) -> str | None:
        lang = lc.LANGUAGES.get(iso)
        # M2M-100 has one token per language: it reads the first (default) script only.
        if lang is None or lang.m2m is None or (script and script != lang.scripts[0]):
            return None
        return f"__{lang.m2m}__"


class Madlad(Family):
    def language_token(self, iso: str, script: str | None) -> str | None:
        lang = lc.LANGUAGES.get(iso)
        if lang is None:
            return None
        codes = lang.madlad_codes()
        if len(lang.scripts) > 1:
            index = lang.scripts.index(script) if script in lang.scripts else 0
            codes = codes[index:index + 1] if index < len(codes) else ()
        return f"<2{codes[0]}>" if codes else None

    def source_tokens(self, pieces: list[str], iso: str, script: str | None, target: str = "en") -> list[str]:
        # The *target* language's token leads the source (as the tokenizer cuts "<2en> text").
        return [self.language_token(target, None) or "<unk>", *pieces, EOS]

    def covered(self, vocabulary: set[str]) -> list[str]:
        found = []
        for lang in lc.LANGUAGES.values():
            if any(f"<2{code}>" in vocabulary for code in lang.madlad_codes()):
                found.append(lang.iso)
        return found


MARIAN = Marian("marian", "Marian (one language pair)", None, multilingual=False)
NLLB = Nllb("nllb", "NLLB-200", "CC-BY-NC-4.0", spm_files=("sentencepiece.bpe.model",), drop_first=True)
M2M100 = M2m100("m2m100", "M2M-100", "MIT", spm_files=("sentencepiece.bpe.model",), drop_first=True)
MADLAD = Madlad("madlad", "MADLAD-400 (T5)", "Apache-2.0", spm_files=("spiece.model",))
FAMILIES = {f.name: f for f in (MARIAN, NLLB, M2M100, MADLAD)}
SPM_FILES = tuple(dict.fromkeys(n for f in FAMILIES.values() for n in f.spm_files)) + ("target.spm",)
_TOKENIZER_CLASSES = {"nllb": NLLB, "m2m100": M2M100, "t5": MADLAD}


def get(name: str | None) -> Family:
    return FAMILIES.get(name or "marian", MARIAN)


def vocabulary(model_dir: Path) -> set[str]:
    """The tokens of a CTranslate2 model's (shared or target) vocabulary, .json or .txt."""
    for stem in ("shared_vocabulary", "target_vocabulary", "source_vocabulary"):
        if (model_dir / f"{stem}.json").is_file():
            return set(json.loads((model_dir / f"{stem}.json").read_text()))
        if (model_dir / f"{stem}.txt").is_file():
            return set((model_dir / f"{stem}.txt").read_text().splitlines())
    return set()


def detect(root: Path, model_dir: Path, declared: str | None = None) -> Family:
    """The family of a model folder: its manifest's word, its tokenizer class, then its files."""
    if declared in FAMILIES:
        return FAMILIES[declared]
    config = root / "tokenizer_config.json"
    if not config.is_file():
        config = model_dir / "tokenizer_config.json"
    if config.is_file():
        klass = str(json.loads(config.read_text()).get("tokenizer_class", "")).lower()
        for prefix, family in _TOKENIZER_CLASSES.items():
            if klass.startswith(prefix):
                return family
    vocab = vocabulary(model_dir)
    if ((root / "spiece.model").is_file() or (model_dir / "spiece.model").is_file()) and "<2en>" in vocab:
        return MADLAD
    if "eng_Latn" in vocab:
        return NLLB
    if "__en__" in vocab:
        return M2M100
    return MARIAN


def non_commercial(licence: str | None) -> bool:
    """Whether ``licence`` forbids commercial use (Creative Commons NC, as NLLB-200's)."""
    text = (licence or "").upper()
    return "-NC" in text or "NONCOMMERCIAL" in text.replace("-", "")


def licence_note(licence: str | None) -> str:
    """The licence as users should read it: a non-commercial one says so plainly."""
    if not licence:
        return "licence unknown: check the model's card before use"
    if non_commercial(licence):
        return f"{licence}: non-commercial use only, commercial use is forbidden"
    return licence
