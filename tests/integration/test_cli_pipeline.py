"""The ``transcrawl`` command as a user runs it: extract, translate, models, backfill, demo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from foundation.servers import child_env
from foundation.settings import Settings
from schemas.messages import Article, ArticleStatus
from tests.conftest import wait_until
from tests.support.tiny_model import build_tiny_model
from workers import store

PAGE = """<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">
<title>Neue Brücke über den Fluss eröffnet | Talbacher Rundschau</title>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
"headline": "Neue Brücke über den Fluss eröffnet", "datePublished": "2026-11-20T08:30:00+01:00",
"author": {"@type": "Person", "name": "Petra Lindner"}}</script></head>
<body><nav><a href="/">Start</a> <a href="/lokales">Lokales</a></nav><article>
<h1>Neue Brücke über den Fluss eröffnet</h1><p class="byline">Von Petra Lindner</p>
<p>Nach zwei Jahren Bauzeit ist die neue Brücke über den Talbach am Freitagmorgen für den Verkehr
freigegeben worden. Hunderte Menschen kamen zur Eröffnung und feierten mit Musik und Kuchen.</p>
<p>Die Brücke verbindet die Altstadt mit dem neuen Wohngebiet am Sonnenhang. Radfahrer und
Fußgänger haben eigene Spuren, und die Buslinie sieben fährt künftig alle zehn Minuten.</p>
<p>Der Bürgermeister dankte den Bauarbeitern und sagte, die Stadt habe lange auf diesen Tag
gewartet. Die Kosten blieben nach Angaben der Verwaltung im geplanten Rahmen.</p>
</article><footer>© Talbacher Rundschau · Impressum · Datenschutz</footer></body></html>"""


def transcrawl(settings: Settings, *args: str, stdin: str = "", timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "transcrawl.cli", *args], input=stdin, text=True,
                          capture_output=True, env=child_env(settings), timeout=timeout)


@pytest.fixture()
def offline_settings(tmp_path: Path) -> Settings:
    return Settings.from_env(home=tmp_path / "home", models_dir=tmp_path / "models")


@pytest.mark.slow
def test_backfill_translates_once_a_model_is_installed(settings: Settings, clean_state: None,
                                                       worker_factory: Any, tmp_path: Path) -> None:
    waiting = Article(url="http://n.example/a.html", site="n", country="de", language="de",
                      title="Guten Morgen", text="Die Stadt feiert.\nAlle kommen.", authors=[],
                      published_at=None, fetched_at="2026-11-27T12:00:00+00:00",
                      status=ArticleStatus.UNTRANSLATED, status_reason="no model installed for de→en")
    with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        store.upsert_article(conn, waiting)
    done = transcrawl(settings, "translate", "--backfill")
    assert "queued 0" in done.stdout and "1 still without a model" in done.stdout
    folder = build_tiny_model(tmp_path / "tiny-de", "de")
    assert transcrawl(settings, "models", "install", str(folder), "--source-lang", "de").returncode == 0
    done = transcrawl(settings, "translate", "--backfill")
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


@pytest.mark.slow
@pytest.mark.shared
def test_demo_json_ends_with_english_translations(settings: Settings, shared: Path, clean_state: None) -> None:
    env_settings = Settings.from_env(database_url=settings.database_url, redis_url=settings.redis_url,
                                     home=settings.home, models_dir=settings.models_dir)
    done = transcrawl(env_settings, "demo", "--json", timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["sites"] >= 4 and len(summary["by_language"]) >= 3
    assert summary["pages_fetched"] == summary["articles_stored"] == 13
    assert summary["articles_translated"] == summary["by_language"]["zh"] == 4
    assert summary["failures"] == 0
    with psycopg.connect(settings.database_url or "") as conn:
        rows = conn.execute("SELECT title_en, text_en, status_reason, status FROM articles"
                            " WHERE language <> 'en'").fetchall()
    english = [r for r in rows if r[3] == "translated"]
    assert all(" the " in r[1] and r[0] for r in english)
    assert all("no model installed" in (r[2] or "") for r in rows if r[3] == "untranslated")
