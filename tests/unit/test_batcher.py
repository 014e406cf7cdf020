"""The translate worker's batcher: many task threads, one engine round, each article back to its own."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from foundation.settings import Settings
from schemas.messages import Article, ArticleStatus
from transcrawl.testing.tiny_model import build_tiny_model
from workers.errors import Poison, TranslationFailed
from workers.translate import Translator, install_model
from workers.translate.batcher import Batcher


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    install_model(str(build_tiny_model(root / "build", "de", seed=3)), root / "models",
                  source_lang="de", target_lang="en")
    return root / "models"


class Engine:
    """Engine double: echoes the source pieces, records each call's batch, fails on BOOM."""

    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[list[str]] = []
        self.delay = delay
        self.lock = threading.Lock()

    def translate_batch(self, batch: list[list[str]], **_: Any) -> list[SimpleNamespace]:
        with self.lock:
            self.batches.append(["".join(tokens) for tokens in batch])
        time.sleep(self.delay)
        if any("BOOM" in "".join(tokens) for tokens in batch):
            raise RuntimeError("engine failure")
        return [SimpleNamespace(hypotheses=[list(tokens)]) for tokens in batch]


def article(n: int, text: str | None = None) -> Article:
    return Article(url=f"https://example.de/{n}", site="example", country="de", language="de",
                   title=f"Titel Nummer {n}", text=text or f"Die Stadt {n} wählt heute. Der Staat {n} auch.",
                   authors=[], published_at=None, fetched_at="2026-12-01T00:00:00+00:00")


def batcher(models_dir: Path, engine: Engine | None = None, **options: Any) -> Batcher:
    translator = Translator(Settings(models_dir=models_dir, intra_threads=1, inter_threads=1))
    if engine is not None:
        translator.model("de").ct2 = engine
    options.setdefault("budget_tokens", 10_000)
    options.setdefault("max_wait", 0.3)
    return Batcher(translator, **options)


def in_threads(b: Batcher, articles: list[Article], **kwargs: Any) -> list[Any]:
    """Translate each article from its own thread, as a translate worker's task threads do."""
    def one(a: Article) -> Any:
        try:
            return b.translate_article(a, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the test looks at each article's outcome
            return exc

    with ThreadPoolExecutor(max_workers=len(articles)) as pool:
        return list(pool.map(one, articles))


def test_articles_of_many_threads_share_rounds_and_each_gets_its_own_text(models_dir: Path) -> None:
    engine = Engine()
    b = batcher(models_dir, engine)
    articles = [article(n) for n in range(24)]
    out = in_threads(b, articles)
    assert b.stats.articles == 24 and b.stats.rounds <= 3, b.stats
    assert len(engine.batches) <= 3  # one engine batch holds sentences of many articles
    for a, done in zip(articles, out, strict=True):
        assert done.status == ArticleStatus.TRANSLATED
        # The echo engine hands back each sentence's own pieces: scattered to the right article.
        assert done.title_en.replace(" ", "") == a.title.replace(" ", "")
        assert done.text_en.replace(" ", "") == a.text.replace(" ", "")


def test_batched_translations_equal_one_article_at_a_time(models_dir: Path) -> None:
    articles = [article(n, f"Die Stadt wählt {n} Mal. Der Staat {'auch ' * (n % 5)}heute.") for n in range(12)]
    alone = [Translator(Settings(models_dir=models_dir, intra_threads=1, inter_threads=1)).translate_article(a)
             for a in articles]
    b = batcher(models_dir)
    together = in_threads(b, articles)
    assert b.stats.largest_round > 1
    assert [(t.title_en, t.text_en) for t in together] == [(a.title_en, a.text_en) for a in alone]


def test_a_full_round_starts_at_once_and_a_lone_article_waits_at_most_max_wait(models_dir: Path) -> None:
    b = batcher(models_dir, Engine(), budget_tokens=1, max_wait=30)
    started = time.monotonic()
    b.translate_article(article(1))  # over the budget on its own: no wait for company
    assert time.monotonic() - started < 5
    b = batcher(models_dir, Engine(), budget_tokens=100_000, max_wait=0.4)
    started = time.monotonic()
    b.translate_article(article(2))
    waited = time.monotonic() - started
    assert 0.35 <= waited < 5, waited


def test_a_round_is_cut_at_the_token_budget(models_dir: Path) -> None:
    engine = Engine(delay=0.05)
    b = batcher(models_dir, engine, budget_tokens=60, max_wait=0.5)
    in_threads(b, [article(n) for n in range(12)])
    assert b.stats.rounds >= 3 and b.stats.articles == 12
    assert b.stats.source_tokens / b.stats.rounds <= 60 + 40  # at most one article over


def test_a_failing_article_fails_alone_not_its_round(models_dir: Path) -> None:
    b = batcher(models_dir, Engine())
    articles = [article(n) for n in range(6)] + [Article(
        url="https://example.de/boom", site="example", country="de", language="de", title="BOOM",
        text="BOOM BOOM. BOOM.", authors=[], published_at=None, fetched_at="2026-12-01T00:00:00+00:00")]
    out = in_threads(b, articles)
    assert isinstance(out[-1], TranslationFailed) and "every sentence" in str(out[-1])
    assert all(o.status == ArticleStatus.TRANSLATED for o in out[:-1])
    # A sentence that fails passes through untranslated; its article's other sentences are translated.
    mixed = b.translate_article(article(9, "Gut ist das. BOOM hier. Auch gut."))
    assert mixed.status == ArticleStatus.TRANSLATED and "BOOM" in mixed.text_en


def test_an_article_whose_process_died_in_a_round_goes_alone_then_is_poison(models_dir: Path) -> None:
    counts: dict[str, int] = {"died-once": 1, "died-thrice": 3}  # rounds entered that never ended
    lock = threading.Lock()

    def count(keys: list[str]) -> list[int]:
        with lock:
            for k in keys:
                counts[k] = counts.get(k, 0) + 1
            return [counts[k] for k in keys]

    engine = Engine()
    b = batcher(models_dir, engine, count_deliveries=count, max_deliveries=3)
    keys = ["died-once", "died-thrice", "fresh-1", "fresh-2", "fresh-3"]
    articles = [article(n, f"Satz {k} ist hier.") for n, k in enumerate(keys)]

    def one(pair: tuple[Article, str]) -> Any:
        try:
            return b.translate_article(pair[0], delivery=pair[1])
        except Exception as exc:  # noqa: BLE001
            return exc

    with ThreadPoolExecutor(max_workers=5) as pool:
        out = list(pool.map(one, zip(articles, keys, strict=True)))
    assert isinstance(out[1], Poison)  # its fourth round: never reaches the engine
    assert all(o.status == ArticleStatus.TRANSLATED for i, o in enumerate(out) if i != 1)
    assert not any("died-thrice" in s for batch in engine.batches for s in batch)
    # The one whose process died once is translated in a batch of its own, away from the others.
    [solo] = [batch for batch in engine.batches if any("died-once" in s for s in batch)]
    assert not any("fresh" in s or "thrice" in s for s in solo) and b.stats.solo_rounds == 1
    assert counts["fresh-1"] == 1 and counts["died-once"] == 2
