"""The translation step: load models lazily, split text, batch sentences, translate, reassemble.

Models are CTranslate2 Transformers with SentencePiece vocabularies (the zh→en default is
OPUS-MT by Jörg Tiedemann and Santhosh Thottingal, CC-BY 4.0). One :class:`Translator` lives in
each worker process and keeps a few models loaded (LRU); nothing is loaded before first use, so
a pre-fork parent never opens a model.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from foundation.settings import Settings
from schemas.messages import Article, ArticleStatus
from workers.errors import TranslationFailed
from workers.translate.loading import (
    LoadedModel,
    choose_batch_tokens,
    choose_device,
    choose_threads,
    find_installed,
    load_model,
    model_key,
)
from workers.translate.memory import TranslationMemory
from workers.translate.segment import (
    clean,
    needs_translation,
    split_long,
    split_sentences,
)

log = logging.getLogger(__name__)

MAX_SOURCE_TOKENS = 200  # longer sentences are split before they reach the model
MAX_DECODING_LENGTH = 512
NO_REPEAT_NGRAM_SIZE = 0  # 0 = off; see docs/benchmarks.md for why
# The token budget (Settings.max_batch_tokens) is what all replicas of a model may hold in flight
# at beam 2, the default. Decoder memory grows with sentences × beam, so other beams get
# budget × 2 / beam (greedy larger batches, cheaper per token; beam 4 smaller ones), and each of
# the inter_threads replicas gets its share. That keeps a worker's peak RSS near the beam-2 figure
# whatever the beam and thread layout (docs/benchmarks.md: one replica with 2048-token beam-4
# batches peaked at ~670 MB, with 1024-token batches at ~440 MB).
BUDGET_BEAM = 2
MIN_SPLIT_TOKENS = 64  # smallest batch a job is cut into to keep several replicas busy
# A job is cut into at least this many batches per replica: one beat two in every interleaved A/B
# on 2 cores (beams 1, 2, 4; 24–160 sentences), and four was slower than the raw loop.
BATCHES_PER_REPLICA = 1


def batch_budget(max_batch_tokens: int, beam: int, replicas: int = 1) -> int:
    """Padded source tokens per engine call for this beam size and number of replicas."""
    return max(1, max_batch_tokens * BUDGET_BEAM // max(1, beam) // max(1, replicas))


@dataclasses.dataclass
class TranslateStats:
    """Counters over the life of a Translator, for logs and benchmarks."""

    sentences: int = 0
    memory_hits: int = 0
    translated: int = 0
    failed_sentences: int = 0
    engine_calls: int = 0
    source_tokens: int = 0
    target_tokens: int = 0


@dataclasses.dataclass
class _Job:
    """Sentences of one call: each paragraph is a list of literals (str) or unit numbers (int)."""

    layout: list[list[list[str | int]]]
    units: list[list[str]] = dataclasses.field(default_factory=list)  # token pieces
    texts: list[str] = dataclasses.field(default_factory=list)
    index: dict[str, int] = dataclasses.field(default_factory=dict)
    failed: int = 0


class Translator:
    """Translates documents into English; one per worker process (see :func:`get_translator`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.memory = TranslationMemory()
        self.stats = TranslateStats()
        self._models: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()

    def device(self) -> tuple[str, str]:
        """The (device, compute type) models load on: CPU int8 unless a GPU is there or asked for."""
        return choose_device(self.settings)

    def threads(self) -> tuple[int, int]:
        """(inter_threads, intra_threads) on this Translator's device; 0 in settings means auto."""
        return choose_threads(self.settings, self.device()[0])

    def model(self, source: str, target: str = "en") -> LoadedModel:
        """The loaded model for a pair, loading it (and evicting the least recently used) if needed."""
        info = find_installed(self.settings.models_path, source, target)
        key = f"{info.source}-{info.target}"
        with self._lock:
            loaded = self._models.get(key)
            if loaded is not None and loaded.key == model_key(info):
                self._models.move_to_end(key)
                return loaded
            loaded = load_model(info, self.settings)
            self._models[key] = loaded
            while len(self._models) > max(1, self.settings.models_loaded_max):
                evicted, _ = self._models.popitem(last=False)
                log.info("unloaded translation model %s", evicted)
            return loaded

    def loaded_pairs(self) -> list[str]:
        return list(self._models)

    def translate_documents(
        self, source: str, documents: list[list[str]], *, beam_size: int | None = None
    ) -> list[list[str]]:
        """Translate documents (lists of paragraphs) into English, keeping their shape."""
        return self._translate(source, documents, beam_size)[0]

    def translate_article(self, article: Article) -> Article:
        """A copy of ``article`` with its title and paragraphs in English and status translated."""
        paragraphs = article.text.split("\n")
        (title, text), job, loaded = self._translate(article.language, [[article.title], paragraphs], None)
        if job.units and job.failed == len(job.units):
            raise TranslationFailed(f"the {loaded.info.name} engine failed on every sentence")
        return dataclasses.replace(
            article,
            title_en=title[0],
            text_en="\n".join(text),
            translated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            translation_model=loaded.info.name,
            status=ArticleStatus.TRANSLATED,
            status_reason=None,
        )

    def _translate(
        self, source: str, documents: list[list[str]], beam_size: int | None
    ) -> tuple[list[list[str]], _Job, LoadedModel]:
        loaded = self.model(source)
        beam = beam_size or self.settings.beam_size
        job = _Job(layout=[])
        for doc in documents:
            job.layout.append([_plan_paragraph(loaded, paragraph, source, job) for paragraph in doc])
        results = self._translate_units(loaded, job, beam)
        out = [
            [" ".join(s if isinstance(s, str) else results[s] for s in para) if para else "" for para in doc]
            for doc in job.layout
        ]
        return out, job, loaded

    def _translate_units(self, loaded: LoadedModel, job: _Job, beam: int) -> list[str]:
        results: list[str | None] = [None] * len(job.units)
        todo = []
        for i, text in enumerate(job.texts):
            results[i] = self.memory.get(loaded.key, beam, text)
            if results[i] is None:
                todo.append(i)
        self.stats.sentences += len(job.units)
        self.stats.memory_hits += len(job.units) - len(todo)
        todo.sort(key=lambda i: len(job.units[i]))
        inter = loaded.inter_threads
        budget = batch_budget(choose_batch_tokens(self.settings, loaded.device), beam, inter)
        if inter > 1:
            # Several replicas: cut a small job so that each replica gets a batch, or the others
            # sit idle while one replica translates it all.
            padded = sum(len(job.units[i]) + 1 for i in todo)
            budget = min(budget, max(MIN_SPLIT_TOKENS, -(-padded // (BATCHES_PER_REPLICA * inter))))
        # Longest sentences first: they decode for the most steps, so with several engine threads
        # starting them first keeps every thread busy to the end instead of one finishing alone.
        chunks = _chunks(todo, job.units, budget)[::-1]
        if inter > 1 and len(chunks) > 1:
            with ThreadPoolExecutor(max_workers=inter) as pool:
                outputs = list(pool.map(lambda c: self._run(loaded, job, c, beam, budget), chunks))
        else:
            outputs = [self._run(loaded, job, c, beam, budget) for c in chunks]
        for chunk, translations in zip(chunks, outputs, strict=True):
            for i, translation in zip(chunk, translations, strict=True):
                if translation is None:
                    job.failed += 1
                    results[i] = job.texts[i]
                else:
                    self.memory.put(loaded.key, beam, job.texts[i], translation)
                    results[i] = translation
        return [r if r is not None else "" for r in results]

    def _run(
        self, loaded: LoadedModel, job: _Job, chunk: list[int], beam: int, budget: int
    ) -> list[str | None]:
        """Translate one batch; if the engine fails, bisect to find and pass through the culprits."""
        batch = [job.units[i] for i in chunk]
        longest = max(len(tokens) for tokens in batch)
        try:
            self.stats.engine_calls += 1
            results = loaded.ct2.translate_batch(
                batch,
                beam_size=beam,
                max_batch_size=budget,
                batch_type="tokens",
                max_decoding_length=min(2 * longest + 10, MAX_DECODING_LENGTH),
                no_repeat_ngram_size=NO_REPEAT_NGRAM_SIZE,
            )
        except Exception as exc:  # noqa: BLE001 - one bad sentence must not sink an article
            if len(chunk) == 1:
                self.stats.failed_sentences += 1
                log.warning("translation engine failed on a sentence (%s): %.80r", exc, job.texts[chunk[0]])
                return [None]
            half = len(chunk) // 2
            first = self._run(loaded, job, chunk[:half], beam, budget)
            return first + self._run(loaded, job, chunk[half:], beam, budget)
        out: list[str | None] = []
        for i, result in zip(chunk, results, strict=True):
            pieces = result.hypotheses[0]
            self.stats.source_tokens += len(job.units[i])
            self.stats.target_tokens += len(pieces)
            text = "".join(pieces).replace("\u2581", " ").strip()
            out.append(text or job.texts[i])
        self.stats.translated += len(chunk)
        return out


def _plan_paragraph(loaded: LoadedModel, paragraph: str, source: str, job: _Job) -> list[str | int]:
    """Literals and unit numbers for one paragraph; letterless text passes through untouched."""
    text = clean(paragraph)
    if not text.strip():
        return [paragraph] if paragraph else []
    if not needs_translation(text):
        return [text]
    segments: list[str | int] = []
    count = lambda s: len(loaded.tokenize(s))  # noqa: E731
    for sentence in split_sentences(text, source):
        if not needs_translation(sentence):
            segments.append(sentence)
            continue
        for piece in split_long(sentence, count, MAX_SOURCE_TOKENS):
            index = job.index.get(piece)
            if index is None:
                index = job.index[piece] = len(job.units)
                job.units.append(loaded.tokenize(piece))
                job.texts.append(piece)
            segments.append(index)
    return segments


def _chunks(todo: Sequence[int], units: list[list[str]], budget: int) -> list[list[int]]:
    """Group length-sorted units so that each group's padded size stays within ``budget`` tokens."""
    chunks: list[list[int]] = []
    current: list[int] = []
    for i in todo:
        width = len(units[i]) + 1
        if current and (len(current) + 1) * width > budget:
            chunks.append(current)
            current = []
        current.append(i)
    if current:
        chunks.append(current)
    return chunks


_translator: Translator | None = None
_translator_lock = threading.Lock()


def get_translator(settings: Settings) -> Translator:
    """The process-wide Translator, created on first use (so never in a parent before fork)."""
    global _translator
    with _translator_lock:
        if _translator is None or _translator.settings != settings:
            _translator = Translator(settings)
        return _translator


def _forget_after_fork() -> None:
    global _translator, _translator_lock
    _translator, _translator_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
