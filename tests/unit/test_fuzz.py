"""Hostile input for the two pure steps: extraction never crashes, translation keeps the shape.

Property: for any bytes or text, ``extract_article`` returns an article or raises ``BadPage``
(a ``PermanentError``), and ``translate_documents`` returns one string per paragraph given;
nothing else escapes, and every input finishes within the deadline.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from foundation.settings import Settings
from transcrawl.testing.tiny_model import build_tiny_model
from workers.errors import PermanentError
from workers.extraction import extract_article
from workers.extraction.result import Extracted
from workers.translate import Translator, install_model

FUZZ = settings(max_examples=120, deadline=timedelta(seconds=10),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

WORDS = ("die Zeitung berichtet heute über die Wahl in der Stadt und im Land the news of today "
         "said people will vote").split()
NASTY = ["\u202e", "\u202d", "\u200f", "\u200b", "\ufeff", "\x00", "\x07", "\x1b[31m", "\ud7ff",
         "\U0001f4a9", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\u0645\u0631\u062d\u0628\u0627",
         "\u05e9\u05dc\u05d5\u05dd", "\u0301\u0301\u0301", "\r\n", "\t", "&amp;", "&#0;", "&#x110000;",
         "]]>", "<!--", "-->", "<![CDATA[", "\\", "%s", "{}", "\ufffd"]

nasty_text = st.lists(st.one_of(st.sampled_from(WORDS), st.sampled_from(NASTY), st.text(max_size=20)),
                      max_size=60).map(" ".join)


@st.composite
def hostile_html(draw: st.DrawFn) -> bytes | str:
    kind = draw(st.sampled_from(["bytes", "nested", "attribute", "charset", "wall", "soup", "text"]))
    words = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=30, max_size=80)))
    if kind == "bytes":
        return draw(st.binary(max_size=4000))
    if kind == "nested":
        depth = draw(st.integers(100, 3000))
        tag = draw(st.sampled_from(["div", "p", "span", "table", "b", "article", "x-y"]))
        return f"<html><body>{f'<{tag}>' * depth}{words}{f'</{tag}>' * draw(st.integers(0, depth))}"
    if kind == "attribute":
        size = draw(st.integers(1000, 200_000))
        quotes = '"' * 50
        return f"<html><body><p title='{'A' * size}' data-x=\"{quotes}\">{words}</p></body></html>"
    if kind == "charset":
        declared = draw(st.sampled_from(["utf-16", "utf-32", "shift_jis", "x-bogus", "utf-7", "", "cp1252"]))
        body = draw(st.sampled_from([words.encode("utf-8"), words.encode("latin-1", "replace"),
                                     words.encode("utf-16"), draw(st.binary(min_size=1, max_size=500))]))
        return f"<html><head><meta charset='{declared}'></head><body><p>".encode() + body + b"</p></body></html>"
    if kind == "wall":  # 50k characters without punctuation
        return f"<html><body><article><p>{' '.join(WORDS * 2500)[:50_000]}</p></article></body></html>"
    if kind == "soup":
        parts = draw(st.lists(st.sampled_from(["<p>", "</p>", "<div", ">", "<script>", "</script>", "<!--",
                                               "<h1>", "</h1>", "<meta ", "content='", "<title>", "<", "&"]),
                              max_size=40))
        return "".join(p + draw(nasty_text) for p in parts) + words
    return draw(nasty_text) + words + draw(nasty_text)


@given(page=hostile_html(), content_type=st.sampled_from([None, "text/html", "text/html; charset=utf-16",
                                                          "text/html; charset=nonsense", "application/pdf",
                                                          "application/octet-stream"]),
       declared=st.sampled_from([None, "de", "en", "ar", "xx"]))
@FUZZ
def test_extraction_returns_an_article_or_bad_page(page: bytes | str, content_type: str | None,
                                                   declared: str | None) -> None:
    try:
        found = extract_article(page, "https://fuzz.test/a", declared_language=declared,
                                content_type=content_type)
    except PermanentError as exc:
        assert exc.reason and isinstance(exc.detail, str)
        event(f"failed: {exc.reason}")
        return
    event("extracted")
    assert isinstance(found, Extracted)
    assert isinstance(found.title, str) and isinstance(found.text, str) and found.text.strip()
    assert isinstance(found.language, str) and found.language


@pytest.fixture(scope="module")
def translator(tmp_path_factory: pytest.TempPathFactory) -> Translator:
    root: Path = tmp_path_factory.mktemp("fuzz-model")
    install_model(str(build_tiny_model(root / "build", "de")), root / "models", source_lang="de")
    return Translator(Settings.from_env(models_dir=root / "models", intra_threads=1, beam_size=1))


paragraph = st.one_of(nasty_text, st.just(""), st.just(" \n "), st.text(max_size=300),
                      st.just(" ".join(WORDS * 700)[:50_000]))  # 50k characters, no full stop


@given(documents=st.lists(st.lists(paragraph, max_size=6), max_size=4))
@FUZZ
def test_translation_keeps_every_paragraph(translator: Translator, documents: list[list[str]]) -> None:
    out = translator.translate_documents("de", documents)  # never raises: a failing sentence passes through
    assert [len(doc) for doc in out] == [len(doc) for doc in documents]
    assert all(isinstance(p, str) for doc in out for p in doc)
    for doc_in, doc_out in zip(documents, out, strict=True):
        for before, after in zip(doc_in, doc_out, strict=True):
            assert bool(after.strip()) or not before.strip() or not any(c.isalnum() for c in before)
