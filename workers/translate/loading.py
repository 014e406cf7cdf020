"""Finding and loading a model: device and threads from settings, CTranslate2 plus SentencePiece."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

import ctranslate2
import sentencepiece

from foundation.settings import Settings
from workers.errors import ModelNotInstalled, TranslationFailed
from workers.translate.models import InstalledModel, find_model

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

    def tokenize(self, text: str) -> list[str]:
        return list(self.spm.encode(text, out_type=str))


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
# with 1024-token beam-4 batches peaked at 441 MB, with 2048-token batches at 667 MB.
AUTO_BATCH_TOKENS_PER_REPLICA = {"cpu": 1024, "cuda": 8192}


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


def find_installed(models_dir: Path, source: str, target: str) -> InstalledModel:
    """The model for ``source`` (``zh-CN`` falls back to ``zh``), or ModelNotInstalled."""
    for code in dict.fromkeys((source, source.replace("_", "-").split("-")[0].lower())):
        found = find_model(models_dir, code, target)
        if found is not None:
            return found
    raise ModelNotInstalled(source, target)


def model_key(info: InstalledModel) -> str:
    """Changes when the pair is reinstalled, so loaded copies and memory entries go stale."""
    return f"{info.source}-{info.target}/{info.name}/{info.installed_at}"


def load_model(info: InstalledModel, settings: Settings) -> LoadedModel:
    device, compute = choose_device(settings)
    inter, intra = choose_threads(settings, device)
    names = ("sentencepiece.model", "source.spm")
    spm_path = next((info.path / n for n in names if (info.path / n).is_file()), None)
    try:
        if spm_path is None:
            raise FileNotFoundError(f"{info.path}: no sentencepiece.model or source.spm")
        spm = sentencepiece.SentencePieceProcessor(model_file=str(spm_path))
        ct2 = ctranslate2.Translator(
            str(info.path / "model"), device=device, compute_type=compute,
            inter_threads=inter, intra_threads=intra,
        )
    except (OSError, RuntimeError, ValueError) as exc:
        raise TranslationFailed(f"cannot load model {info.name}: {exc}", reason="model_load_failed") from exc
    log.info("loaded translation model %s on %s/%s (%d×%d threads)", info.name, device, compute, inter, intra)
    return LoadedModel(info=info, key=model_key(info), ct2=ct2, spm=spm, device=device, inter_threads=inter)
