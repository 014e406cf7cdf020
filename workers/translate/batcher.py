"""Dynamic batching: one engine round translates the sentences of many articles at once.

    task thread ── plan (split, tokenise) ──▶ pending ──▶ batcher thread: one round per model
    task thread ◀── its article, assembled ◀── scatter ◀── Translator.run_jobs(every sentence)

A translate worker runs many task threads (each holds one message, acknowledged only once its
article has been handed on); each plans its article and waits here. The batcher thread starts a
round once the pending sentences of one model reach the token budget, or once the oldest of them
has waited ``max_wait`` seconds, so no article waits longer than that for its round to start
(while the engine is busy, the next round fills instead). A round is one length-sorted job over
all its articles' sentences, cut into engine batches and spread over the model's replicas, so
the engine gets full batches whatever the size of an article.

A failing sentence passes through alone (the engine bisects its batch); an article whose every
sentence failed fails alone. An article that was in a round when its process died is counted
(``deliveries``) and, when it comes back, translated in a round of its own, so a page that kills
the engine takes no other article with it and is recorded as poison after ``max_deliveries``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from schemas.messages import Article
from workers.errors import Poison, TransientError
from workers.translate.engine import Job, Round, Translator
from workers.translate.loading import LoadedModel

log = logging.getLogger(__name__)


class RoundTimeout(TransientError):
    """An article waited past the time limit for its round; it is retried (with backoff)."""


@dataclasses.dataclass
class BatchStats:
    """Counters over the life of a Batcher (logs, metrics, benchmarks)."""

    rounds: int = 0
    articles: int = 0
    source_tokens: int = 0
    largest_round: int = 0  # articles
    solo_rounds: int = 0  # articles translated alone after their process died in a round


@dataclasses.dataclass
class _Request:
    loaded: LoadedModel
    job: Job
    tokens: int
    arrived: float  # time.monotonic()
    delivery: str | None
    future: Future[None] = dataclasses.field(default_factory=Future)


# A round's fate: called with the delivery keys of its articles as it starts; returns how many
# times each has now entered a round in a process that never finished it (1 = this is the first).
CountDeliveries = Callable[[list[str]], list[int]]
# Told of each finished round: (source language, articles, source tokens, target tokens).
OnRound = Callable[[str, int, int, int], None]


class Batcher:
    """Gathers the articles of many task threads into engine rounds; one per Translator."""

    def __init__(self, translator: Translator, *, budget_tokens: int, max_wait: float,
                 count_deliveries: CountDeliveries | None = None, max_deliveries: int = 0,
                 on_round: OnRound | None = None) -> None:
        self.translator = translator
        self.budget_tokens = max(1, budget_tokens)
        self.max_wait = max(0.0, max_wait)
        self.count_deliveries = count_deliveries
        self.max_deliveries = max_deliveries
        self.on_round = on_round
        self.stats = BatchStats()
        self._pending: list[_Request] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    def translate_article(self, article: Article, *, delivery: str | None = None,
                          timeout: float | None = None) -> Article:
        """``article`` in English, translated in a round with whatever else is pending."""
        loaded = self.translator.model_for(article)
        job = self.translator.plan_article(loaded, article)
        if job.units:
            request = _Request(loaded, job, job.source_tokens, time.monotonic(), delivery)
            self._submit(request)
            try:
                request.future.result(timeout)
            except FutureTimeout:
                raise RoundTimeout(f"no translation within {timeout:.0f} s: the engine is overloaded "
                                   "or stuck") from None
        return self.translator.finish_article(article, job, loaded)

    def _submit(self, request: _Request) -> None:
        with self._ready:
            self._pending.append(request)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="translate-batcher", daemon=True)
                self._thread.start()
            self._ready.notify()

    def _loop(self) -> None:
        while True:
            batch = self._next_round()
            try:
                self._start(batch)
            except BaseException as exc:  # noqa: BLE001 - every waiting task must hear of it
                log.exception("translation round failed to start")
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(exc)

    def _engine_free_soon(self, loaded: LoadedModel) -> bool:
        """Nothing waits in the engine's queue: every replica has its last batch, or none."""
        return self.translator.engine(loaded.inter_threads).queued == 0

    def _next_round(self) -> list[_Request]:
        """Wait for a full round (or the oldest request's wait to run out) and a free engine.

        A round is formed only once the engine has taken every batch of the round before, so
        articles that arrive while it works join the next round rather than a small one queued
        early, and the replicas never wait between two rounds.
        """
        with self._ready:
            while True:
                while not self._pending:
                    self._ready.wait()
                oldest = self._pending[0]
                same = [r for r in self._pending if r.loaded is oldest.loaded]
                left = oldest.arrived + self.max_wait - time.monotonic()
                if (sum(r.tokens for r in same) >= self.budget_tokens or left <= 0) and \
                        self._engine_free_soon(oldest.loaded):
                    break
                # Woken by a new request, or by the engine taking a batch (_watch_engine).
                self._ready.wait(left if left > 0 else None)
            batch: list[_Request] = []
            tokens = 0
            for request in same:  # oldest first, at least one, up to the budget
                if batch and tokens + request.tokens > self.budget_tokens:
                    break
                batch.append(request)
                tokens += request.tokens
            taken = {id(r) for r in batch}
            self._pending = [r for r in self._pending if id(r) not in taken]
            return batch

    def _start(self, batch: list[_Request]) -> None:
        together, alone = self._admit(batch)
        if together:
            self._round(together)
        for request in alone:
            # Alone on the engine, too: wait until nothing else runs, and let nothing start
            # beside it (this thread forms every round), so that if it kills the process no other
            # article was in a round with it.
            engine = self.translator.engine(request.loaded.inter_threads)
            with engine.changed:
                engine.changed.wait_for(lambda: engine.queued == 0 and engine.running == 0)
            self.stats.solo_rounds += 1
            self._round([request]).finished.wait()

    def _round(self, members: list[_Request]) -> Round:
        loaded = members[0].loaded
        started = time.monotonic()
        tokens = sum(r.tokens for r in members)

        def done(round_: Round) -> None:
            if round_.error is not None:
                for request in members:
                    request.future.set_exception(round_.error)
                return
            self.stats.rounds += 1
            self.stats.articles += len(members)
            self.stats.source_tokens += tokens
            self.stats.largest_round = max(self.stats.largest_round, len(members))
            log.info("translated a round of %d articles, %d source tokens, in %.2f s (%d waiting)",
                     len(members), tokens, time.monotonic() - started, len(self._pending))
            if self.on_round is not None:
                try:
                    self.on_round(loaded.info.source, len(members), tokens, round_.target_tokens)
                except Exception:  # noqa: BLE001 - metrics never break a round
                    log.debug("round metrics failed", exc_info=True)
            for request in members:
                request.future.set_result(None)

        self._watch_engine(loaded)
        return self.translator.start_round(loaded, [r.job for r in members], self.translator.settings.beam_size,
                                           on_done=done)

    def _watch_engine(self, loaded: LoadedModel) -> None:
        """Wake the round-forming thread whenever the engine takes or ends a batch."""
        self.translator.engine(loaded.inter_threads).listen(self._poke)

    def _poke(self) -> None:
        with self._ready:
            self._ready.notify_all()

    def _admit(self, batch: list[_Request]) -> tuple[list[_Request], list[_Request]]:
        """(translate together, translate alone); poison is failed here, before the engine."""
        counted = [r for r in batch if r.delivery]
        if self.count_deliveries is None or self.max_deliveries <= 0 or not counted:
            return batch, []
        counts = dict(zip((id(r) for r in counted),
                          self.count_deliveries([r.delivery or "" for r in counted]), strict=True))
        together, alone = [], []
        for request in batch:
            count = counts.get(id(request), 1)
            if count > self.max_deliveries:
                request.future.set_exception(Poison(
                    f"in {count} translation rounds; the {count - 1} before never finished "
                    "(each killed its worker process)"))
            elif count > 1:  # its process died in a round: keep the others out of its way
                alone.append(request)
            else:
                together.append(request)
        return together, alone
