"""Translation into English: installed models, sentence splitting, batching, translation memory.

The default zh→en model is OPUS-MT by Jörg Tiedemann and Santhosh Thottingal (CC-BY 4.0).
"""

from workers.translate.engine import TranslateStats, Translator, get_translator
from workers.translate.loading import LoadedModel
from workers.translate.memory import TranslationMemory
from workers.translate.models import (
    InstalledModel,
    ModelNotInstalled,
    find_model,
    install_model,
    list_models,
    sha256_file,
    verify_sha256,
)
from workers.translate.segment import split_long, split_sentences

__all__ = [
    "InstalledModel",
    "LoadedModel",
    "ModelNotInstalled",
    "TranslateStats",
    "TranslationMemory",
    "Translator",
    "find_model",
    "get_translator",
    "install_model",
    "list_models",
    "sha256_file",
    "split_long",
    "split_sentences",
    "verify_sha256",
]
