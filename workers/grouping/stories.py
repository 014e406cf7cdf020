"""Stories: each article joins the story of the article it best matches around its time, or opens one.

Two articles tell one story when they are one report in two languages — their English terms
overlap (if weakly: machine translation garbles names) and their paragraphs have the same shape
(a translation keeps it) — or when two reports
say nearly the same thing (their terms alone overlap strongly). Candidates come from the heaviest
terms of the articles stored within the window, by one index lookup; the match is scored in
Python against each candidate's stored terms and shape.

One grouping is one transaction under one advisory lock, so two workers grouping two articles of
a new story cannot both open it: the second sees the first's. It is incremental (nothing past is
re-clustered), deterministic for a given order of arrival (ties go to the older story), and
idempotent (a redelivered message finds the article grouped and changes nothing). An article with
no English yet is grouped on its original text, among its own language; when its translation is
stored it leaves that story and is grouped again on the English. All state is in Postgres
(``grouping_*`` tables): a worker holds nothing between articles.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import orjson
import psycopg

from workers.errors import NotStored
from workers.grouping import copies, features

LOCK = 0x7472616E73  # pg_advisory_xact_lock key of the grouping stage
READABLE = ("translated", "original_english")
STRUCTURE_WEIGHT = 0.8  # how much a matching paragraph shape adds to the terms' cosine
SAME_STORY = 0.8  # cosine + STRUCTURE_WEIGHT × shape at or above which two articles are one story
SAME_REPORT = 0.75  # cosine alone at or above which two reports are one story, whatever their shape
# Below this cosine the shape counts for nothing: unrelated articles (cosine ~0.01) reached 0.76 on
# shape alone, the weakest translation pair of the bench has 0.19.
MIN_COSINE = 0.1
CANDIDATES = 50  # articles scored per grouping, the best by shared heavy terms
PRUNE_EVERY = 500  # articles between two prunes of the matching state
KEEP_PAST_WINDOW = dt.timedelta(days=14)  # matching state kept this long past the window (late backfills)


@dataclasses.dataclass(frozen=True)
class Grouped:
    """What grouping did with one article."""

    article_id: int
    story_id: int | None
    duplicate_of: int | None = None
    opened: bool = False
    score: float = 0.0
    unchanged: bool = False


def score(terms: dict[str, float], shape: list[float], other_terms: dict[str, float],
          other_shape: list[float]) -> float:
    """How surely two articles tell one story; 0 below both thresholds."""
    cosine = features.cosine(terms, other_terms)
    if cosine < MIN_COSINE:
        return 0.0  # no shape makes one story of two articles with nothing to say in common
    combined = cosine + STRUCTURE_WEIGHT * features.structure(shape, other_shape)
    return combined if combined >= SAME_STORY or cosine >= SAME_REPORT else 0.0


def group_article(conn: psycopg.Connection[Any], url: str, *, window: dt.timedelta) -> Grouped:
    """Group the stored article at ``url``; the caller commits (one transaction).

    Three round trips to Postgres: lock and read; both candidate lookups; the writes.
    """
    with conn.pipeline():  # the read still comes after the lock
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK,))
        row = conn.execute(
            "SELECT a.id, a.language, a.status, a.title, a.text, a.title_en, a.text_en, a.listed_at, a.story_id,"
            " g.on_english FROM articles a LEFT JOIN grouping_articles g ON g.article_id = a.id WHERE a.url = %s",
            (url,)).fetchone()
    if row is None:
        raise NotStored(f"no stored article at {url} to group")
    article_id, language, status, title, text, title_en, text_en, listed_at, story_id, before = row
    english = status in READABLE and bool(title_en or text_en)
    if before is not None and (before or not english):
        return Grouped(article_id, story_id, unchanged=True)  # a redelivery, or nothing new to use
    if before is not None:  # grouped on its original; now it has English: group it again
        _detach(conn, article_id, story_id)

    if english:
        terms, shape = features.describe(title_en or "", text_en or "", "en"), features.profile(title_en or "", text_en or "")
    else:
        terms, shape = features.describe(title, text, language), features.profile(title, text)
    sig = copies.signature(text)
    bands = copies.bands(sig) if sig is not None else None
    span = (listed_at - window, listed_at + window)
    with conn.pipeline():  # asked together: the matches are wasted only on a copy (one in ten)
        copy_rows = _copy_candidates(conn, article_id, bands, span) if bands is not None else None
        match_rows = _match_candidates(conn, article_id, terms, span)
    original = _copy_of(sig, copy_rows.fetchall()) if copy_rows is not None else None
    best: tuple[float, int] | None = None
    target: int | None = None  # the story it joins; None: it opens one
    if original is not None and original[1] is not None:  # a copy joins its original's story
        target, best = original[1], (1.0, original[1])
    else:
        best = _best_match(terms, shape, match_rows.fetchall()) if match_rows is not None else None
        target = best[1] if best is not None else None
    title_now = (title_en if english else None) or title
    duplicate_of = original[0] if original else None
    with conn.pipeline():  # the writes: sent together, one round trip
        if target is None:  # no match: it opens a story of its own
            placed = conn.execute(
                "WITH s AS (INSERT INTO stories (title_en, first_seen, last_seen, article_count, countries, languages)"
                " VALUES (%s, %s, %s, 0, '{}', '{}') RETURNING id)"
                " UPDATE articles SET story_id = (SELECT id FROM s), duplicate_of = %s, updated_at = now()"
                " WHERE id = %s RETURNING story_id", (title_now, listed_at, listed_at, duplicate_of, article_id))
        else:
            placed = conn.execute("UPDATE articles SET story_id = %s, duplicate_of = %s, updated_at = now()"
                                  " WHERE id = %s RETURNING story_id", (target, duplicate_of, article_id))
        _remember(conn, article_id, listed_at, english, terms, shape, sig, bands, copy=original is not None)
        _joined(conn, listed_at, title_now, english, article_id)
    placed_row = placed.fetchone()
    assert placed_row is not None
    if article_id % PRUNE_EVERY == 0:
        prune(conn, listed_at - window - KEEP_PAST_WINDOW)
    return Grouped(article_id, int(placed_row[0]), duplicate_of, target is None, round(best[0], 4) if best else 0.0)


def _match_candidates(conn: psycopg.Connection[Any], article_id: int, terms: dict[str, float],
                      span: tuple[dt.datetime, dt.datetime]) -> psycopg.Cursor[Any] | None:
    """The grouped articles within the window sharing the most heavy terms (None: no terms to share)."""
    posted = dict(list(terms.items())[:features.POSTED_TERMS])
    if not posted:
        return None
    # Each posted term is one index lookup (LATERAL, and OFFSET 0 keeps the planner from flattening
    # it into a scan: on tables it last counted small it scanned every article in the window);
    # only the best few bring their terms (as text: orjson reads it in half json's time).
    return conn.execute(
        "SELECT g.article_id, g.terms::text, g.profile, a.story_id FROM"
        " (SELECT p.article_id, sum(p.weight * q.w) AS shared FROM unnest(%s::text[], %s::float8[]) AS q(term, w)"
        "  CROSS JOIN LATERAL (SELECT article_id, weight FROM grouping_postings WHERE term = q.term OFFSET 0) p"
        "  WHERE p.article_id <> %s GROUP BY p.article_id) c"
        " JOIN grouping_articles g USING (article_id) JOIN articles a ON a.id = g.article_id"
        " WHERE g.listed_at BETWEEN %s AND %s AND a.story_id IS NOT NULL"
        " ORDER BY c.shared DESC, g.article_id LIMIT %s",
        (list(posted), list(posted.values()), article_id, *span, CANDIDATES))


def _best_match(terms: dict[str, float], shape: list[float], candidates: list[Any]) -> tuple[float, int] | None:
    """(score, story) of the best-matching candidate, if any matches; ties go to the older story."""
    best: tuple[float, int] | None = None
    for _, other_terms, other_shape, other_story in candidates:
        found = score(terms, shape, orjson.loads(other_terms), list(other_shape))
        if found and (best is None or (found, -other_story) > (best[0], -best[1])):
            best = (found, other_story)
    return best


def _copy_candidates(conn: psycopg.Connection[Any], article_id: int, bands: list[int],
                     span: tuple[dt.datetime, dt.datetime]) -> psycopg.Cursor[Any]:
    """The originals within the window that share an LSH band with this text."""
    return conn.execute(
        "SELECT g.article_id, g.signature, a.story_id FROM"
        " (SELECT DISTINCT b.article_id FROM unnest(%s::bigint[]) WITH ORDINALITY AS u(h, n)"
        "  CROSS JOIN LATERAL (SELECT article_id FROM grouping_bands"
        "   WHERE band = (u.n - 1)::smallint AND hash = u.h OFFSET 0) b) c"  # one index lookup a band
        " JOIN grouping_articles g USING (article_id) JOIN articles a ON a.id = g.article_id"
        " WHERE g.article_id <> %s AND g.signature IS NOT NULL AND g.listed_at BETWEEN %s AND %s"
        # Copies point at their original: comparing with originals is enough, and a text on 500
        # sites costs one comparison, not 500.
        " AND a.duplicate_of IS NULL ORDER BY g.article_id LIMIT %s",
        (_ints(bands), article_id, *span, CANDIDATES))


def _copy_of(sig: Any, candidates: list[Any]) -> tuple[int, int | None] | None:
    """(the original's id, its story) when this text copies a candidate's, else None."""
    best: tuple[float, int, int | None] | None = None  # (estimated Jaccard, the original's id, its story)
    for other_id, other_sig, other_story in candidates:
        similarity = copies.jaccard(sig, other_sig)
        if similarity >= copies.COPY_JACCARD and (best is None or similarity > best[0]):
            best = (similarity, other_id, other_story)  # an original: never a copy of a copy
    return (best[1], best[2]) if best is not None else None


def _remember(conn: psycopg.Connection[Any], article_id: int, listed_at: dt.datetime, english: bool,
              terms: dict[str, float], shape: list[float], sig: Any, bands: list[int] | None, *,
              copy: bool) -> None:
    """Store what later articles are matched against; a copy adds no postings or bands (its
    original already stands for its text)."""
    conn.execute(
        "INSERT INTO grouping_articles (article_id, listed_at, on_english, terms, profile, signature)"
        " VALUES (%s, %s, %s, %s, %s, %s::bigint[]) ON CONFLICT (article_id) DO UPDATE SET on_english = EXCLUDED.on_english,"
        " terms = EXCLUDED.terms, profile = EXCLUDED.profile, signature = EXCLUDED.signature, grouped_at = now()",
        (article_id, listed_at, english, orjson.dumps(terms).decode(), shape,
         _ints(sig.tolist()) if sig is not None else None))
    if copy:
        return
    posted = list(terms.items())[:features.POSTED_TERMS]
    conn.execute("INSERT INTO grouping_postings (term, article_id, weight)"
                 " SELECT t, %s, w FROM unnest(%s::text[], %s::float8[]) AS q(t, w) ON CONFLICT DO NOTHING",
                 (article_id, [t for t, _ in posted], [w for _, w in posted]))
    if bands is not None:
        conn.execute("INSERT INTO grouping_bands (band, hash, article_id)"
                     " SELECT b - 1, h, %s FROM unnest(%s::bigint[]) WITH ORDINALITY AS u(h, b) ON CONFLICT DO NOTHING",
                     (article_id, _ints(bands)))


def _ints(values: list[int]) -> str:
    """A Postgres array literal of integers: psycopg dumps a list element by element (78 µs for a
    signature of 128)."""
    return "{" + ",".join(map(str, values)) + "}"


def _joined(conn: psycopg.Connection[Any], listed_at: dt.datetime, title: str, english: bool,
            article_id: int) -> None:
    """One more article in its story (the one just set on it): counts updated in place (a big story
    costs no more)."""
    conn.execute(
        "UPDATE stories s SET article_count = s.article_count + 1,"
        " first_seen = least(s.first_seen, %(at)s), last_seen = greatest(s.last_seen, %(at)s),"
        " countries = (SELECT array_agg(DISTINCT c ORDER BY c) FROM unnest(s.countries || a.country) c),"
        " languages = (SELECT array_agg(DISTINCT l ORDER BY l) FROM unnest(s.languages || a.language) l),"
        # The title: the earliest article with English (an original's title until one comes).
        " title_en = CASE WHEN %(english)s AND (NOT s.titled_in_english OR %(at)s < s.first_seen)"
        "   OR s.article_count = 0 THEN %(title)s ELSE s.title_en END,"
        " titled_in_english = s.titled_in_english OR %(english)s, updated_at = now()"
        " FROM articles a WHERE s.id = a.story_id AND a.id = %(a)s",
        {"at": listed_at, "title": title, "english": english, "a": article_id})


def _detach(conn: psycopg.Connection[Any], article_id: int, story_id: int | None) -> None:
    """Take an article out of its story (to group it again), dropping the story if it empties."""
    conn.execute("UPDATE articles SET story_id = NULL, duplicate_of = NULL WHERE id = %s", (article_id,))
    conn.execute("DELETE FROM grouping_postings WHERE article_id = %s", (article_id,))
    if story_id is not None:
        _refresh(conn, story_id)


def prune(conn: psycopg.Connection[Any], before: dt.datetime) -> int:
    """Drop the candidate lookups of articles listed before ``before``: Postgres stays bounded.

    Their ``grouping_articles`` rows stay (small, and they keep a redelivery idempotent).
    """
    cursor = conn.execute("DELETE FROM grouping_postings p USING grouping_articles g"
                          " WHERE g.article_id = p.article_id AND g.listed_at < %s", (before,))
    conn.execute("DELETE FROM grouping_bands b USING grouping_articles g"
                 " WHERE g.article_id = b.article_id AND g.listed_at < %s", (before,))
    return cursor.rowcount


def _refresh(conn: psycopg.Connection[Any], story_id: int) -> None:
    """A story's counts, countries, languages, time span and title, recomputed from its articles
    (after one left it)."""
    conn.execute(
        "WITH m AS (SELECT count(*) AS n, min(listed_at) AS first, max(listed_at) AS last,"
        "  array_agg(DISTINCT country ORDER BY country) AS countries,"
        "  array_agg(DISTINCT language ORDER BY language) AS languages,"
        "  (array_agg(coalesce(title_en, title) ORDER BY (title_en IS NULL), listed_at, id))[1] AS title,"
        "  bool_or(title_en IS NOT NULL) AS english"
        "  FROM articles WHERE story_id = %(s)s)"
        " UPDATE stories SET article_count = m.n, first_seen = coalesce(m.first, first_seen),"
        "  last_seen = coalesce(m.last, last_seen), countries = coalesce(m.countries, '{}'),"
        "  languages = coalesce(m.languages, '{}'), title_en = coalesce(m.title, title_en),"
        "  titled_in_english = coalesce(m.english, false), updated_at = now()"
        " FROM m WHERE stories.id = %(s)s", {"s": story_id})
    conn.execute("DELETE FROM stories WHERE id = %s AND article_count = 0", (story_id,))
