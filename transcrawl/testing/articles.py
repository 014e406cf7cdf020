"""Generated articles for the read API's tests and bench/serve.py: real rows, any number, fast.

Rows are spread over the registry's sites (so every country has some), over the last ``days``
days, mostly translated, with English titles and text made from a fixed vocabulary so that
full-text queries match a predictable share of them. Written with COPY: 100,000 rows in seconds.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

import psycopg

from crawler import registry
from workers.store import sync_sites

TOPICS = ("election", "parliament", "economy", "inflation", "football", "climate", "flood", "hospital",
          "school", "railway", "harbour", "budget", "court", "energy", "festival", "drought")
WORDS = ("the", "city", "minister", "said", "on", "new", "report", "after", "talks", "over", "plan",
         "local", "people", "week", "government", "region", "police", "market", "prices", "workers")
COLUMNS = ("url", "site", "country", "language", "title", "text", "title_en", "text_en", "authors",
           "published_at", "fetched_at", "translated_at", "translation_model", "status",
           "image_url", "description", "description_en")


def _sentence(rng: random.Random, topic: str) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
    words.insert(rng.randrange(len(words)), topic)
    return " ".join(words).capitalize() + "."


def generate(conn: psycopg.Connection[Any], count: int, *, seed: int = 1, days: int = 30,
             now: dt.datetime | None = None, sites: Sequence[registry.Site] | None = None) -> int:
    """Insert ``count`` articles (and the registry's sites); returns how many rows were written."""
    rng = random.Random(seed)
    now = now or dt.datetime.now(dt.UTC)
    chosen = list(sites or registry.load())
    sync_sites(conn, chosen)
    with conn.cursor() as cur, cur.copy(f"COPY articles ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for i in range(count):
            site = chosen[i % len(chosen)]
            topic = rng.choice(TOPICS)
            published = now - dt.timedelta(seconds=rng.uniform(0, days * 86400))
            english = site.language == "en"
            title_en = f"{topic.capitalize()}: {_sentence(rng, topic)}"
            text_en = "\n".join(_sentence(rng, topic) for _ in range(rng.randint(3, 8)))
            status = "original_english" if english else rng.choices(
                ["translated", "untranslated", "pending"], [90, 5, 5])[0]
            has_english = status in ("translated", "original_english")
            copy.write_row((
                f"https://{site.id}.example/{seed}/{i}", site.id, site.country, site.language,
                title_en if english else f"[{site.language}] {title_en}",
                text_en if english else f"[{site.language}] {text_en}",
                title_en if has_english else None, text_en if has_english else None,
                [f"Reporter {i % 97}"], published, published + dt.timedelta(minutes=5),
                published + dt.timedelta(minutes=6) if status == "translated" else None,
                "opus-mt-test" if status == "translated" else None, status,
                f"https://{site.id}.example/img/{i}.jpg" if i % 3 else None,
                f"About the {topic}.", f"About the {topic}." if has_english else None,
            ))
    conn.commit()
    return count
