"""The ``transcrawl`` command as a user runs it: extract, translate, models, backfill, demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from foundation.settings import Settings
from schemas.messages import Article, ArticleStatus
from tests.support.processes import run_cli, wait_until
from transcrawl.testing.tiny_model import build_tiny_model
from workers import store


@pytest.mark.slow
def test_backfill_translates_once_a_model_is_installed(settings: Settings, clean_state: None,
                                                       worker_factory: Any, tmp_path: Path) -> None:
    waiting = Article(url="http://n.example/a.html", site="n", country="de", language="de",
                      title="Guten Morgen", text="Die Stadt feiert.\nAlle kommen.", authors=[],
                      published_at=None, fetched_at="2026-11-27T12:00:00+00:00",
                      status=ArticleStatus.UNTRANSLATED, status_reason="no model installed for de→en")
    with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        store.upsert_article(conn, waiting)
    done = run_cli(settings, "translate", "--backfill")
    assert "queued 0" in done.stdout and "1 still without a model" in done.stdout
    folder = build_tiny_model(tmp_path / "tiny-de", "de")
    assert run_cli(settings, "models", "install", str(folder), "--source-lang", "de").returncode == 0
    done = run_cli(settings, "translate", "--backfill")
    assert "queued 1" in done.stdout, done.stdout + done.stderr
    worker = worker_factory(settings, queues="translate,store", concurrency=1)

    def translated() -> bool:
        with psycopg.connect(settings.database_url or "") as conn:
            row = store.load_article(conn, waiting.url)
        return row is not None and row.status == ArticleStatus.TRANSLATED

    assert wait_until(translated, timeout=120), worker.tail()
    with psycopg.connect(settings.database_url or "") as conn:
        row = store.load_article(conn, waiting.url)
    assert row is not None and row.text_en and len(row.text_en.split("\n")) == 2
    pairs = zip(row.text_en.split("\n"), waiting.text.split("\n"), strict=True)
    assert all(english != german for english, german in pairs), row.text_en  # translated, not handed back


@pytest.mark.slow
@pytest.mark.shared
def test_demo_json_ends_with_english_translations(settings: Settings, shared: Path, clean_state: None) -> None:
    env_settings = Settings.from_env(database_url=settings.database_url, redis_url=settings.redis_url,
                                     home=settings.home, models_dir=settings.models_dir)
    done = run_cli(env_settings, "demo", "--json", timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["sites"] >= 4 and len(summary["by_language"]) >= 3
    assert summary["pages_fetched"] == summary["articles_stored"] == 13
    assert summary["articles_translated"] == summary["by_language"]["zh"] == 4
    assert summary["failures"] == 0
    assert summary["reader"]["url"].startswith("http://127.0.0.1:")  # where the reader page was
    assert summary["reader"]["articles_listed"] == summary["articles_stored"] - summary["by_status"].get(
        "untranslated", 0) - summary["by_status"].get("pending", 0)
    with psycopg.connect(settings.database_url or "") as conn:
        rows = conn.execute("SELECT title_en, text_en, status_reason, status FROM articles"
                            " WHERE language <> 'en'").fetchall()
    english = [r for r in rows if r[3] == "translated"]
    assert all(" the " in r[1] and r[0] for r in english)
    assert all("no model installed" in (r[2] or "") for r in rows if r[3] == "untranslated")
