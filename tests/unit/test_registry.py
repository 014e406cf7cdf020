"""The site registry: the bundled entries load, and bad entries are errors naming the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler import registry
from crawler.registry import RegistryError

GOOD = """
[[site]]
id = "xx-one"
name = "One"
country = "xx"
language = "en"
homepage = "https://one.example/"
feeds = ["https://one.example/rss"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sites.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_registry_is_valid() -> None:
    sites = registry.load()
    assert len(sites) >= 5  # (duplicate ids: test_duplicate_ids_are_rejected; load() raises on them)
    assert {"zh", "de", "en", "fr"} <= {s.language for s in sites}
    for site in sites:
        assert site.feeds or site.sitemaps, f"{site.id} has no feed or sitemap"


def test_entry_round_trips_through_dumps(tmp_path: Path) -> None:
    [site] = registry.load(write(tmp_path, GOOD))
    [again] = registry.load(write(tmp_path, registry.dumps([site])))
    assert again == site.__class__(**{**site.__dict__, "allowed_domains": ("one.example",)})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('homepage = "https://one.example/"', 'homepage = "ftp://one.example/"'),
        ('country = "xx"', 'country = "xyz"'),
        ('language = "en"', 'language = "English"'),
        ('id = "xx-one"', 'id = "Bad Id"'),
        ('feeds = ["https://one.example/rss"]', 'feeds = ["not a url"]'),
        ('feeds = ["https://one.example/rss"]', 'article_pattern = "("'),
        ('feeds = ["https://one.example/rss"]', 'colour = "red"'),
    ],
)
def test_bad_entries_name_the_entry(tmp_path: Path, change: str, message: str) -> None:
    path = write(tmp_path, GOOD.replace(change, message))
    with pytest.raises(RegistryError, match=r"xx-one|Bad Id"):
        registry.load(path)


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    twice = GOOD + GOOD.replace("https://one.example/\"", "https://two.example/\"")
    with pytest.raises(RegistryError, match="duplicate site id 'xx-one'"):
        registry.load(write(tmp_path, twice))


def test_duplicate_homepages_are_rejected(tmp_path: Path) -> None:
    twice = GOOD + GOOD.replace('id = "xx-one"', 'id = "xx-two"')
    with pytest.raises(RegistryError, match="share homepage"):
        registry.load(write(tmp_path, twice))


def test_select_unknown_site_is_an_error() -> None:
    with pytest.raises(RegistryError, match="unknown site"):
        registry.select(registry.load(), ["nope"])
