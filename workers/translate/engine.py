"""The translation step: load models lazily, split text, batch sentences, translate, reassemble.

Models are CTranslate2 Transformers with SentencePiece vocabularies (the zh→en default is
OPUS-MT by Jörg Tiedemann and Santhosh Thottingal, CC-BY 4.0). One :class:`Translator` lives in
each worker process and keeps a few models loaded (LRU); nothing is loaded before first use, so
a pre-fork parent never opens a model.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
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
from workers.translate import routes, scripts
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
class Job:
    """The sentences of some documents: each paragraph is a list of literals (str) or unit numbers."""

    layout: list[list[list[str | int]]]
    units: list[list[str]] = dataclasses.field(default_factory=list)  # token pieces
    texts: list[str] = dataclasses.field(default_factory=list)
    index: dict[str, int] = dataclasses.field(default_factory=dict)
    results: list[str] = dataclasses.field(default_factory=list)  # one per unit, once translated
    failed: int = 0  # units the engine failed on (passed through untranslated)

    @property
    def source_tokens(self) -> int:
        return sum(len(tokens) for tokens in self.units)

    def assemble(self) -> list[list[str]]:
        """The documents again, each unit replaced by its translation."""
        return [
            [" ".join(s if isinstance(s, str) else self.results[s] for s in para) if para else "" for para in doc]
            for doc in self.layout
        ]


class Translator:
    """Translates documents into English; one per worker process (see :func:`get_translator`)."""

    def __init__(self, settings: Settings) -> None:
        routes.preferences(settings.models_prefer)  # a malformed preference fails the worker's start
        self.settings = settings
        self.memory = TranslationMemory()
        self.stats = TranslateStats()
        self._models: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._engine: EngineQueue | None = None

    def device(self) -> tuple[str, str]:
        """The (device, compute type) models load on: CPU int8 unless a GPU is there or asked for."""
        return choose_device(self.settings)

    def threads(self) -> tuple[int, int]:
        """(inter_threads, intra_threads) on this Translator's device; 0 in settings means auto."""
        return choose_threads(self.settings, self.device()[0])

    def model(self, source: str, target: str = "en", *, script: str | None = None) -> LoadedModel:
        """The loaded model of ``source``'s route (routes.py), loading it (and evicting the least
        recently used) if needed; ``script`` is the text's, for two-script languages."""
        info = find_installed(self.settings.models_path, source, target, script=script,
                              prefer=self.settings.models_prefer)
        key = info.path.name
        with self._lock:
            loaded = self._models.get(key)
            if loaded is not None and loaded.key == model_key(info):
                self._models.move_to_end(key)
                return loaded
            loaded = load_model(info, self.settings)
            self._models[key] = loaded
            self._models.move_to_end(key)
            self._evict()
            return loaded

    def _evict(self) -> None:
        """Unload least recently used models past the count or the byte bound (never the newest)."""
        bound = self.settings.models_loaded_bytes
        while len(self._models) > 1 and (
            len(self._models) > max(1, self.settings.models_loaded_max)
            or (bound > 0 and sum(m.size_bytes for m in self._models.values()) > bound)
        ):
            evicted, _ = self._models.popitem(last=False)
            log.info("unloaded translation model %s", evicted)

    def loaded_bytes(self) -> int:
        return sum(m.size_bytes for m in self._models.values())

    def loaded_pairs(self) -> list[str]:
        return list(self._models)

    def model_for(self, article: Article) -> LoadedModel:
        """The loaded model of an article's route, given the script its text is written in."""
        return self.model(article.language, script=_script_of(article.language, [[article.title, article.text]]))

    def translate_documents(
        self, source: str, documents: list[list[str]], *, beam_size: int | None = None
    ) -> list[list[str]]:
        """Translate documents (lists of paragraphs) into English, keeping their shape."""
        script = _script_of(source, documents)
        loaded = self.model(source, script=script)
        job = self.plan(loaded, source, documents, script=script)
        self.run_jobs(loaded, [job], beam_size or self.settings.beam_size)
        return job.assemble()

    def translate_article(self, article: Article) -> Article:
        """A copy of ``article`` with its title and paragraphs in English and status translated."""
        loaded = self.model_for(article)
        job = self.plan_article(loaded, article)
        self.run_jobs(loaded, [job], self.settings.beam_size)
        return self.finish_article(article, job, loaded)

    def plan_article(self, loaded: LoadedModel, article: Article) -> Job:
        """The sentences of an article's title, paragraphs and standfirst, tokenised, for :meth:`run_jobs`."""
        standfirst = [article.description] if article.description else []
        script = _script_of(article.language, [[article.title, article.text]])
        return self.plan(loaded, article.language, [[article.title], article.text.split("\n"), standfirst],
                         script=script)

    def plan(self, loaded: LoadedModel, source: str, documents: list[list[str]],
             script: str | None = None) -> Job:
        """Split documents into sentences and tokenise them for ``loaded`` (no engine call).

        Text in a script the model does not read (``script``, detected when not given) is
        converted first, and the family's language tokens are added (loading.LoadedModel.encoder).
        """
        job = Job(layout=[])
        encode = loaded.encoder(source, script or _script_of(source, documents))
        for doc in documents:
            job.layout.append([_plan_paragraph(loaded, encode, paragraph, source, job) for paragraph in doc])
        return job

    @staticmethod
    def finish_article(article: Article, job: Job, loaded: LoadedModel) -> Article:
        """The translated article from a job :meth:`run_jobs` has filled."""
        if job.units and job.failed == len(job.units):
            raise TranslationFailed(f"the {loaded.info.name} engine failed on every sentence")
        (title, text, standfirst) = job.assemble()
        return dataclasses.replace(
            article,
            title_en=title[0],
            text_en="\n".join(text),
            description_en=standfirst[0] if standfirst else None,
            translated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            translation_model=loaded.info.name,
            status=ArticleStatus.TRANSLATED,
            status_reason=None,
        )

    def run_jobs(self, loaded: LoadedModel, jobs: Sequence[Job], beam: int) -> None:
        """Translate the sentences of several jobs together (one sorted round) and fill each job."""
        round_ = self.start_round(loaded, jobs, beam)
        round_.finished.wait()
        if round_.error is not None:
            raise round_.error

    def start_round(self, loaded: LoadedModel, jobs: Sequence[Job], beam: int,
                    on_done: Callable[[Round], None] | None = None) -> Round:
        """Queue the sentences of ``jobs`` on the engine as one length-sorted round; return at once.

        A sentence that several jobs share (boilerplate across articles) is translated once, and
        one the translation memory knows is not translated again. The round's batches join the
        engine's queue behind any earlier round's, so the replicas go from one round to the next
        without waiting for a round's last batch. Once the last batch is done the jobs are filled,
        ``finished`` is set and ``on_done`` is called (in an engine thread).
        """
        round_ = Round(loaded, list(jobs), beam, on_done)
        index: dict[str, int] = {}
        for job in jobs:
            mine = []
            for text, tokens in zip(job.texts, job.units, strict=True):
                at = index.get(text)
                if at is None:
                    at = index[text] = len(round_.units)
                    round_.units.append(tokens)
                    round_.texts.append(text)
                mine.append(at)
            round_.where.append(mine)
        units = round_.units
        round_.results = [self.memory.get(loaded.key, beam, text) for text in round_.texts]
        todo = sorted((i for i, hit in enumerate(round_.results) if hit is None), key=lambda i: len(units[i]))
        self.stats.sentences += len(units)
        self.stats.memory_hits += len(units) - len(todo)
        inter = loaded.inter_threads
        budget = batch_budget(choose_batch_tokens(self.settings, loaded.device), beam, inter)
        if inter > 1:
            # Several replicas: cut a small round so that each replica gets a batch, or the others
            # sit idle while one replica translates it all.
            padded = sum(len(units[i]) + 1 for i in todo)
            budget = min(budget, max(MIN_SPLIT_TOKENS, -(-padded // (BATCHES_PER_REPLICA * inter))))
        # Longest sentences first: they decode for the most steps, so with several engine threads
        # starting them first keeps every thread busy to the end instead of one finishing alone.
        round_.chunks = _chunks(todo, units, budget)[::-1]
        round_.remaining = len(round_.chunks)
        if not round_.chunks:
            self._finish(round_)
        for k in range(len(round_.chunks)):
            self.engine(inter).submit(functools.partial(self._run_chunk, round_, k, budget))
        return round_

    def engine(self, workers: int = 1) -> EngineQueue:
        """The threads that call the engine, one per replica, fed in order from one queue."""
        with self._lock:
            if self._engine is None or self._engine.workers < workers:
                self._engine = EngineQueue(max(workers, self.threads()[0]))
            return self._engine

    def _run_chunk(self, round_: Round, k: int, budget: int) -> None:
        try:
            chunk = round_.chunks[k]
            for i, translation in zip(chunk, self._run(round_, chunk, budget), strict=True):
                round_.results[i] = translation
        except BaseException as exc:  # noqa: BLE001 - handed to the round's owner
            round_.error = exc
        with round_.lock:
            round_.remaining -= 1
            last = round_.remaining == 0
        if last:
            self._finish(round_)

    def _finish(self, round_: Round) -> None:
        if round_.error is None:
            for text, translation in zip(round_.texts, round_.results, strict=True):
                if translation is not None:
                    self.memory.put(round_.loaded.key, round_.beam, text, translation)
            for job, mine in zip(round_.jobs, round_.where, strict=True):
                translated = [round_.results[at] for at in mine]
                job.results = [t if t is not None else job.texts[n] for n, t in enumerate(translated)]
                job.failed = translated.count(None)
        round_.finished.set()
        if round_.on_done is not None:
            round_.on_done(round_)

    def _run(self, round_: Round, chunk: list[int], budget: int) -> list[str | None]:
        """Translate one batch; if the engine fails, bisect to find and pass through the culprits."""
        units, texts = round_.units, round_.texts
        batch = [units[i] for i in chunk]
        longest = max(len(tokens) for tokens in batch)
        prefix = round_.loaded.target_prefix()
        try:
            self.stats.engine_calls += 1
            results = round_.loaded.ct2.translate_batch(
                batch,
                **({"target_prefix": [prefix] * len(batch)} if prefix else {}),
                beam_size=round_.beam,
                max_batch_size=budget,
                batch_type="tokens",
                max_decoding_length=min(2 * longest + 10, MAX_DECODING_LENGTH),
                no_repeat_ngram_size=NO_REPEAT_NGRAM_SIZE,
            )
        except Exception as exc:  # noqa: BLE001 - one bad sentence must not sink an article
            if len(chunk) == 1:
                self.stats.failed_sentences += 1
                log.warning("translation engine failed on a sentence (%s): %.80r", exc, texts[chunk[0]])
                return [None]
            half = len(chunk) // 2
            return self._run(round_, chunk[:half], budget) + self._run(round_, chunk[half:], budget)
        out: list[str | None] = []
        for i, result in zip(chunk, results, strict=True):
            pieces = round_.loaded.output(result.hypotheses[0])
            with round_.lock:
                round_.target_tokens += len(pieces)
            self.stats.source_tokens += len(units[i])
            self.stats.target_tokens += len(pieces)
            text = "".join(pieces).replace("\u2581", " ").strip()
            out.append(text or texts[i])
        self.stats.translated += len(chunk)
        return out


@dataclasses.dataclass(eq=False)
class Round:
    """The sentences of some jobs on their way through the engine (:meth:`Translator.start_round`)."""

    loaded: LoadedModel
    jobs: list[Job]
    beam: int
    on_done: Callable[[Round], None] | None = None
    units: list[list[str]] = dataclasses.field(default_factory=list)  # distinct sentences, tokenised
    texts: list[str] = dataclasses.field(default_factory=list)
    where: list[list[int]] = dataclasses.field(default_factory=list)  # per job: its units' places here
    results: list[str | None] = dataclasses.field(default_factory=list)  # None: not (yet) translated
    chunks: list[list[int]] = dataclasses.field(default_factory=list)  # engine batches
    remaining: int = 0
    target_tokens: int = 0
    error: BaseException | None = None
    finished: threading.Event = dataclasses.field(default_factory=threading.Event)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


class EngineQueue:
    """One thread per replica, taking engine batches in order; counts what waits and what runs."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="engine")
        self.changed = threading.Condition()
        self.queued = 0
        self.running = 0
        self.listeners: list[Callable[[], None]] = []  # told after each change (outside the lock)

    def submit(self, work: Callable[[], None]) -> None:
        with self.changed:
            self.queued += 1
        self._pool.submit(self._work, work)

    def listen(self, listener: Callable[[], None]) -> None:
        with self.changed:
            if listener not in self.listeners:
                self.listeners.append(listener)

    def _work(self, work: Callable[[], None]) -> None:
        self._change(queued=-1, running=1)
        try:
            work()
        finally:
            self._change(running=-1)

    def _change(self, queued: int = 0, running: int = 0) -> None:
        with self.changed:
            self.queued += queued
            self.running += running
            self.changed.notify_all()
            listeners = list(self.listeners)
        for listener in listeners:
            listener()


def _script_of(source: str, documents: Sequence[Sequence[str]]) -> str | None:
    """The script of a two-script language's text, from its first few thousand characters."""
    sample: list[str] = []
    size = 0
    for doc in documents:
        for paragraph in doc:
            sample.append(paragraph[: scripts.SAMPLE_CHARS - size])
            size += len(sample[-1])
            if size >= scripts.SAMPLE_CHARS:
                return scripts.detect(source, "\n".join(sample))
    return scripts.detect(source, "\n".join(sample))


def _plan_paragraph(loaded: LoadedModel, encode: Callable[[str], list[str]], paragraph: str, source: str,
                    job: Job) -> list[str | int]:
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
                job.units.append(encode(piece))
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
