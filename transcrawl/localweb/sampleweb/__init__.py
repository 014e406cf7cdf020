"""Bundled fictional news sites for ``transcrawl demo``: one JSON file per site, rendered to full HTML pages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from html import escape
from importlib import resources
from typing import Any

from transcrawl.localweb.newsweb import ORIGIN_PLACEHOLDER, LocalArticle, LocalSite

_ORIGIN = ORIGIN_PLACEHOLDER.decode()


def sample_data() -> list[dict[str, Any]]:
    """The raw site documents (what the pages are rendered from), sorted by site id.

    Each article holds ``slug, section, title, summary, author, published, paragraphs``: the ground truth
    an extractor should recover from the rendered page.
    """
    folder = resources.files(__name__)
    documents = [
        json.loads(f.read_text(encoding="utf-8")) for f in folder.iterdir() if f.name.endswith(".json")
    ]
    return sorted(documents, key=lambda d: d["id"])


def sample_sites() -> list[LocalSite]:
    """Fresh :class:`LocalSite` objects for every bundled site (safe to mutate)."""
    return [site_from_document(document) for document in sample_data()]


def site_from_document(document: dict[str, Any]) -> LocalSite:
    stories = sorted(document["articles"], key=lambda s: s["published"], reverse=True)
    articles = [render_article(document, story, stories) for story in stories]
    return LocalSite(
        id=document["id"],
        name=document["name"],
        country=document["country"],
        language=document["language"],
        articles=articles,
    )


def render_article(
    site: dict[str, Any], story: dict[str, Any], siblings: Sequence[dict[str, Any]] = ()
) -> LocalArticle:
    """Render one story of a site document into a :class:`LocalArticle` (a full HTML5 page).

    ``siblings`` (the site's other stories) feed the inline promo and the "most read" box.
    """
    published = datetime.fromisoformat(story["published"])
    if published.tzinfo is None:
        raise ValueError(f"{site['id']}/{story['slug']}: published needs a time zone")
    article = LocalArticle(
        slug=story["slug"],
        title=story["title"],
        html=b"",
        published=published,
        section=story.get("section", "news"),
        summary=story.get("summary", ""),
    )
    others = [s for s in siblings if s["slug"] != story["slug"]]
    article.html = _page(site, story, article, others).encode("utf-8")
    return article


def _path(story: dict[str, Any]) -> str:
    return f"/{datetime.fromisoformat(story['published']):%Y/%m/%d}/{story['slug']}.html"


def _json_ld(site: dict[str, Any], story: dict[str, Any], url: str) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": story["title"],
        "description": story.get("summary", ""),
        "datePublished": story["published"],
        "dateModified": story.get("modified", story["published"]),
        "inLanguage": site["language"],
        "articleSection": story.get("section", "news"),
        "author": [{"@type": "Person", "name": story["author"]}],
        "publisher": {"@type": "NewsMediaOrganization", "name": site["name"], "url": _ORIGIN + "/"},
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
    }
    return json.dumps(data, ensure_ascii=False, indent=1).replace("</", "<\\/")


def _page(site: dict[str, Any], story: dict[str, Any], article: LocalArticle, others: list[dict[str, Any]]) -> str:
    """The whole page: the story wrapped in the boilerplate real sites carry (banner, nav, promos, footer)."""
    labels = site["labels"]
    url = _ORIGIN + article.path()
    title, summary, name = escape(story["title"]), escape(story.get("summary", "")), escape(site["name"])
    section_label = escape(site["sections"].get(article.section, article.section))
    when = article.published.strftime(site["date_format"])
    paragraphs = [f"<p>{escape(p)}</p>" for p in story["paragraphs"]]
    if others:  # an inline promo inside the article body, as real sites do
        also = escape(labels["also_read"])
        promo = f'<aside class="inline-promo"><strong>{also}</strong> {_a(others[0])}</aside>'
        paragraphs.insert(min(2, len(paragraphs)), promo)
    nav = "".join(f'<li><a href="/tag/{escape(k)}">{escape(v)}</a></li>' for k, v in site["sections"].items())
    most_read = "".join(f"<li>{_a(o)}</li>" for o in others[:3])
    body = "\n    ".join(paragraphs)
    return f"""<!DOCTYPE html>
<html lang="{site['html_lang']}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} | {name}</title>
  <meta name="description" content="{summary}">
  <meta name="author" content="{escape(story['author'])}">
  <link rel="canonical" href="{url}">
  <meta property="og:type" content="article">
  <meta property="og:site_name" content="{name}">
  <meta property="og:title" content="{title}">
  <meta property="og:description" content="{summary}">
  <meta property="og:url" content="{url}">
  <meta property="og:image" content="{_ORIGIN}/media/{escape(story['slug'])}-1600.png">
  <meta property="og:locale" content="{site['og_locale']}">
  <meta property="article:published_time" content="{story['published']}">
  <meta property="article:section" content="{section_label}">
  <script type="application/ld+json">
{_json_ld(site, story, url)}
  </script>
  <link rel="alternate" type="application/rss+xml" title="{name}" href="/feed.xml">
</head>
<body>
  <div class="cookie-banner" role="dialog"><p>{escape(labels['cookie'])}</p><button>OK</button></div>
  <header class="site-header">
    <a class="logo" href="/">{name}</a>
    <p class="tagline">{escape(site['tagline'])}</p>
    <nav class="main-nav"><ul><li><a href="/">{escape(labels['home'])}</a></li>{nav}</ul></nav>
    <form class="search" action="/search" role="search"><input name="q" placeholder="{escape(labels['search'])}"></form>
  </header>
  <div class="breadcrumbs"><a href="/">{escape(labels['home'])}</a> › <a href="/tag/{escape(article.section)}">{section_label}</a></div>
  <main>
  <article class="story">
    <header>
      <p class="kicker">{section_label}</p>
      <h1>{title}</h1>
      <p class="byline">{escape(labels['by'])} <span class="author" rel="author">{escape(story['author'])}</span>
        · <time datetime="{story['published']}">{escape(when)}</time></p>
    </header>
    <figure class="lead-image">
      <img src="{_ORIGIN}/media/{escape(story['slug'])}-800.png" width="800" height="450" alt="{title}"
           srcset="{_ORIGIN}/media/{escape(story['slug'])}-800.png 800w, {_ORIGIN}/media/{escape(story['slug'])}-1600.png 1600w">
      <figcaption>{section_label}: {title} <span class="credit">{escape(labels['photo'])}: {name}</span></figcaption>
    </figure>
    {body}
    <div class="share">{escape(labels['share'])}: <a href="#">Facebook</a> <a href="#">X</a> <a href="#">E-Mail</a></div>
  </article>
  <aside class="most-read"><h2>{escape(labels['most_read'])}</h2><ol>{most_read}</ol></aside>
  <section class="newsletter"><h2>{escape(labels['newsletter_title'])}</h2><p>{escape(labels['newsletter'])}</p></section>
  </main>
  <footer class="site-footer">
    <p><a href="/about.html">{escape(labels['about'])}</a> · <a href="/private/secret.html">{escape(labels['staff'])}</a></p>
    <p>{escape(labels['footer'])}</p>
  </footer>
</body>
</html>
"""


def _a(story: dict[str, Any]) -> str:
    return f'<a href="{_path(story)}">{escape(story["title"])}</a>'
