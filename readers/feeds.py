"""Feeds of the latest articles in English: Atom (RFC 4287, written by feedgen) and JSON Feed 1.1."""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from typing import Any

from feedgen.feed import FeedGenerator

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


def _summary(row: dict[str, Any]) -> str:
    return str(row.get("description") or row.get("lead") or "")


def atom(*, title: str, feed_url: str, home_url: str, rows: Sequence[dict[str, Any]],
         article_url: Any) -> bytes:
    """An Atom feed: one entry per row (newest first); ``article_url(row)`` is the reader's page."""
    feed = FeedGenerator()
    feed.id(feed_url)
    feed.title(title)
    feed.author({"name": "Transcrawl"})
    feed.link(href=feed_url, rel="self", type="application/atom+xml")
    feed.link(href=home_url, rel="alternate", type="text/html")
    feed.language("en")
    feed.generator("Transcrawl")
    if rows:
        feed.updated(rows[0]["listed_at"])
    else:
        import datetime as dt

        feed.updated(dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
    for row in reversed(rows):  # feedgen prepends: add oldest first to list newest first
        entry = feed.add_entry()
        entry.id(row["url"])
        entry.title(row["title"] or row["url"])
        entry.link(href=article_url(row), rel="alternate", type="text/html")
        entry.link(href=row["url"], rel="via", type="text/html")
        if row.get("image_url"):
            kind = mimetypes.guess_type(row["image_url"])[0] or "image/jpeg"
            entry.link(href=row["image_url"], rel="enclosure", type=kind)
        entry.updated(row["listed_at"])
        if row.get("published_at"):
            entry.published(row["published_at"])
        for name in row.get("authors") or [row.get("site_name") or row["site"]]:
            entry.author({"name": name})
        if _summary(row):
            entry.summary(_summary(row))
    return bytes(feed.atom_str(pretty=True))


def json_feed(*, title: str, feed_url: str, home_url: str, rows: Sequence[dict[str, Any]],
              article_url: Any) -> dict[str, Any]:
    """A JSON Feed 1.1 document."""
    items = []
    for row in rows:
        item: dict[str, Any] = {
            "id": row["url"],
            "url": article_url(row),
            "external_url": row["url"],
            "title": row["title"] or row["url"],
            "content_text": _summary(row),
            "date_published": (row.get("published_at") or row["listed_at"]).isoformat(),
            "language": "en",
            "authors": [{"name": n} for n in (row.get("authors") or [row.get("site_name") or row["site"]])],
        }
        if row.get("image_url"):
            item["image"] = row["image_url"]
        if row.get("description"):
            item["summary"] = row["description"]
        items.append(item)
    return {"version": JSON_FEED_VERSION, "title": title, "home_page_url": home_url, "feed_url": feed_url,
            "language": "en", "items": items}
