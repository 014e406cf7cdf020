"""The translation step: splitting, batching, memory, guards, model LRU, and the real zh→en model."""

from __future__ import annotations

import dataclasses
import random
import shutil
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import workers.translate.loading as loading
from foundation.settings import Settings
from schemas.messages import Article, ArticleStatus
from transcrawl.testing.tiny_model import build_tiny_model
from workers.errors import TranslationFailed
from workers.translate import (
    ModelNotInstalled,
    Translator,
    get_translator,
    install_model,
    split_long,
    split_sentences,
)
from workers.translate.engine import batch_budget
from workers.translate.segment import clean, needs_translation


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny models for de, zh and ja, installed once for the module."""
    root = tmp_path_factory.mktemp("tiny")
    for i, lang in enumerate(("de", "zh", "ja")):
        folder = build_tiny_model(root / f"build-{lang}", lang, seed=i)
        install_model(str(folder), root / "models", source_lang=lang, target_lang="en")
    return root / "models"


@pytest.fixture()
def translator(models_dir: Path) -> Translator:
    return Translator(Settings(models_dir=models_dir, intra_threads=1))


class Echo:
    """Engine double: returns the source pieces, counts calls, fails on a marked sentence."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.widths: list[int] = []  # the longest sentence of each batch, in call order

    def translate_batch(self, batch: list[list[str]], **kwargs: Any) -> list[SimpleNamespace]:
        self.calls.append(len(batch))
        self.widths.append(max(len(tokens) for tokens in batch))
        assert kwargs["batch_type"] == "tokens" and kwargs["max_decoding_length"] <= 512
        if any("BOOM" in "".join(tokens) for tokens in batch):
            raise RuntimeError("engine failure")
        return [SimpleNamespace(hypotheses=[list(tokens)]) for tokens in batch]


def echo(translator: Translator, source: str) -> Echo:
    double = Echo()
    translator.model(source).ct2 = double
    return double


# -- sentence splitting -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("zh", "北京是中国的首都。今天天气很好！你去吗？", ["北京是中国的首都。", "今天天气很好！", "你去吗？"]),
        ("zh", "他说：“我们走吧。”然后离开了。", ["他说：“我们走吧。”", "然后离开了。"]),
        ("zh", "增长了3.5%。好!我们走", ["增长了3.5%。", "好!", "我们走"]),
        ("ja", "東京は日本の首都です。「こんにちは。」と彼は言った。", ["東京は日本の首都です。", "「こんにちは。」と彼は言った。"]),
        ("de", "Das ist z.B. gut. Dr. Müller kam am 3. Oktober. Er blieb.",
         ["Das ist z.B. gut.", "Dr. Müller kam am 3. Oktober.", "Er blieb."]),
        ("en", "Mr. Smith paid $3.5 million. J. R. Doe agreed! The U.S. Senate voted? Yes.",
         ["Mr. Smith paid $3.5 million.", "J. R. Doe agreed!", "The U.S. Senate voted?", "Yes."]),
        ("en", '"It works." She left. it stays', ['"It works."', "She left. it stays"]),
    ],
)
def test_split_sentences(lang: str, text: str, expected: list[str]) -> None:
    assert split_sentences(text, lang) == expected


def test_split_long_keeps_every_character() -> None:
    count = len  # one token per character
    clauses = "，".join(f"第{i}个分句内容比较长一些" for i in range(60)) + "。"
    words = " ".join(f"word{i}" for i in range(400))
    blob = "字" * 1000
    for text in (clauses, words, blob):
        pieces = split_long(text, count, 50)
        assert all(len(p) <= 50 for p in pieces)
        assert "".join(pieces).replace(" ", "") == text.replace(" ", "")
    assert split_long("short", count, 50) == ["short"]


def test_clean_and_passthrough_checks() -> None:
    assert clean("a\x00b\x07c\td") == "abc d"
    assert not needs_translation("😀 123 —— !!")
    assert needs_translation("abc 123")


# -- batching, order, memory, guards ------------------------------------------------------------


def test_batches_scatter_back_in_order(translator: Translator) -> None:
    double = echo(translator, "de")
    docs = [
        [f"Satz {d}{p}a ist hier. Und {d}{p}b folgt lang " + "x " * (d * 7 % 23) for p in range(3)]
        for d in range(6)
    ]
    out = translator.translate_documents("de", docs)
    assert [len(d) for d in out] == [3] * 6
    for d, doc in enumerate(docs):
        for p, paragraph in enumerate(doc):
            assert out[d][p] == " ".join(split_sentences(paragraph, "de"))
    assert sum(double.calls) == 36  # every sentence once, across documents


def test_batches_respect_token_budget(models_dir: Path) -> None:
    translator = Translator(Settings(models_dir=models_dir, max_batch_tokens=64, intra_threads=1))
    double = echo(translator, "de")
    translator.translate_documents("de", [[f"Satz {i} ist lang und länger geworden." for i in range(40)]])
    assert len(double.calls) > 1 and max(double.calls) < 40


def test_token_budget_scales_with_beam(models_dir: Path) -> None:
    """max_batch_tokens is the beam-2 budget: greedy batches hold twice as much, beam 4 half."""
    translator = Translator(Settings(models_dir=models_dir, max_batch_tokens=256, intra_threads=1))
    double = echo(translator, "de")
    sizes = {}
    for beam in (1, 2, 4):
        translator.memory.clear()
        double.calls.clear()
        translator.translate_documents("de", [[f"Satz {i} ist lang und länger geworden." for i in range(40)]],
                                       beam_size=beam)
        sizes[beam] = max(double.calls)
    assert sizes[1] > sizes[2] > sizes[4] >= 1
    assert batch_budget(2048, 1) == 4096 and batch_budget(2048, 2) == 2048 and batch_budget(2048, 4) == 1024
    assert batch_budget(2048, 4, replicas=2) == 512  # the budget is shared by the replicas


def test_longest_batches_go_first(models_dir: Path) -> None:
    """The batch with the longest sentences starts first, so no replica is left finishing alone."""
    translator = Translator(Settings(models_dir=models_dir, max_batch_tokens=64, inter_threads=1))
    double = echo(translator, "de")
    sentences = [" ".join(["Wort"] * n) + "." for n in (3, 30, 1, 12, 7, 20, 2)]
    out = translator.translate_documents("de", [sentences])
    assert out == [sentences]  # scattered back in the original order
    assert len(double.calls) > 2 and double.widths == sorted(double.widths, reverse=True)


def test_replicas_share_a_small_job(models_dir: Path) -> None:
    """With two replicas a job that fits one batch is still cut so that both have work."""
    translator = Translator(Settings(models_dir=models_dir, inter_threads=2, intra_threads=1))
    assert translator.model("de").inter_threads == 2
    double = echo(translator, "de")
    sentences = [f"Satz {i} ist lang und länger geworden." for i in range(40)]
    out = translator.translate_documents("de", [sentences])
    assert out == [sentences]
    assert len(double.calls) >= 2 and sum(double.calls) == 40  # a batch per replica, each sentence once


def test_auto_threads_and_batch_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """0 means auto: one replica per core on CPU (capped), one on a GPU; budgets per device."""
    monkeypatch.setattr(loading.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    auto = Settings()
    assert loading.choose_threads(auto, "cpu") == (16, 1)
    assert loading.choose_threads(auto, "cuda") == (1, 16)
    assert loading.choose_threads(Settings(inter_threads=4), "cpu") == (4, 4)
    assert loading.choose_threads(Settings(inter_threads=2, intra_threads=3), "cpu") == (2, 3)
    monkeypatch.setattr(loading.os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert loading.choose_threads(auto, "cpu") == (16, 4)
    monkeypatch.setattr(loading.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert loading.choose_threads(auto, "cpu") == (1, 1)
    assert loading.choose_batch_tokens(auto, "cpu") == 1024 and loading.choose_batch_tokens(auto, "cuda") == 32768
    monkeypatch.setattr(loading.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert loading.choose_batch_tokens(auto, "cpu") == 16 * 1024  # 1024 per replica
    assert loading.choose_batch_tokens(Settings(max_batch_tokens=100), "cuda") == 100
    # A translate node's round: several engine batches per replica; articles in flight to fill it.
    assert loading.choose_round_tokens(auto, "cpu") == 8 * 16 * 1024
    assert loading.choose_round_tokens(Settings(translate_batch_tokens=500), "cuda") == 500
    assert loading.choose_translate_concurrency(auto, "cuda") == 512  # capped
    assert loading.choose_translate_concurrency(Settings(translate_batch_tokens=1), "cpu") == 8  # at least
    assert loading.choose_translate_concurrency(Settings(translate_concurrency=3), "cpu") == 3


def test_translation_memory_translates_a_sentence_once(translator: Translator) -> None:
    double = echo(translator, "de")
    docs = [["Die Stadt wählt. Die Stadt wählt.", "Die Stadt wählt."], ["Neu hier."]]
    first = translator.translate_documents("de", docs)
    assert sum(double.calls) == 2  # duplicates inside one call are merged
    second = translator.translate_documents("de", docs)
    assert second == first and sum(double.calls) == 2
    assert translator.stats.memory_hits >= 2
    translator.translate_documents("de", docs, beam_size=5)  # another beam is another entry
    assert sum(double.calls) == 4


def test_guards_pass_through(translator: Translator) -> None:
    echo(translator, "de")
    docs = [["", "   ", "😀🎉 2024 !!", "Hallo\x00 Welt\x07.", "12:30 Uhr — Die Stadt."]]
    out = translator.translate_documents("de", docs)
    assert out == [["", "   ", "😀🎉 2024 !!", "Hallo Welt.", "12:30 Uhr — Die Stadt."]]


def test_failing_sentence_is_passed_through_and_counted(translator: Translator) -> None:
    double = echo(translator, "de")
    docs = [["Eins ist gut. BOOM geht nicht. Drei ist gut.", "Vier ist gut."]]
    out = translator.translate_documents("de", docs)
    assert out == [["Eins ist gut. BOOM geht nicht. Drei ist gut.", "Vier ist gut."]]
    assert translator.stats.failed_sentences == 1 and len(double.calls) > 1


def test_long_paragraph_without_punctuation(translator: Translator) -> None:
    known = "北京是中国的首都今天新闻报道城市人民政府经济发展"
    words = "".join(random.Random(1).choices(known, k=50_000))
    started = time.monotonic()
    out = translator.translate_documents("zh", [[words]])
    assert time.monotonic() - started < 20
    assert out[0][0] and out[0][0] != words  # translated, not handed back
    assert translator.stats.translated > 50  # windows of at most MAX_SOURCE_TOKENS
    double = echo(translator, "zh")
    translator.memory.clear()
    out = translator.translate_documents("zh", [[words]])
    assert out[0][0].replace(" ", "") == words  # split into windows, nothing lost
    assert len(double.calls) >= 1


def test_tiny_model_is_deterministic_and_short(models_dir: Path) -> None:
    docs = [["北京是中国的首都。今天新闻报道。", "城市发展"], ["政府"]]
    a = Translator(Settings(models_dir=models_dir, intra_threads=1)).translate_documents("zh", docs)
    b = Translator(Settings(models_dir=models_dir, intra_threads=1)).translate_documents("zh", docs)
    assert a == b
    assert [len(d) for d in a] == [2, 1] and all(p for d in a for p in d)
    assert all(p != s for doc, src in zip(a, docs, strict=True) for p, s in zip(doc, src, strict=True)), a
    assert all(len(p) < 80 for d in a for p in d)


def test_translate_article(translator: Translator) -> None:
    article = Article(
        url="https://example.de/a", site="example", country="de", language="de",
        title="Die Wahl", text="Die Stadt wählt heute.\n\nDer Staat auch.", authors=[],
        published_at=None, fetched_at="2024-01-01T00:00:00+00:00",
    )
    out = translator.translate_article(article)
    assert out is not article and article.title_en is None
    assert out.status == ArticleStatus.TRANSLATED and out.translation_model == "tiny-de_en"
    assert out.title_en and len(out.text_en.split("\n")) == 3 and out.text_en.split("\n")[1] == ""
    pairs = zip(out.text_en.split("\n"), article.text.split("\n"), strict=True)
    assert out.title_en != article.title and all(e != s for e, s in pairs if s), out  # translated, not handed back
    assert out.translated_at and out.translated_at.endswith("+00:00")
    assert out.description_en is None  # no standfirst, nothing invented
    with_standfirst = translator.translate_article(dataclasses.replace(article, description="Die Stadt wählt."))
    assert with_standfirst.description_en and with_standfirst.description_en != "Die Stadt wählt."
    assert with_standfirst.text_en == out.text_en and with_standfirst.title_en == out.title_en
    with pytest.raises(ModelNotInstalled) as err:
        translator.translate_article(dataclasses.replace(article, language="fr"))
    assert err.value.reason == "no_model" and "transcrawl models install fr-en" in str(err.value)


def test_region_subtag_finds_the_model(translator: Translator) -> None:
    regional = translator.translate_documents("zh-CN", [["北京"]])
    assert regional == translator.translate_documents("zh", [["北京"]]) and regional != [["北京"]]


def test_models_lru(models_dir: Path) -> None:
    translator = Translator(Settings(models_dir=models_dir, models_loaded_max=2, intra_threads=1))
    assert translator.loaded_pairs() == []  # nothing loads before first use
    for lang in ("de", "zh", "de", "ja"):
        translator.translate_documents(lang, [["Die Stadt 北京 東京"]])
    assert translator.loaded_pairs() == ["de-en", "ja-en"]


def test_models_cache_bounded_by_bytes(models_dir: Path) -> None:
    """The byte bound evicts least recently used models; the model in use always stays."""
    sizes = {lang: Translator(Settings(models_dir=models_dir)).model(lang).size_bytes for lang in ("de", "zh")}
    assert all(size > 0 for size in sizes.values())
    bound = sizes["de"] + sizes["zh"] + 1
    translator = Translator(Settings(models_dir=models_dir, models_loaded_max=10, models_loaded_bytes=bound,
                                     intra_threads=1))
    for lang in ("de", "zh", "ja"):
        translator.model(lang)
    assert translator.loaded_pairs() == ["zh-en", "ja-en"] and translator.loaded_bytes() <= bound
    tight = Translator(Settings(models_dir=models_dir, models_loaded_bytes=1, intra_threads=1))
    assert tight.model("de") and tight.loaded_pairs() == ["de-en"]  # bigger than the bound: kept alone
    tight.model("zh")
    assert tight.loaded_pairs() == ["zh-en"]


def test_reinstalled_model_is_reloaded(models_dir: Path, tmp_path: Path) -> None:
    local = tmp_path / "models"
    shutil.copytree(models_dir, local)
    translator = Translator(Settings(models_dir=local, intra_threads=1))
    first = translator.model("de")
    install_model(str(build_tiny_model(tmp_path / "b", "de", seed=9)), local)
    assert translator.model("de") is not first


def test_device_choice(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Translator(Settings(models_dir=models_dir)).device() == ("cpu", "int8")
    monkeypatch.setattr(loading.ctranslate2, "get_cuda_device_count", lambda: 1)
    monkeypatch.setattr(loading.ctranslate2, "get_supported_compute_types", lambda d: {"int8_float16", "float16"})
    assert Translator(Settings(models_dir=models_dir)).device() == ("cuda", "int8_float16")
    forced = Settings(models_dir=models_dir, translate_device="cpu", translate_compute_type="float32")
    assert Translator(forced).device() == ("cpu", "float32")
    assert Translator(Settings(intra_threads=0, inter_threads=1)).threads()[1] >= 1


def test_get_translator_is_a_lazy_singleton(models_dir: Path) -> None:
    settings = Settings(models_dir=models_dir)
    one = get_translator(settings)
    assert get_translator(settings) is one and one.loaded_pairs() == []


# -- the real model -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_models(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    package = shared / "models" / "translate-zh_en-1_9.argosmodel"
    if not package.is_file():
        pytest.skip(f"{package} is missing")
    dest = tmp_path_factory.mktemp("real")
    copy = shutil.copy(package, dest / package.name)  # shared is read-only
    install_model(str(copy), dest / "models")
    return dest / "models"


@pytest.mark.shared
def test_real_chinese_translation(real_models: Path) -> None:
    translator = Translator(Settings(models_dir=real_models))
    docs = [
        ["北京是中国的首都。"],
        ["新华社北京11月27日电 国务院总理今天在人民大会堂会见了来访的德国总理。双方就两国关系交换了意见。", ""],
    ]
    out = translator.translate_documents("zh", docs, beam_size=2)
    assert "Beijing" in out[0][0] and "capital" in out[0][0]
    assert "German" in out[1][0] and out[1][1] == ""
    assert "\u2581" not in out[1][0]


def test_engine_failing_everything_fails_the_article(translator: Translator) -> None:
    echo(translator, "de")
    article = Article(
        url="https://example.de/b", site="example", country="de", language="de", title="BOOM",
        text="BOOM eins.", authors=[], published_at=None, fetched_at="2024-01-01T00:00:00+00:00",
    )
    with pytest.raises(TranslationFailed):
        translator.translate_article(article)
