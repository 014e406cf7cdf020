"""Postgres: migrations apply once, article writes are idempotent upserts, failures are recorded."""

from __future__ import annotations

import psycopg
import pytest

from foundation.settings import Settings
from schemas.messages import Article, ArticleStatus, FailureMessage
from schemas.migrate import available, migrate
from workers import store


def article(**changes: object) -> Article:
    base = Article(url="https://n.example/a.html", site="n", country="de", language="de",
                   title="Titel", text="Absatz eins.\nAbsatz zwei.", authors=["Anna Beispiel"],
                   published_at="2026-11-27T10:00:00+01:00", fetched_at="2026-11-27T12:00:00+00:00",
                   status=ArticleStatus.UNTRANSLATED, status_reason="no model for de→en")
    for key, value in changes.items():
        setattr(base, key, value)
    return base


@pytest.fixture()
def conn(servers: Settings, clean_state: None) -> psycopg.Connection:
    with psycopg.connect(servers.database_url or "", autocommit=True) as connection:
        yield connection


def test_migrations_are_applied_once(servers: Settings) -> None:
    assert migrate(servers.database_url or "") == []
    with psycopg.connect(servers.database_url or "") as c:
        versions = [r[0] for r in c.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [m.version for m in available()]


def test_redelivered_article_changes_nothing(conn: psycopg.Connection) -> None:
    assert store.upsert_article(conn, article()) is True
    first = conn.execute("SELECT updated_at FROM articles").fetchone()
    assert store.upsert_article(conn, article()) is False
    assert conn.execute("SELECT updated_at FROM articles").fetchone() == first
    assert conn.execute("SELECT count(*) FROM articles").fetchone() == (1,)


def test_image_and_standfirst_are_stored_and_read_back(conn: psycopg.Connection) -> None:
    given = article(image_url="https://n.example/img/cover-1200.jpg", image_caption="Der Hafen",
                    image_credit="Foto: dpa", description="Worum es geht.",
                    description_en="What it is about.")
    assert store.upsert_article(conn, given) is True
    loaded = store.load_article(conn, given.url)
    assert loaded is not None
    assert (loaded.image_url, loaded.image_caption, loaded.image_credit, loaded.description,
            loaded.description_en) == ("https://n.example/img/cover-1200.jpg", "Der Hafen", "Foto: dpa",
                                       "Worum es geht.", "What it is about.")
    assert store.upsert_article(conn, given) is False
    assert store.upsert_article(conn, article(**{**given.to_json(), "image_url": None})) is True


def test_translation_updates_the_same_row(conn: psycopg.Connection) -> None:
    store.upsert_article(conn, article())
    done = article(status=ArticleStatus.TRANSLATED, status_reason=None, title_en="Title",
                   text_en="Paragraph one.\nParagraph two.", translated_at="2026-11-27T12:05:00+00:00")
    assert store.upsert_article(conn, done) is True
    row = store.load_article(conn, done.url)
    assert row is not None and row.status == "translated" and row.title_en == "Title"
    assert row.published_at.startswith("2026-11-27T09:00:00")  # stored with its time zone, read in UTC
    assert conn.execute("SELECT count(*) FROM articles").fetchone() == (1,)


def test_failures_count_attempts_and_resolve_on_success(conn: psycopg.Connection) -> None:
    failure = FailureMessage(url="https://n.example/a.html", site="n", stage="extract",
                             reason="no_text", detail="thin page", payload={"raw_key": "k"})
    store.record_failure(conn, failure)
    store.record_failure(conn, failure)
    assert conn.execute("SELECT attempts, reason FROM failures").fetchone() == (2, "no_text")
    assert store.summary(conn)["failures"] == 1
    store.upsert_article(conn, article())
    assert store.summary(conn)["failures"] == 0


def test_sql_is_parameterised_against_hostile_values(conn: psycopg.Connection) -> None:
    hostile = "x'); DROP TABLE articles; --"
    store.upsert_article(conn, article(url="https://n.example/" + hostile, title=hostile))
    assert conn.execute("SELECT title FROM articles").fetchone() == (hostile,)
