"""Finding and loading a model: device and threads from settings, CTranslate2 plus SentencePiece."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ctranslate2
import sentencepiece

from foundation.settings import Settings
from workers.errors import ModelNotInstalled, TranslationFailed
from workers.translate import families, routes, scripts
from workers.translate.models import InstalledModel

log = logging.getLogger(__name__)

# Preferred compute types per device, best first; the first one the hardware supports wins.
COMPUTE_TYPES = {"cpu": ("int8", "int8_float32", "float32"), "cuda": ("int8_float16", "float16", "float32")}


@dataclasses.dataclass
class LoadedModel:
    """A model in memory: its CTranslate2 translator and source SentencePiece processor."""

    info: InstalledModel
    key: str
    ct2: Any  # ctranslate2.Translator (or a test double with translate_batch)
    spm: sentencepiece.SentencePieceProcessor
    device: str = "cpu"
    inter_threads: int = 1  # replicas: how many batches may run at once
    size_bytes: int = 0  # of its CTranslate2 files, read once at load: what the cache is bounded by

    @property
    def family(self) -> families.Family:
        return families.get(self.info.family)

    def tokenize(self, text: str) -> list[str]:
        return list(self.spm.encode(text, out_type=str))

    def encoder(self, language: str, script: str | None = None) -> Callable[[str], list[str]]:
        """Text in ``language`` (written in ``script``, if known) → the tokens this model reads:
        converted to a script the model knows, cut by SentencePiece, language tokens added."""
        iso = routes.language_of(language)
        want = routes.model_script(self.info, iso, script)
        family = self.family

        def encode(text: str) -> list[str]:
            if script and want and script != want:
                text = scripts.convert(text, iso, script, want)
            return family.source_tokens(self.tokenize(text), iso, want or script, self.info.target)
        return encode

    def target_prefix(self) -> list[str] | None:
        """The package's own ``target_prefix`` (Argos metadata) wins over the family's."""
        if self.info.target_prefix:
            return [self.info.target_prefix]
        return self.family.target_prefix(self.info.target)

    def output(self, pieces: list[str]) -> list[str]:
        if self.info.target_prefix:
            return pieces[1:] if pieces[:1] == [self.info.target_prefix] else pieces
        return self.family.output(pieces)


def choose_device(settings: Settings) -> tuple[str, str]:
    """(device, compute type): CPU int8 unless a GPU is there (``auto``) or settings say otherwise."""
    device = settings.translate_device
    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    compute = settings.translate_compute_type
    if compute == "auto":
        try:
            supported = set(ctranslate2.get_supported_compute_types(device))
        except (RuntimeError, ValueError):
            supported = set()
        preferred = COMPUTE_TYPES.get(device, ())
        compute = next((c for c in preferred if c in supported), preferred[0] if preferred else "default")
    return device, compute


# Auto thread layout. Beam search on a model this size runs small matrix products, where
# splitting one product over threads (intra) gains little and another model replica working on
# another batch (inter) gains almost linearly: beam 4 on 2 cores ran 1.4–1.6× faster as 2×1 than
# as 1×2, and on 16 cores the Translator ran 2,233 target tok/s as 16×1 against 404 as 1×16
# (bench/translate_sweep.py; docs/benchmarks.md). Each replica adds its own buffers to the
# worker's memory (16 replicas peaked at 780 MB, 2 at under 500 MB), hence the cap.
# On a GPU one replica with large batches: on an H200, 1 replica with 8192-token batches was
# 1.16–1.45× the raw loop on 200-sentence jobs, and 2 replicas with larger batches were no faster
# on jobs of that size (they win only on jobs of 1,000 sentences and more).
AUTO_MAX_INTER_THREADS = {"cpu": 16, "cuda": 1}
# Auto token budget at beam 2, per replica: what all replicas may hold in flight together is
# this × inter_threads (engine.batch_budget). Memory grows with the tokens in flight: one replica
# with 1024-token beam-4 batches peaked at 441 MB, with 2048-token batches at 667 MB. A GPU wants
# large batches once a translate node feeds it many articles: on an H200, one replica translating
# a 1,000-sentence job ran 4,250 / 10,114 / 18,185 target tok/s with 2048 / 8192 / 32768-token
# batches (bench/translate_sweep.py, docs/benchmarks.md). docs/operations.md says how to size it.
AUTO_BATCH_TOKENS_PER_REPLICA = {"cpu": 1024, "cuda": 32768}


def choose_threads(settings: Settings, device: str = "cpu") -> tuple[int, int]:
    """(inter_threads, intra_threads): 0 means auto, one replica per core (one on a GPU)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    inter = settings.inter_threads
    if inter <= 0:
        inter = AUTO_MAX_INTER_THREADS["cuda"] if device == "cuda" else max(1, min(cores, AUTO_MAX_INTER_THREADS["cpu"]))
    intra = settings.intra_threads
    if intra <= 0:
        intra = max(1, cores // inter)
    return inter, intra


def choose_batch_tokens(settings: Settings, device: str = "cpu") -> int:
    """Tokens that all replicas together may hold in flight at beam 2 (engine.batch_budget)."""
    if settings.max_batch_tokens > 0:
        return settings.max_batch_tokens
    inter, _ = choose_threads(settings, device)
    per_replica = AUTO_BATCH_TOKENS_PER_REPLICA.get(device, AUTO_BATCH_TOKENS_PER_REPLICA["cpu"])
    return per_replica * inter


# A translate worker's round (workers/translate/batcher.py) gathers many articles' sentences and
# cuts them into engine batches of choose_batch_tokens: a round of several batches per replica is
# length-sorted across articles and keeps every replica busy to its end.
AUTO_ROUND_BATCHES = 8
# Auto articles in flight per translate worker: about one round's worth at ~256 source tokens an
# article, so that the next round is already planned and waiting while the engine runs this one.
TOKENS_PER_ARTICLE_GUESS = 256
MAX_AUTO_CONCURRENCY = 512


def choose_round_tokens(settings: Settings, device: str = "cpu") -> int:
    """Source tokens a translate worker gathers into one engine round."""
    if settings.translate_batch_tokens > 0:
        return settings.translate_batch_tokens
    return AUTO_ROUND_BATCHES * choose_batch_tokens(settings, device)


def choose_translate_concurrency(settings: Settings, device: str = "cpu") -> int:
    """Articles (messages) a translate worker holds at once."""
    if settings.translate_concurrency > 0:
        return settings.translate_concurrency
    return max(8, min(MAX_AUTO_CONCURRENCY, choose_round_tokens(settings, device) // TOKENS_PER_ARTICLE_GUESS))


def find_installed(models_dir: Path, source: str, target: str, script: str | None = None,
                   prefer: str = "") -> InstalledModel:
    """The model of ``source``'s route (``zh-CN`` falls back to ``zh``), or ModelNotInstalled."""
    route = routes.resolve(models_dir, source, target, script=script, prefer=prefer)
    if route is None:
        raise ModelNotInstalled(source, target, hint=routes.install_hint(source, target))
    return route.model


def model_key(info: InstalledModel) -> str:
    """Changes when the pair is reinstalled, so loaded copies and memory entries go stale."""
    return f"{info.source}-{info.target}/{info.name}/{info.installed_at}"


def load_model(info: InstalledModel, settings: Settings) -> LoadedModel:
    device, compute = choose_device(settings)
    inter, intra = choose_threads(settings, device)
    names = families.get(info.family).spm_files
    spm_path = next((info.path / n for n in names if (info.path / n).is_file()), None)
    try:
        if spm_path is None:
            raise FileNotFoundError(f"{info.path}: none of {', '.join(names)}")
        spm = sentencepiece.SentencePieceProcessor(model_file=str(spm_path))
        ct2 = ctranslate2.Translator(
            str(info.path / "model"), device=device, compute_type=compute,
            inter_threads=inter, intra_threads=intra,
        )
    except (OSError, RuntimeError, ValueError) as exc:
        raise TranslationFailed(f"cannot load model {info.name}: {exc}", reason="model_load_failed") from exc
    log.info("loaded translation model %s on %s/%s (%d×%d threads)", info.name, device, compute, inter, intra)
    return LoadedModel(info=info, key=model_key(info), ct2=ct2, spm=spm, device=device, inter_threads=inter,
                       size_bytes=info.size_bytes)
