"""The grouping stage on real Postgres: stories across languages, copies, idempotence, concurrency."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from foundation.settings import Settings
from schemas.messages import Article, ArticleStatus
from workers import store
from tests.support.stories import ELECTION, HARBOUR, HARBOUR_MT
from workers.grouping.stories import group_article

WINDOW = dt.timedelta(hours=72)
T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)

def article(url: str, title: str, paragraphs: list[str], *, country: str, language: str = "en",
            at: dt.datetime = T0, english: bool = True, status: str | None = None) -> Article:
    text = "\n".join(paragraphs)
    return Article(
        url=url, site=f"{country}-site", country=country, language=language, title=title, text=text,
        title_en=title if english else None, text_en=text if english else None, authors=[],
        published_at=at.isoformat(), fetched_at=(at + dt.timedelta(minutes=5)).isoformat(),
        status=status or (ArticleStatus.ORIGINAL_ENGLISH if language == "en" else ArticleStatus.TRANSLATED),
    )


@pytest.fixture()
def conn(servers: Settings, clean_state: None) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(servers.database_url or "") as connection:
        yield connection


def stored_and_grouped(conn: psycopg.Connection[Any], *articles: Article) -> list[Any]:
    done = []
    for a in articles:
        store.upsert_article(conn, a)
        conn.commit()
        done.append(group_article(conn, a.url, window=WINDOW))
        conn.commit()
    return done


def test_one_story_across_languages_and_none_merged(conn: psycopg.Connection[Any]) -> None:
    english = article("https://de.example/hafen", "Hamburg dockers strike over pay", HARBOUR, country="de")
    chinese = dataclasses.replace(
        article("https://cn.example/gang", "Hamburg harbour workers strike for wages", HARBOUR_MT, country="cn",
                language="zh"), title="汉堡港工人罢工", text="\n".join(["汉堡港工人罢工。"] * 5))
    ghana = article("https://gh.example/vote", "Ghana votes for a new president", ELECTION, country="gh")
    first, second, third = stored_and_grouped(conn, english, chinese, ghana)
    assert first.opened and not second.opened and second.story_id == first.story_id
    assert third.opened and third.story_id != first.story_id
    story = conn.execute("SELECT title_en, article_count, countries, languages FROM stories WHERE id = %s",
                         (first.story_id,)).fetchone()
    assert story == ("Hamburg dockers strike over pay", 2, ["cn", "de"], ["en", "zh"])


def test_a_syndicated_copy_is_a_duplicate_of_the_first(conn: psycopg.Connection[Any]) -> None:
    wire = article("https://a.example/wire", "Ghana votes for a new president", ELECTION, country="gh")
    copy = article("https://b.example/copy", "Ghana votes for a new president - Daily Planet",
                   ["Advertisement", *ELECTION, "Read more: Africa news", "Share this story"], country="ng",
                   at=T0 + dt.timedelta(hours=2))
    other = article("https://c.example/hafen", "Hamburg dockers strike over pay", HARBOUR, country="de")
    first, second, third = stored_and_grouped(conn, wire, copy, other)
    rows = dict(conn.execute("SELECT url, duplicate_of FROM articles").fetchall())
    assert rows[copy.url] == first.article_id and rows[wire.url] is None and rows[other.url] is None
    assert second.story_id == first.story_id and third.story_id != first.story_id


def test_a_redelivered_message_changes_nothing(conn: psycopg.Connection[Any]) -> None:
    a = article("https://de.example/hafen", "Hamburg dockers strike over pay", HARBOUR, country="de")
    [first] = stored_and_grouped(conn, a)
    again = group_article(conn, a.url, window=WINDOW)
    conn.commit()
    assert again.unchanged and again.story_id == first.story_id
    assert conn.execute("SELECT count(*) FROM stories").fetchone() == (1,)


def test_outside_the_window_is_another_story(conn: psycopg.Connection[Any]) -> None:
    a = article("https://de.example/1", "Hamburg dockers strike over pay", HARBOUR, country="de")
    b = article("https://at.example/2", "Hamburg dockers strike over pay", HARBOUR, country="at",
                at=T0 + dt.timedelta(days=10))
    first, second = stored_and_grouped(conn, a, b)
    assert second.story_id != first.story_id and second.opened


def test_translated_later_moves_to_the_english_story(conn: psycopg.Connection[Any]) -> None:
    english = article("https://de.example/hafen", "Hamburg dockers strike over pay", HARBOUR, country="de")
    waiting = dataclasses.replace(
        article("https://cn.example/gang", "", HARBOUR_MT, country="cn", language="zh", english=False,
                status=ArticleStatus.UNTRANSLATED),
        title="汉堡港工人罢工", text="\n".join(f"第{i}段：汉堡港工人因工资问题罢工，集装箱运输停止。" for i in range(5)))
    first, alone = stored_and_grouped(conn, english, waiting)
    assert alone.story_id != first.story_id  # no English yet: grouped among Chinese only
    translated = dataclasses.replace(waiting, title_en="Hamburg harbour workers strike for wages",
                                     text_en="\n".join(HARBOUR_MT), status=ArticleStatus.TRANSLATED)
    [moved] = stored_and_grouped(conn, translated)
    assert moved.story_id == first.story_id
    assert conn.execute("SELECT count(*) FROM stories").fetchone() == (1,)  # the Chinese-only story is gone


def test_two_workers_at_once_open_one_story(servers: Settings, conn: psycopg.Connection[Any]) -> None:
    a = article("https://de.example/hafen", "Hamburg dockers strike over pay", HARBOUR, country="de")
    b = article("https://at.example/hafen", "Hamburg dockers strike over pay (APA)",
                [p.replace("Tuesday", "Tuesday morning") for p in HARBOUR], country="at")
    for x in (a, b):
        store.upsert_article(conn, x)
    conn.commit()
    results: list[Any] = []
    barrier = threading.Barrier(2)

    def worker(url: str) -> None:
        with psycopg.connect(servers.database_url or "") as own:
            barrier.wait()
            results.append(group_article(own, url, window=WINDOW))

    threads = [threading.Thread(target=worker, args=(u,)) for u in (a.url, b.url)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.story_id for r in results}) == 1 and sum(r.opened for r in results) == 1
    assert conn.execute("SELECT count(*), sum(article_count) FROM stories").fetchone() == (1, 2)
