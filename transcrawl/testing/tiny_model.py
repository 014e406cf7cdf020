"""A tiny CTranslate2 Transformer and SentencePiece model, built in milliseconds for tests.

Its output is gibberish, but deterministic, input-dependent and short: the decoder's position
encodings put the step number in one dimension that only the end-of-sentence logit reads, so
every translation stops after ``OUTPUT_TOKENS`` pieces.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
import sentencepiece

D_MODEL = 32
FFN = 64
MAX_POSITIONS = 600
OUTPUT_TOKENS = 4
EOS_SLOPE = 50.0
_WORDS = (
    "the news of today said that people in the city and state will vote on new laws "
    "die Zeitung berichtet heute über die Wahl in der Stadt und im Land "
    "le journal dit que la ville va voter sur des lois nouvelles "
    "北京 是 中国 的 首都 今天 新闻 报道 城市 人民 政府 经济 发展 "
    "東京 は 日本 の 首都 です 今日 ニュース によると "
    "0 1 2 3 4 5 6 7 8 9 . , ! ? 。 ， ！ ？"
).split()


def _training_lines() -> list[str]:
    rng = np.random.default_rng(7)
    return [" ".join(rng.choice(_WORDS, size=12)) for _ in range(300)] + [" ".join(_WORDS)]


def build_sentencepiece(dest: Path, vocab_size: int = 120, *, model_type: str = "unigram",
                        symbols: tuple[str, ...] = ()) -> Path:
    """Train a small SentencePiece model on generated lines and save it as ``dest``."""
    buffer = io.BytesIO()
    extra: dict[str, Any] = {"user_defined_symbols": list(symbols)} if symbols else {}
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(_training_lines()),
        model_writer=buffer,
        vocab_size=vocab_size,
        model_type=model_type,
        **extra,
        character_coverage=1.0,
        hard_vocab_limit=False,
        minloglevel=2,
        num_threads=1,
    )
    dest.write_bytes(buffer.getvalue())
    return dest


def _spec(vocab: list[str], seed: int) -> ctranslate2.specs.TransformerSpec:
    rng = np.random.default_rng(seed)
    spec = ctranslate2.specs.TransformerSpec.from_config(num_layers=1, num_heads=2, no_final_norm=True)
    # Dimension 0 carries the decoder step: only the end-of-sentence row of the projection reads it.
    def weights(scope: str, name: str, value: object) -> np.ndarray | None:
        if value is not None:
            return None
        layer = scope.rsplit("/", 1)[-1]
        if name == "gamma":
            return np.ones(D_MODEL, np.float32)
        if name == "beta":
            return np.zeros(D_MODEL, np.float32)
        if name == "weight" and "embeddings" in scope:
            w = rng.normal(0, 0.3, (len(vocab), D_MODEL)).astype(np.float32)
            w[:, 0] = 0
            return w
        if name == "encodings":
            return _positions(rng, decoder="decoder" in scope)
        shape = (len(vocab), D_MODEL) if layer == "projection" else _linear_shape(scope, layer)
        w = rng.normal(0, 0.02 if layer == "projection" else 0.4, shape).astype(np.float32)
        if shape[0] == D_MODEL:
            w[0, :] = 0  # nothing but the position encoding writes dimension 0
        return w
    _fill(spec, weights)
    return spec


def _linear_shape(scope: str, layer: str) -> tuple[int, int]:
    if "ffn" in scope:
        return (FFN, D_MODEL) if layer == "linear_0" else (D_MODEL, FFN)
    if "self_attention" in scope and layer == "linear_0":
        return (3 * D_MODEL, D_MODEL)
    if "/attention" in scope and layer == "linear_1":
        return (2 * D_MODEL, D_MODEL)
    return (D_MODEL, D_MODEL)


def _positions(rng: np.random.Generator, decoder: bool) -> np.ndarray:
    enc = rng.normal(0, 0.5, (MAX_POSITIONS, D_MODEL)).astype(np.float32)
    enc[:, 0] = np.arange(MAX_POSITIONS) if decoder else 0
    return enc


def _fill(spec: ctranslate2.specs.TransformerSpec, make: object) -> None:
    def visit(layer: object, scope: str) -> None:
        for name, value in list(vars(layer).items()):
            if name.startswith("_"):
                continue
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if hasattr(item, "__dict__"):
                        visit(item, f"{scope}/{name}_{i}")
            elif hasattr(value, "__dict__") and not isinstance(value, np.generic):
                visit(value, f"{scope}/{name}")
            elif value is None or (name == "encodings" and isinstance(value, str)):
                object.__setattr__(layer, name, make(f"{scope}", name, None))  # type: ignore[operator]
    visit(spec, "")


def build_tiny_model(dest: Path, source: str, target: str = "en", *, seed: int = 0) -> Path:
    """Build a tiny model folder (``model/``, ``sentencepiece.model``, ``metadata.json``)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    spm_path = build_sentencepiece(dest / "sentencepiece.model")
    sp = sentencepiece.SentencePieceProcessor(model_file=str(spm_path))
    vocab = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    _save_model(dest / "model", vocab, seed)
    (dest / "metadata.json").write_text(
        json.dumps({"from_code": source, "to_code": target, "name": f"tiny-{source}_{target}"}) + "\n"
    )
    return dest


def _save_model(folder: Path, vocab: list[str], seed: int) -> None:
    spec = _spec(vocab, seed)
    eos, unk, bos = vocab.index("</s>"), vocab.index("<unk>"), vocab.index("<s>")
    bias = np.zeros(len(vocab), np.float32)
    bias[[unk, bos]] = -1e4
    bias[eos] = -EOS_SLOPE * (OUTPUT_TOKENS - 0.5)
    projection = spec.decoder.projection.weight
    projection[eos, :] = 0
    projection[eos, 0] = EOS_SLOPE
    spec.decoder.projection.bias = bias
    spec.register_source_vocabulary(vocab)
    spec.register_target_vocabulary(vocab)
    spec.config.add_source_eos = True
    spec.validate()
    spec.optimize(quantization="int8")
    folder.mkdir(parents=True, exist_ok=True)
    spec.save(str(folder))


# Multilingual families as ct2-transformers-converter writes them (with --copy_files): one folder
# of model.bin, config.json, shared_vocabulary.json and the tokenizer's files. The language tokens
# live in the CTranslate2 vocabulary (NLLB-200, M2M-100) or in spiece.model itself (MADLAD-400).
TINY_LANGUAGES = ("en", "de", "fr", "zh-Hans", "zh-Hant", "sr-Cyrl")
_FAMILY_FILES = {
    "nllb": ("sentencepiece.bpe.model", "NllbTokenizer", "cc-by-nc-4.0"),
    "m2m100": ("sentencepiece.bpe.model", "M2M100Tokenizer", "mit"),
    "madlad": ("spiece.model", "T5Tokenizer", "apache-2.0"),
}


def language_tokens(family: str, tags: tuple[str, ...] = TINY_LANGUAGES) -> list[str]:
    from workers.translate import families, languages

    fam = families.get(family)
    tokens = []
    for tag in tags:
        iso, script = languages.parse(tag)
        token = fam.language_token(iso, script)
        if token and token not in tokens:
            tokens.append(token)
    return tokens


def build_tiny_multilingual(dest: Path, family: str, *, seed: int = 0, name: str | None = None,
                            tags: tuple[str, ...] = TINY_LANGUAGES) -> Path:
    """A tiny model folder of ``family`` (``nllb``, ``m2m100``, ``madlad``), laid out as the real ones."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    spm_name, tokenizer_class, licence = _FAMILY_FILES[family]
    tokens = language_tokens(family, tags)
    in_spm = tuple(tokens) if family == "madlad" else ()
    sp_path = build_sentencepiece(dest / spm_name, model_type="unigram" if family == "madlad" else "bpe",
                                  symbols=in_spm)
    sp = sentencepiece.SentencePieceProcessor(model_file=str(sp_path))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    if family == "madlad":
        vocab = pieces
    else:  # fairseq's order: specials, the SentencePiece pieces, then the language tokens
        vocab = ["<s>", "<pad>", "</s>", "<unk>"] + [p for p in pieces if p not in ("<s>", "</s>", "<unk>")]
        vocab += tokens + ["<mask>"]
    _save_model(dest, vocab, seed)
    config = json.loads((dest / "config.json").read_text())
    config["add_source_eos"] = False  # the tokenizer adds </s> itself, as the converter's configs say
    (dest / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (dest / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": tokenizer_class}) + "\n")
    (dest / "special_tokens_map.json").write_text(json.dumps({"eos_token": "</s>", "unk_token": "<unk>"}) + "\n")
    (dest / "README.md").write_text(f"---\nlicense: {licence}\n---\n# {name or 'tiny-' + family}\n")
    return dest
