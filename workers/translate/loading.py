"""Finding and loading a model: device and threads from settings, CTranslate2 plus SentencePiece."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

import ctranslate2
import sentencepiece

from transcrawl.settings import Settings
from workers.errors import TranslationFailed
from workers.translate.models import InstalledModel, ModelNotInstalled, find_model

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


def choose_threads(settings: Settings) -> tuple[int, int]:
    """(inter_threads, intra_threads); intra 0 means the usable cores shared among inter."""
    inter = max(1, settings.inter_threads)
    intra = settings.intra_threads
    if intra <= 0:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        intra = max(1, (cores or 1) // inter)
    return inter, intra


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
    inter, intra = choose_threads(settings)
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
    return LoadedModel(info=info, key=model_key(info), ct2=ct2, spm=spm)
