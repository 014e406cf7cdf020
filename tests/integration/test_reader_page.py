"""The reader page in a real browser: Debian's headless Chromium over a real server and real rows.

Needs /usr/bin/chromium and /usr/bin/chromedriver, which ``make test`` installs (Debian packages
chromium and chromium-driver). Set TRANSCRAWL_SCREENSHOTS to a folder to keep the screenshots.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from foundation.settings import Settings
from schemas.messages import Article, ArticleStatus
from tests.support.processes import ServerProcess
from transcrawl.testing.articles import generate
from tests.support.stories import harbour_story
from workers import store
from workers.grouping.stories import group_article

pytestmark = [pytest.mark.slow]

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
NOW = dt.datetime.now(dt.UTC)
# The lead image, served on 127.0.0.1 as a publisher's image server would serve it.
HARBOUR_SVG = b"""<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="900" viewBox="0 0 160 90">
<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#9cc3e6"/>
<stop offset="1" stop-color="#e8f1f8"/></linearGradient></defs>
<rect width="160" height="60" fill="url(#sky)"/><rect y="60" width="160" height="30" fill="#2f5d7c"/>
<g fill="#c0392b"><rect x="30" y="20" width="4" height="40"/><rect x="20" y="20" width="40" height="3"/>
<rect x="100" y="14" width="4" height="46"/><rect x="90" y="14" width="44" height="3"/></g>
<rect x="60" y="50" width="50" height="10" fill="#34495e"/></svg>"""

GERMAN = Article(
    url="https://www.bild.de/news/hafen", site="de-bild", country="de", language="de",
    title="Streik im Hafen", text="Die Arbeiter streiken seit Montag.\nDer Hafen steht still.",
    title_en="Strike at the harbour", text_en="The dockers have been on strike since Monday.\nThe port stands still.",
    authors=["Anna Beispiel"], published_at=(NOW - dt.timedelta(minutes=10)).isoformat(),
    fetched_at=NOW.isoformat(), translated_at=NOW.isoformat(), translation_model="opus-mt-de-en",
    status=ArticleStatus.TRANSLATED, image_url="http://127.0.0.1:{port}/img/hafen-1600.svg",
    image_caption="Cranes at rest", image_credit="Photo: dpa", description="Nichts geht mehr.",
    description_en="Nothing moves any more.",
)
# Everything a hostile page could smuggle into a row: markup, handlers, javascript: URLs.
HOSTILE = dataclasses.replace(
    GERMAN, url="https://www.bild.de/news/hostile",
    title="<script>window.pwned = 1</script>Feindlich",
    title_en="<script>window.pwned = 1</script>Hostile headline",
    text="<img src=x onerror=\"window.pwned = 2\">Erster Absatz.\n<a href=\"javascript:window.pwned = 3\">Link</a>",
    text_en="<img src=x onerror=\"window.pwned = 2\">First paragraph.\n<a href=\"javascript:window.pwned = 3\">Link</a>",
    image_url="javascript:window.pwned = 4", image_caption="<b onmouseover=\"window.pwned = 5\">cap</b>",
    description_en="<iframe src=\"javascript:window.pwned = 6\"></iframe>",
    published_at=(NOW - dt.timedelta(minutes=20)).isoformat(),
)


@pytest.fixture(scope="module")
def images() -> Iterator[int]:
    """An image server on 127.0.0.1; its port."""
    import http.server
    import threading

    class Images(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            self.send_response(200)
            self.send_header("Content-Type", "image/svg+xml")
            self.end_headers()
            self.wfile.write(HARBOUR_SVG)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def german(images: int) -> Article:
    return dataclasses.replace(GERMAN, image_url=(GERMAN.image_url or "").format(port=images))


@pytest.fixture(scope="module")
def site(servers: Settings, german: Article,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    with psycopg.connect(servers.database_url or "") as conn:
        conn.execute("TRUNCATE articles, failures, sites, stories RESTART IDENTITY CASCADE")
        conn.commit()
        generate(conn, 300, seed=3, now=NOW - dt.timedelta(hours=1))
        store.upsert_article(conn, german)
        store.upsert_article(conn, HOSTILE)
        for version in harbour_story():
            store.upsert_article(conn, version)
            conn.commit()
            group_article(conn, version.url, window=dt.timedelta(hours=72))
        conn.commit()
    server = ServerProcess(servers, tmp_path_factory.mktemp("serve") / "serve.log")
    try:
        yield server.url, servers
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (shutil.which(CHROMIUM) and shutil.which(DRIVER)):
        pytest.skip("needs Debian's chromium and chromium-driver: `make test` installs them")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                 "--disable-gpu",
                 # Tests never touch the real web: every host but 127.0.0.1 fails at once.
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, name: str) -> None:
    folder = os.environ.get("TRANSCRAWL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / name))


def test_a_reader_picks_a_country_and_reads_an_article(site: tuple[str, Settings], browser: Any,
                                                       german: Article) -> None:
    from selenium.webdriver.common.by import By

    url, settings = site
    browser.get(url + "/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Pick a country"
    germany = browser.find_element(By.CSS_SELECTOR, 'li[data-country="de"]')
    with psycopg.connect(settings.database_url or "") as conn:
        today = conn.execute("SELECT count(*) FROM articles WHERE country = 'de' AND listed_at > now() - interval"
                             " '24 hours' AND status IN ('translated', 'original_english')").fetchone()
    assert today is not None
    assert "Germany" in germany.text and germany.find_element(By.CLASS_NAME, "count").text == str(today[0])
    screenshot(browser, "reader-countries.png")
    germany.find_element(By.TAG_NAME, "a").click()

    assert browser.current_url == url + "/countries/de"
    cards = browser.find_elements(By.CSS_SELECTOR, "li.card")
    first = cards[0]
    assert first.find_element(By.CLASS_NAME, "title").text == "Strike at the harbour"
    assert "Bild" in first.find_element(By.CLASS_NAME, "source").text
    assert first.find_element(By.TAG_NAME, "img").get_attribute("src") == german.image_url
    published = dt.datetime.fromisoformat(german.published_at or "")
    assert first.find_element(By.TAG_NAME, "time").text == published.strftime("%-d %B %Y")
    assert len(cards) == 24 and browser.find_element(By.CSS_SELECTOR, 'a[rel="next"]')
    screenshot(browser, "reader-country.png")
    first.find_element(By.TAG_NAME, "a").click()

    assert browser.find_element(By.CSS_SELECTOR, "h1.title").text == "Strike at the harbour"
    assert browser.find_element(By.CLASS_NAME, "original-title").text == "Streik im Hafen"
    english = [p.text for p in browser.find_elements(By.CSS_SELECTOR, ".side-by-side p.en")]
    original = [p.text for p in browser.find_elements(By.CSS_SELECTOR, ".side-by-side p.orig")]
    assert english == (german.text_en or "").split("\n") and original == german.text.split("\n")
    row = browser.find_elements(By.CSS_SELECTOR, ".side-by-side p.en")[1].location["y"]
    assert browser.find_elements(By.CSS_SELECTOR, ".side-by-side p.orig")[1].location["y"] == row  # beside it
    assert browser.find_element(By.TAG_NAME, "figcaption").text == "Cranes at rest Photo: dpa"
    lead = browser.find_element(By.CSS_SELECTOR, "figure.lead img")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", lead) == 1600
    assert browser.find_element(By.CSS_SELECTOR, "p.standfirst").text == "Nothing moves any more."
    assert browser.find_element(By.CSS_SELECTOR, "a.original").get_attribute("href") == german.url
    screenshot(browser, "reader-article.png")


def test_a_hostile_article_does_nothing_in_the_browser(site: tuple[str, Settings], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    url, settings = site
    with psycopg.connect(settings.database_url or "") as conn:
        found = conn.execute("SELECT id FROM articles WHERE url = %s", (HOSTILE.url,)).fetchone()
    assert found is not None
    browser.get(f"{url}/articles/{found[0]}")
    assert browser.find_element(By.CSS_SELECTOR, "h1.title").text == "<script>window.pwned = 1</script>Hostile headline"
    assert browser.execute_script("return window.pwned === undefined")
    assert browser.find_elements(By.CSS_SELECTOR, "main script, main iframe, figure.lead, main b") == []
    english = [p.text for p in browser.find_elements(By.CSS_SELECTOR, ".side-by-side p.en")]
    assert english[0] == '<img src=x onerror="window.pwned = 2">First paragraph.'  # shown as text
    for link in browser.find_elements(By.CSS_SELECTOR, "main a"):
        assert not (link.get_attribute("href") or "").startswith("javascript:")
    browser.get(url + "/countries/de")  # the card of the hostile article, too
    assert browser.execute_script("return window.pwned === undefined")
    assert all("javascript" not in (img.get_attribute("src") or "")
               for img in browser.find_elements(By.TAG_NAME, "img"))


def test_a_reader_sees_the_worlds_take_on_a_story(site: tuple[str, Settings], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    url, settings = site
    with psycopg.connect(settings.database_url or "") as conn:
        found = conn.execute("SELECT id FROM articles WHERE url = %s", (harbour_story()[0].url,)).fetchone()
    assert found is not None
    browser.get(f"{url}/articles/{found[0]}")
    link = browser.find_element(By.CSS_SELECTOR, "p.story-link a")
    assert link.text == "The world's take: 2 articles from 2 countries"
    link.click()
    assert browser.find_element(By.CSS_SELECTOR, "h1.title").text == "Hamburg dockers strike over pay"
    columns = {c.get_attribute("data-country"): c for c in browser.find_elements(By.CSS_SELECTOR, "section.take")}
    assert list(columns) == ["cn", "de"]
    assert columns["cn"].find_element(By.TAG_NAME, "h2").text.endswith("China")
    assert columns["cn"].find_element(By.CSS_SELECTOR, "h3 a").text == "Hamburg harbour workers strike for wages"
    assert columns["de"].find_element(By.CSS_SELECTOR, "h3 a").text == "Hamburg dockers strike over pay"
    assert columns["cn"].location["y"] == columns["de"].location["y"]  # side by side, one column each
    screenshot(browser, "reader-story.png")
    browser.find_element(By.LINK_TEXT, "The world's take").click()
    cards = browser.find_elements(By.CSS_SELECTOR, "li.story-card")
    assert [c.find_element(By.CLASS_NAME, "title").text for c in cards] == ["Hamburg dockers strike over pay"]
