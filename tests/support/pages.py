"""Small local news sites and pages that several test modules build on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from celery import Celery

from schemas.keys import raw_page_key
from schemas.messages import ExtractMessage, RawPage
from schemas.pipeline import EXTRACT, send
from transcrawl.localweb.newsweb import LocalArticle, LocalSite

WHEN = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

# A German article page with JSON-LD, a byline, navigation and a footer to leave out.
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


def article(slug: str, day: int = 0) -> LocalArticle:
    """An English article of twelve sentences, published ``day`` days after :data:`WHEN`."""
    text = " ".join(f"Sentence {i} of the story {slug} tells what happened in town." for i in range(12))
    html = (f"<!DOCTYPE html><html lang='en'><head><title>{slug}</title></head><body><article>"
            f"<h1>{slug}</h1><p>{text}</p></article></body></html>").encode()
    return LocalArticle(slug=slug, title=slug, html=html, published=WHEN + timedelta(days=day, minutes=len(slug)))


def site(site_id: str, count: int = 3, **kwargs: Any) -> LocalSite:
    """A British English site of ``count`` articles; ``kwargs`` go to :class:`LocalSite`."""
    return LocalSite(id=site_id, name=site_id, country="gb", language="en",
                     articles=[article(f"{site_id}-story-{i}", i) for i in range(count)], **kwargs)


ENGLISH_SENTENCE = ("the city council said on Monday that people in the state will vote on new laws "
                    "about housing and transport next spring after a long debate in the press")


def queue_raw_page(client: redis.Redis, celery: Celery, url: str) -> ExtractMessage:
    """An English raw page and its extract message, exactly as crawler/pipelines.py leaves them."""
    paragraphs = "".join(f"<p>{ENGLISH_SENTENCE.capitalize()}, paragraph {p} of {url}.</p>" for p in range(4))
    body = (f"<html lang='en'><head><title>{url}</title></head><body><article><h1>Story</h1>"
            f"{paragraphs}</article></body></html>").encode()
    page = RawPage(url=url, site="news", country="gb", site_language="en",
                   fetched_at="2026-11-27T09:00:00+00:00", status=200,
                   content_type="text/html; charset=utf-8", final_url=url)
    message = ExtractMessage(raw_key=raw_page_key(url), url=url, site=page.site)
    client.hset(message.raw_key, mapping=page.encode(body))  # type: ignore[arg-type]
    client.expire(message.raw_key, 3600)
    send(celery, EXTRACT, message.to_json())
    return message
