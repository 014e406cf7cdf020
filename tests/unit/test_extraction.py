"""Extraction step: field precedence, cleaning, every BadPage reason, hostile input, corpus quality."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import pytest

from tests.support.shared import REPO, shared_path
from workers.errors import BadPage
from workers.extraction import MAX_HTML_BYTES, Extracted, extract_article, extract_file
from workers.extraction.fields import (
    clean_authors,
    parse_date,
    site_keys,
    strip_site_name,
)
from workers.extraction.language import detect_language

ROOT = REPO
SHARED = shared_path() or REPO.parent / "shared"  # when absent, the corpus tests skip naming it
CORPUS = SHARED / "corpus" / "news"
URL = "https://www.example-times.com/world/2024/05/03/story.html"

EN = ("The city council voted on Tuesday to expand the bus network after months of debate. "
      "Officials said the new routes would connect the northern suburbs with the hospital and "
      "the university, cutting journeys by almost twenty minutes for thousands of commuters.")
EN2 = ("Critics argued that the plan ignores the western districts, where many residents still rely on "
       "cars. The mayor promised a second phase next spring and said the budget would be reviewed.")
EN3 = ("Bus drivers' unions welcomed the vote but warned that recruitment remains difficult, with "
       "dozens of positions unfilled since the winter and overtime already at record levels.")
DE2 = ("Kritiker bemängeln, dass die westlichen Stadtteile leer ausgehen. Der Bürgermeister versprach "
       "eine zweite Ausbaustufe im kommenden Frühjahr und eine Überprüfung des Haushalts.")
DE = ("Der Stadtrat hat am Dienstag nach monatelanger Debatte beschlossen, das Busnetz auszubauen. "
      "Die neuen Linien sollen die nördlichen Vororte mit dem Krankenhaus und der Universität "
      "verbinden und die Fahrzeit für Tausende Pendler um fast zwanzig Minuten verkürzen. Größe!")


def page(head: str = "", body: str = "", lang: str = "en", paras: tuple[str, ...] = (EN, EN2, EN3)) -> str:
    text = "".join(f"<p>{p}</p>" for p in paras)
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">{head}</head><body>'
            f'<nav><a href="/">Home</a> <a href="/world">World</a></nav>{body}'
            f"<article>{text}</article><footer>© Example Times</footer></body></html>")


def ld(**fields: object) -> str:
    return f'<script type="application/ld+json">{json.dumps({"@type": "NewsArticle", **fields})}</script>'


# --- field precedence -------------------------------------------------------------------------

def test_json_ld_beats_meta_and_markup() -> None:
    head = (ld(headline="Council expands bus network", datePublished="2024-05-03T17:47:42+02:00",
               author=[{"@type": "Person", "name": "Jane Doe"}])
            + '<meta property="article:published_time" content="2024-04-01T10:00:00Z">'
            + '<meta name="author" content="Someone Else"><title>Buses! | Example Times</title>')
    result = extract_article(page(head, "<h1>Buses!</h1>"), URL)
    assert isinstance(result, Extracted)
    assert result.title == "Council expands bus network"
    assert result.published_at == "2024-05-03T17:47:42+02:00"
    assert result.authors == ["Jane Doe"]
    assert result.sources["title"] == result.sources["published_at"] == result.sources["authors"] == "json-ld"
    assert result.language == "en"
    assert set(result.to_json()) == {"title", "text", "authors", "published_at", "language", "sources", "flags",
                                     "image_url", "image_caption", "image_credit", "description"}


def test_og_title_beats_json_ld_headline() -> None:
    """Different wordings: og:title is the headline; date and authors still come from JSON-LD."""
    head = (ld(headline="Council expands bus network", datePublished="2024-05-03T17:47:42+02:00",
               author=[{"@type": "Person", "name": "Jane Doe"}])
            + '<meta property="og:title" content="Buses for everyone | Example Times">'
            + '<meta name="author" content="Someone Else"><title>Buses! | Example Times</title>')
    result = extract_article(page(head, "<h1>Council expands bus network</h1>"), URL)
    assert result.title == "Buses for everyone"
    assert result.sources["title"] == "og:title"
    assert result.authors == ["Jane Doe"] and result.published_at == "2024-05-03T17:47:42+02:00"
    # Whichever headline was chosen, the others are not article text either.
    assert "Council expands bus network" not in result.text


def test_meta_tags_when_no_json_ld() -> None:
    head = ('<meta property="og:title" content="Council expands bus network | Example Times">'
            '<meta property="og:site_name" content="Example Times">'
            '<meta property="article:published_time" content="2024-05-03T15:47:42Z">'
            '<meta name="author" content="By Jane Doe">'
            "<title>Council expands bus network | Example Times</title>")
    result = extract_article(page(head, "<h1>Council expands bus network</h1>"), URL)
    assert result.title == "Council expands bus network"
    assert result.published_at == "2024-05-03T15:47:42+00:00"
    assert result.sources["published_at"] == "meta:article:published_time"
    assert result.authors == ["Jane Doe"]


def test_text_keeps_paragraphs_and_drops_chrome() -> None:
    result = extract_article(page("<title>Buses</title>"), URL)
    lines = result.text.split("\n")
    assert len(lines) >= 2 and all(line.strip() for line in lines)
    assert "Home" not in result.text and "©" not in result.text
    assert result.sources["text"].startswith("trafilatura")


def test_kicker_and_section_are_dropped_when_og_title_is_the_bare_headline() -> None:
    tw = '<meta name="twitter:title" content="Council expands bus network">'
    for headline in ("Transport: Council expands bus network", "Council expands bus network | Local"):
        result = extract_article(page(ld(headline=headline) + tw), URL)
        assert result.title == "Council expands bus network"
        assert result.sources["title"] == "json-ld+core"
    # Not separated by a separator: a different wording, JSON-LD stays.
    result = extract_article(page(ld(headline="Council expands bus network for the north") + tw), URL)
    assert result.title == "Council expands bus network for the north"
    # A bare <h1> is not enough: sites often set the kicker in an element of its own.
    head = ld(headline="Transport: Council expands bus network")
    result = extract_article(page(head, "<h1>Council expands bus network</h1>"), URL)
    assert result.title == "Transport: Council expands bus network"


def test_og_title_kicker_is_dropped_when_json_ld_and_h1_agree_on_the_bare_headline() -> None:
    for og_title in ("Transport | Council expands bus network", "Council expands bus network - Local"):
        head = ld(headline="Council expands bus network") + f'<meta property="og:title" content="{og_title}">'
        result = extract_article(page(head, "<h1>Council expands bus network</h1>"), URL)
        assert result.title == "Council expands bus network"
        assert result.sources["title"] == "og:title+core"
        # Only one of them agreeing is not enough: the kicker may be part of the headline.
        result = extract_article(page(head, "<h1>Buses for the north</h1>"), URL)
        assert result.title == og_title


def test_og_title_kicker_is_dropped_when_h1_has_an_unrelated_kicker() -> None:
    head = '<meta property="og:title" content="Transport: Council expands bus network">'
    result = extract_article(page(head, "<h1>City hall vote - Council expands bus network</h1>"), URL)
    assert result.title == "Council expands bus network"
    # Kickers sharing a word are rewordings of one kicker, which may be part of the headline.
    result = extract_article(page(head, "<h1>Transport vote - Council expands bus network</h1>"), URL)
    assert result.title == "Transport: Council expands bus network"


def test_section_label_is_dropped_when_the_visible_headline_lacks_it() -> None:
    for og_title in ("Opinion | Council expands bus network", "Council expands bus network | News"):
        head = f'<meta property="og:title" content="{og_title}">'
        result = extract_article(page(head, "<h1>Council expands bus network</h1>"), URL)
        assert result.title == "Council expands bus network"
    # A colon kicker stays (parsers keep it about half the time), and so does a long tail.
    for og_title in ("Opinion: Council expands bus network",
                     "Council expands bus network | and the mayor promises a second phase"):
        head = f'<meta property="og:title" content="{og_title}">'
        result = extract_article(page(head, "<h1>Council expands bus network</h1>"), URL)
        assert result.title == og_title


def test_a_long_segment_naming_the_site_is_headline_not_site_name() -> None:
    url = "https://kotaku.com/x"
    assert strip_site_name("GOTY: Kotaku's Top 12 Games Of 2023, Ranked", site_keys(url, [])) == \
        "GOTY: Kotaku's Top 12 Games Of 2023, Ranked"
    assert strip_site_name("GOTY: Kotaku's Top 12 Games Of 2023, Ranked | Kotaku", site_keys(url, [])) == \
        "GOTY: Kotaku's Top 12 Games Of 2023, Ranked"


def test_og_title_cut_at_an_unescaped_quote_is_completed() -> None:
    head = '<meta property="og:title" content="Council votes for a "bus network"">'
    result = extract_article(page(head, '<h1>Council votes for a "bus network"</h1>'), URL)
    assert result.title == 'Council votes for a "bus network"'


def test_teaser_links_and_furniture_phrases_are_dropped() -> None:
    furniture = ("<ul><li><a href='/a'>Mayor promises second phase of the network</a></li>"
                 "<li><a href='/b'>Unions warn about driver shortage in the city</a></li></ul>"
                 "<p>Read more:</p><p>Sign up for our daily newsletter to get the news first.</p>"
                 "<p>Link zum YouTube-Inhalt</p><p>Wir benötigen Ihre Zustimmung, um diesen Inhalt anzuzeigen.</p>"
                 "<p>有料会員になると会員限定の有料記事もお読みいただけます。</p>")
    body = (f"<p>{EN}</p>{furniture}<p>{EN2}</p>"
            "<ul><li>The new line 7 runs every ten minutes from the station to the hospital.</li>"
            "<li>Night buses start in <a href='/n'>September</a> on four of the routes.</li></ul>"
            f"<p>{EN3}</p>")
    html = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Buses</title></head>'
            f"<body><article>{body}</article></body></html>")
    text = extract_article(html, URL).text
    for gone in ("second phase of the network", "driver shortage", "Read more", "newsletter",
                 "YouTube", "Zustimmung", "有料会員"):
        assert gone not in text
    for kept in ("line 7 runs every ten minutes", "Night buses start in September", EN[:40], EN3[:40]):
        assert kept in text


STANDFIRST = "The council says the new routes will cut journeys across the city by a third."


@pytest.mark.parametrize(("shown", "kept"), [
    (f'<p class="standfirst">{STANDFIRST}</p>', True),  # shown under the headline: the lead
    (f'<h2>{STANDFIRST[:-1]}</h2>', True),  # any block, give or take the final stop
    ("", False),  # only declared in the head: not article text
    (f'<nav><a href="/x">{STANDFIRST}</a></nav>', False),  # a teaser link elsewhere
    (f'<ul><li>{STANDFIRST}</li></ul>', False),  # a list of summaries
])
def test_standfirst_shown_on_the_page_is_the_first_paragraph(shown: str, kept: bool) -> None:
    head = f'<meta property="og:description" content="{STANDFIRST}"><title>Buses</title>'
    html = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">' + head + "</head><body>"
            f"<header><h1>Buses</h1>{shown}</header>"
            f"<article><p>{EN}</p><p>{EN2}</p><p>{EN3}</p></article></body></html>")
    result = extract_article(html, URL)
    assert result.text.startswith(STANDFIRST[:-1]) is kept
    assert result.text.count("cut journeys across the city") == int(kept)


def test_standfirst_already_in_the_body_is_not_repeated() -> None:
    head = f'<meta name="description" content="{EN[:120]}…">'
    html = page(head, f'<p class="lead">{EN[:120]}…</p>')
    assert extract_article(html, URL).text.count(EN[:60]) == 1


def test_cjk_furniture_is_short_by_its_characters() -> None:
    promo = "【キャンペーン】有料記事読み放題！スタンダードコースが今なら2カ月間月額100円！詳しくはこちら"
    ja = ("気象庁は13日、午後9時19分ごろ、日向灘で震度5弱の地震があったと発表した。震源の深さは約30キロ、"
          "地震の規模は6.9と推定される。この地震で、宮崎県の沿岸に津波注意報が出された。") * 2
    html = page(paras=(ja, promo, ja.replace("13日", "14日")), lang="ja")
    text = extract_article(html, "https://www.example.jp/a/1").text
    assert "読み放題" not in text and "気象庁は14日" in text


def test_furniture_words_inside_long_paragraphs_are_kept() -> None:
    long_para = ("Phishing mails ask customers to give their consent to new rules and to subscribe to a "
                 "fake newsletter; the police said the cookie banner on the page was copied from the bank "
                 "and warned that criminals now copy whole websites to steal passwords from customers.")
    result = extract_article(page(paras=(EN, long_para, EN2)), URL)
    assert "fake newsletter" in result.text


# --- single fields ----------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "url", "names", "expected"), [
    ("Big news today | Example Times", URL, ["Example Times"], "Big news today"),
    ("Big news today - Golem.de", "https://www.golem.de/news/x.html", [], "Big news today"),
    ("Example Times: Big news today", URL, [], "Big news today"),
    ("Ukraine: what next? – DW – 13.06.2023", "https://www.dw.com/de/a-1", ["DW"], "Ukraine: what next?"),
    ("Story | The Gateway Pundit | by Jane Doe", "https://www.thegatewaypundit.com/x", [], "Story"),
    ("宮崎県で震度5弱：朝日新聞デジタル", "https://www.asahi.com/a", ["朝日新聞デジタル"], "宮崎県で震度5弱"),
    ("Left - Right: a headline with a dash", URL, ["Example Times"], "Left - Right: a headline with a dash"),
    # A site name with umlauts matches its transliterated domain; a two-letter brand domain counts.
    ("Steigende Zinsen setzen Dax zu | Börsen-Zeitung", "https://www.boersen-zeitung.de/x", [],
     "Steigende Zinsen setzen Dax zu"),
    ("Ukraine: what next? | DW", "https://www.dw.com/de/a-1", [], "Ukraine: what next?"),
    ("Bus news for DW readers", "https://www.dw.com/de/a-1", [], "Bus news for DW readers"),
    # A short brand plus a generic word ("CBC News") is the site name too.
    ("Ceasefire talks stall | CBC News", "https://www.cbc.ca/news/x", [], "Ceasefire talks stall"),
])
def test_title_site_name_is_stripped(raw: str, url: str, names: list[str], expected: str) -> None:
    assert strip_site_name(raw, site_keys(url, names)) == expected


def test_authors_are_clean_names() -> None:
    keys = site_keys(URL, ["Example Times"])
    raw = ["By Jane Doe", "Example Times", "jane doe", "John Roe and Ann Poe",
           "https://www.example-times.com/author/max-mustermann", "https://facebook.com/page", "Von Eva Maier"]
    assert clean_authors(raw, keys) == ["Jane Doe", "John Roe", "Ann Poe", "Max Mustermann", "Eva Maier"]


def test_dates_carry_a_time_zone() -> None:
    assert parse_date("2024-05-03T17:47:42+02:00").isoformat() == "2024-05-03T17:47:42+02:00"
    assert parse_date("2024-05-03 15:47:42").isoformat() == "2024-05-03T15:47:42+00:00"
    assert parse_date("Fri, 03 May 2024 15:47:42 GMT").isoformat() == "2024-05-03T15:47:42+00:00"
    assert parse_date("2999-01-01T00:00:00Z") is None  # the future is a lie
    assert parse_date("1970-01-01") is None
    assert parse_date("yesterday") is None


def test_language_prior_decides_short_text_only() -> None:
    assert detect_language("Ja", "de-AT") == ("de", True)
    assert detect_language(EN * 2, "de") == ("en", False)
    assert detect_language(DE, None) == ("de", False)
    result = extract_article(page(paras=(DE, DE2), lang="de"), URL, declared_language="de")
    assert result.language == "de"


# --- bad pages: each reason, fast -------------------------------------------------------------

@pytest.mark.parametrize(("data", "content_type", "reason"), [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", None, "not_html"),
    (b"\x89PNG\r\n\x1a\n" + bytes(200), None, "not_html"),
    (b"<html>" + b"\x00\x01\x02\x03" * 500, None, "not_html"),
    (b"<html><body><p>fine</p></body></html>", "image/jpeg", "not_html"),
    (b"just some words without any markup at all", "text/plain", "not_html"),
    (b"", None, "empty_page"),
    (b"  \n\t ", None, "empty_page"),
    (b"<html><body><p>Subscribe to read the full story.</p></body></html>", None, "no_text"),
])
def test_bad_pages_say_why(data: bytes, content_type: str | None, reason: str) -> None:
    with pytest.raises(BadPage) as caught:
        extract_article(data, URL, content_type=content_type)
    assert caught.value.reason == reason
    if reason == "no_text":
        assert "thin or paywalled page" in caught.value.detail


def test_huge_page_is_rejected_fast() -> None:
    data = b"<html><body>" + b"<p>word word</p>" * (MAX_HTML_BYTES // 16) + b"</body></html>"
    start = time.perf_counter()
    with pytest.raises(BadPage) as caught:
        extract_article(data, URL)
    assert caught.value.reason == "page_too_large"
    assert time.perf_counter() - start < 0.5


def test_undecodable_bytes() -> None:
    noise = bytes(range(0x80, 0x100)) * 40
    with pytest.raises(BadPage) as caught:
        extract_article(b"<html><body><p>" + noise + b"</p></body></html>", URL, content_type="text/html")
    assert caught.value.reason == "undecodable"


# --- hostile input ----------------------------------------------------------------------------

def test_truncated_html_still_gives_an_article() -> None:
    full = page(ld(headline="Council expands bus network"), paras=(EN, EN2, EN3))
    result = extract_article(full[: int(len(full) * 0.8)].encode(), URL)
    assert result.title == "Council expands bus network"
    assert "bus network" in result.text


@pytest.mark.parametrize(("data", "content_type"), [
    (page(paras=(DE, DE2), lang="de").replace("utf-8", "iso-8859-1").encode("utf-8"), None),
    (page(paras=(DE, DE2), lang="de").replace('<meta charset="utf-8">', "").encode("cp1252"), None),
    (page(paras=(DE, DE2), lang="de").replace('<meta charset="utf-8">', "").encode("latin-1"),
     "text/html; charset=ISO-8859-1"),
    (page(paras=(DE, DE2), lang="de").encode("utf-16"), "text/html"),
])
def test_wrong_or_missing_charset(data: bytes, content_type: str | None) -> None:
    result = extract_article(data, URL, content_type=content_type)
    assert "Größe" in result.text and "verkürzen" in result.text


def test_deeply_nested_markup_is_bounded() -> None:
    deep = "<div>" * 20000 + f"<p>{EN}</p><p>{EN2}</p>" + "</div>" * 20000
    start = time.perf_counter()
    try:
        result = extract_article(page(body=deep), URL)
        assert "bus network" in result.text
    except BadPage as err:
        assert err.reason in {"no_text", "not_html"}
    assert time.perf_counter() - start < 10


def test_lying_json_ld_is_ignored() -> None:
    head = (ld(headline={"text": "not a string"}, datePublished="2999-01-01T00:00:00Z", author=42,
               articleBody=["nonsense"])
            + '<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>'
            + '<meta property="article:published_time" content="2024-05-03T15:47:42Z">'
            + "<title>Council expands bus network - Example Times</title>")
    result = extract_article(page(head, "<h1>Council expands bus network</h1>"), URL)
    assert result.title == "Council expands bus network"
    assert result.published_at == "2024-05-03T15:47:42+00:00"
    assert "bad_json_ld" in result.flags


def test_str_input_and_binary_disguised_as_html() -> None:
    assert extract_article(page(), URL).text  # str input is accepted as is
    with pytest.raises(BadPage):
        extract_article(os.urandom(4096), URL, content_type="text/html")


# --- overrides ---------------------------------------------------------------------------------

def test_overrides_on_handwritten_page() -> None:
    html = page("<title>[World] Council expands bus network ++ Example Times</title>",
                body=f'<div class="story"><p>{DE}</p><p>{DE2}</p></div>')
    result = extract_article(html, URL, overrides={
        "body_selector": "div.story", "title_pattern": r"^\[\w+\] (?P<title>.+?) \+\+"})
    assert result.title == "Council expands bus network"
    assert result.text.split("\n") == [DE, DE2]
    assert result.sources["text"] == result.sources["title"] == "override"
    missed = extract_article(html, URL, overrides={"body_selector": "div.nowhere"})
    assert "selector_missed" in missed.flags and missed.text


# --- corpus ------------------------------------------------------------------------------------

def _bench() -> object:
    spec = importlib.util.spec_from_file_location("bench_extract", ROOT / "bench" / "extract.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


needs_corpus = pytest.mark.skipif(not (CORPUS / "index.jsonl").exists(),
                                  reason=f"shared news corpus absent at {CORPUS} (set TRANSCRAWL_SHARED)")


def _corpus_row(url_part: str) -> dict:
    for line in (CORPUS / "index.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if url_part in row["url"]:
            return row
    raise LookupError(url_part)


@pytest.mark.shared
@needs_corpus
@pytest.mark.parametrize(("url_part", "selector", "pattern", "title"), [
    ("derstandard.at", "div.article-body", r"^(?P<title>.+?) - [^-]+ - derStandard",
     "Nach Kalifat-Rufen in Hamburg: Sind wir zu sanft zu Islamisten?"),
    ("euronews.com/2024/04/30/swedish", "div.c-article-content", r"^(?P<title>.+?) \| Euronews",
     "Swedish police to investigate reports of information leaks to violent gangs"),
])
def test_overrides_on_corpus_pages(url_part: str, selector: str, pattern: str, title: str) -> None:
    bench, row = _bench(), _corpus_row(url_part)
    html = gzip.decompress((CORPUS / row["file"]).read_bytes())
    result = extract_article(html, row["url"], overrides={"body_selector": selector, "title_pattern": pattern})
    assert result.sources["text"] == result.sources["title"] == "override"
    assert result.title == title  # the raw <title> through the pattern, whatever og:title says
    assert bench.body_prf(result.text, row["body"])[2] >= 0.9  # type: ignore[attr-defined]


@pytest.mark.shared
@needs_corpus
def test_extract_file_on_saved_pages(tmp_path: Path) -> None:
    row = _corpus_row("derstandard.at")
    good = extract_file(str(CORPUS / row["file"]))
    assert good["path"].endswith(".html.gz") and good["title"] and "error" not in good
    (tmp_path / "doc.html").write_bytes(b"%PDF-1.4 binary")
    assert extract_file(str(tmp_path / "doc.html"))["error"].startswith("not_html")
    assert "error" in extract_file(str(tmp_path / "missing.html.gz"))


@pytest.mark.shared
@needs_corpus
def test_corpus_quality_every_second_page() -> None:
    """Aggregate quality on half the corpus (for time); measured F1 0.971, title 0.872, date 0.989."""
    bench = _bench()
    pages = bench.load_pages(CORPUS / "index.jsonl")[::2]  # type: ignore[attr-defined]
    scores = bench.run(pages, raw=False)["ours"].summary()  # type: ignore[attr-defined]
    assert scores["errors"] == 0
    assert scores["f1"] >= 0.95, scores
    assert scores["title"] >= 0.78, scores
    assert scores["date"] >= 0.97, scores


# --- second opinions on trafilatura's body ------------------------------------------------------

def _three_more() -> list[str]:
    return ["A fourth paragraph says that " + EN[4:], "A fifth paragraph adds that " + EN2[4:],
            "A sixth paragraph notes that " + EN3[4:]]


def test_body_continues_after_a_teaser_box() -> None:
    # The body is split in two by a promo box; trafilatura keeps only the first part.
    more = _three_more()

    def part(paras: list[str]) -> str:
        text = "".join(f'<p class="para">{p}</p>' for p in paras)
        return f'<div class="wrap"><div class="col"><div class="text">{text}</div></div></div>'

    html = ('<html lang="en"><head><title>Buses</title></head><body><nav><a href="/">Home</a></nav>'
            '<div class="page"><h1>Council expands bus network</h1>' + part([EN, EN2, EN3])
            + '<div class="promo"><div class="teaser"><a href="/x"><img src="x.jpg"><h3>Other story</h3>'
              '</a><span>Sponsored</span></div></div>'
            + part(more) + '</div><footer>(c) Example</footer></body></html>')
    text = extract_article(html, URL).text
    assert text.split("\n") == [EN, EN2, EN3, *more]
    assert "Other story" not in text and "Sponsored" not in text


def test_next_article_of_an_endless_scroll_is_dropped() -> None:
    from lxml.html import document_fromstring

    from workers.extraction.body import drop_other_articles

    other = ["The harbour authority announced on Wednesday that the ferry terminal will close for repairs "
             "over the summer, forcing travellers onto a temporary pier."]
    tree = document_fromstring(
        "<html><body><main><article><h1>Council expands bus network</h1>"
        f"<p>{EN}</p><p>{EN2}</p></article><div class='under'><article><h1>Ferry terminal to close</h1>"
        f"<p>{other[0]}</p></article></div></main></body></html>")
    paras = [EN, EN2, *other]
    assert drop_other_articles(tree, paras, ["Council expands bus network"]) == [EN, EN2]
    # The stories inside one wrapping <article>, as some endless scrolls set them.
    wrapped = document_fromstring(
        "<html><body><article class='feed'><article><h1>Council expands bus network</h1>"
        f"<p>{EN}</p><p>{EN2}</p></article><article><h1>Ferry terminal to close</h1>"
        f"<p>{other[0]}</p></article></article></body></html>")
    assert drop_other_articles(wrapped, paras, ["Council expands bus network"]) == [EN, EN2]
    # A single article: nothing to drop.
    single = document_fromstring(f"<html><body><article><h1>Buses</h1><p>{EN}</p></article></body></html>")
    assert drop_other_articles(single, paras, ["Buses"]) == paras


def test_json_ld_article_body_written_as_escaped_html_is_read_as_text() -> None:
    from workers.extraction.embedded import as_text
    raw = "&amp;lt;!-- wp:paragraph --&amp;gt;&amp;lt;p&amp;gt;First &amp;lt;em&amp;gt;line&amp;lt;/em&amp;gt;.&amp;lt;/p&amp;gt;&amp;lt;p&amp;gt;Second.&amp;lt;/p&amp;gt;"
    assert as_text(raw) == "First line.\nSecond."
    assert as_text("Plain text, no markup.") == "Plain text, no markup."


def test_article_shipped_only_in_a_next_js_payload_is_found() -> None:
    blocks = [{"type": "paragraph", "content": [{"type": "text", "value": p}]} for p in (EN, EN2, EN3)]
    payload = json.dumps({"props": {"pageProps": {"story": {"body": {"content": blocks}},
                                                  "css": "<style>.a{color:red}</style>"}}})
    html = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Buses</title></head>'
            f'<body><div id="root"></div><script id="__NEXT_DATA__" type="application/json">{payload}</script>'
            "</body></html>")
    result = extract_article(html, URL)
    assert result.text.split("\n") == [EN, EN2, EN3]
    assert result.sources["text"] == "script"


def test_blocks_after_the_article_outside_its_container_are_dropped() -> None:
    from lxml.html import document_fromstring

    from workers.extraction.body import leaf_lines
    from workers.extraction.boilerplate import drop_trailing_outside

    lead = "Buses for the northern suburbs, at last."
    teasers = ["Ferry terminal to close for the summer", "The harbour pier will take travellers instead."]
    tree = document_fromstring(
        f"<html><body><div class='head'><p class='dek'>{lead}</p></div>"
        f"<div class='story'><p>{EN}</p><p>{EN2}</p><p>{EN3}</p></div>"
        f"<section class='more'><h3>{teasers[0]}</h3><p class='teaser'>{teasers[1]}</p>"
        "<a href='/pier'>Harbour pier opens to ferry travellers</a></section></body></html>")
    # The last teaser's headline is a bare link, no block: it goes with the blocks around it.
    paras = [lead, EN, EN2, EN3, *teasers, "Harbour pier opens to ferry travellers"]
    assert drop_trailing_outside(paras, leaf_lines(tree)) == [lead, EN, EN2, EN3]


def test_article_going_on_in_a_second_container_of_the_same_markup_is_kept() -> None:
    from lxml.html import document_fromstring

    from workers.extraction.body import leaf_lines
    from workers.extraction.boilerplate import drop_trailing_outside

    last = "The mayor said the first new buses would run before the end of the year."
    tree = document_fromstring(
        f"<html><body><div class='part'><p class='c'>{EN}</p><p class='c'>{EN2}</p><p class='c'>{EN3}</p>"
        f"<p class='c'>{DE}</p></div><div class='ad'>Advert</div>"
        f"<div class='part2'><p class='c'>{last}</p></div></body></html>")
    paras = [EN, EN2, EN3, DE, last]
    assert drop_trailing_outside(paras, leaf_lines(tree)) == paras


# --- what is set into or under the article ------------------------------------------------------

def test_social_posts_embedded_in_the_article_are_not_its_text() -> None:
    tweet = ("<blockquote class='twitter-tweet'><p lang='en' dir='ltr'>Buses every ten minutes from "
             "Monday, the council says <a href='https://t.co/x'>pic.twitter.com/x</a></p>&mdash; City Desk "
             "(@citydesk) <a href='https://twitter.com/citydesk/status/1'>May 3, 2024</a></blockquote>")
    quote = "<blockquote><p>“We have waited for this line for ten years,” said one commuter at the depot.</p></blockquote>"
    html = page(paras=())
    html = html.replace("<article></article>", f"<article><p>{EN}</p>{tweet}<p>{EN2}</p>{quote}<p>{EN3}</p></article>")
    text = extract_article(html, URL).text
    assert "pic.twitter.com" not in text and "@citydesk" not in text and "Monday, the council says" not in text
    assert "waited for this line for ten years" in text  # a plain quotation is the article's own
    assert all(p[:40] in text for p in (EN, EN2, EN3))


def test_a_labelled_teaser_link_is_dropped_a_sentence_with_a_link_is_not() -> None:
    lines = ("<p><strong>ALSO READ: <a href='/ferry'>Ferry terminal to close for the summer season</a></strong></p>"
             "<p>LEES OOK | <a href='/tram'>Tram line to the airport delayed by two more years</a></p>"
             "<p>The plan was approved by <a href='/council'>the city council of the northern district</a></p>")
    html = page(paras=()).replace("<article></article>", f"<article><p>{EN}</p>{lines}<p>{EN2}</p><p>{EN3}</p></article>")
    text = extract_article(html, URL).text
    assert "Ferry terminal" not in text and "Tram line to the airport" not in text
    assert "The plan was approved by the city council of the northern district" in text


def test_the_authors_closing_note_is_dropped() -> None:
    note = "Jane Doe is a transport reporter at the Example Times and has covered the city hall since 2015."
    mention = "Jane Doe, who rode the first bus, said the trip took twelve minutes."
    head = ld(headline="Buses", author={"@type": "Person", "name": "Jane Doe"})
    closing = extract_article(page(head=head, paras=(EN, EN2, EN3, note)), URL)
    assert closing.authors == ["Jane Doe"]
    assert "transport reporter" not in closing.text and EN3[:40] in closing.text
    # Earlier in the article the same name is the article's own.
    inside = extract_article(page(head=head, paras=(EN, mention, EN2, EN3)), URL).text
    assert "rode the first bus" in inside


def test_an_unclosed_iframe_in_noscript_does_not_swallow_the_page() -> None:
    # A tag manager's snippet without its </iframe>: libxml2 would read the rest of the page,
    # scripts included, as the iframe's text; a browser reads <noscript> as text up to its end tag.
    snippet = '<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-X" height="0"></noscript>'
    script = "<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}</script>"
    html = page(body=snippet).replace("</article>", f"</article>{script}")
    result = extract_article(html, URL)
    assert result.text.split("\n") == [EN, EN2, EN3]


def test_embedded_post_search_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from workers.extraction import inserts
    from workers.extraction.body import match_key

    posts = [match_key("Buses every ten minutes from Monday — City Desk (@citydesk) May 3, 2024")]
    paras = [EN, "Buses every ten minutes from Monday", EN2]
    assert inserts.drop_embedded_posts(paras, posts) == [EN, EN2]  # a line of the post
    # Past the bound (a feed of thousands of posts) only whole posts are matched: linear time.
    monkeypatch.setattr(inserts, "_MAX_SCAN_CHARS", 10)
    assert inserts.drop_embedded_posts(paras, posts) == paras


def test_trafilaturas_second_opinions_are_asked_only_for_a_short_article(monkeypatch: pytest.MonkeyPatch) -> None:
    import trafilatura

    runs: list[bool] = []
    real = trafilatura.bare_extraction

    def counted(*args: object, **kwargs: object) -> object:
        runs.append(bool(kwargs.get("fast")))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(trafilatura, "bare_extraction", counted)
    parts = tuple(f"Part {n}: {text}" for n in ("one", "two", "three") for text in (EN, EN2, EN3))
    assert extract_article(page(paras=parts), URL).text.split("\n") == list(parts)
    assert runs == [True]  # trafilatura's own rules, once
    runs.clear()
    short = extract_article(page(paras=(EN, EN2)), URL)
    # Under 150 words: a second run with readability and jusText, whose answer is kept.
    assert runs == [True, False] and short.text.split("\n") == [EN, EN2] and "thin" in short.flags


def test_readers_comments_are_not_the_article() -> None:
    import lxml.html

    from workers.extraction.body import leaf_lines
    from workers.extraction.boilerplate import drop_comments

    said = ["I still think the buses will be late every morning, as they have been since I moved here.",
            "Nobody asked the people who live out west. The second phase will never come, you will see."]
    thread = "".join(f'<li class="xenforo-comment"><p>{text}</p><p><a href="/t/1">Reply</a></p></li>' for text in said)
    html = page().replace("</article>", f'<div class="xenforo-comment-widget"><ul>{thread}</ul></div></article>')
    # What trafilatura kept on a real page of this markup: the article, then the comments.
    kept = [EN, EN2, EN3, *said]
    assert drop_comments(kept, leaf_lines(lxml.html.document_fromstring(html))) == [EN, EN2, EN3]
    # A page-wide wrapper's state flag ("has-comments") is not a comment section.
    flagged = html.replace("<body>", '<body class="has-comments">').replace("<article>", '<article class="comments-open">')
    assert drop_comments(kept, leaf_lines(lxml.html.document_fromstring(flagged))) == [EN, EN2, EN3]
    # Nor is a name that would take most of the text.
    whole = html.replace("<article>", '<article><div class="comment">')
    assert drop_comments(kept, leaf_lines(lxml.html.document_fromstring(whole))) == kept
