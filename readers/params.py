"""The read API's query parameters, checked before any of them goes near SQL."""

from __future__ import annotations

import datetime as dt
import re

from readers.problems import bad_parameter
from readers.queries import READABLE, STATUSES, ArticleFilter, BadCursor, Cursor, StoryFilter

COUNTRY = re.compile(r"^[a-z]{2}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
SITE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
MAX_LIMIT = 100
MAX_QUERY = 200


def country(value: str | None, name: str = "country") -> str | None:
    if value is None:
        return None
    code = value.strip().lower()
    if not COUNTRY.match(code):
        raise bad_parameter(name, "an ISO 3166-1 alpha-2 country code, such as de or jp")
    return code


def language(value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip().lower()
    if not LANGUAGE.match(code):
        raise bad_parameter("language", "an ISO 639-1 language code, such as de or zh")
    return code


def site(value: str | None, name: str = "site") -> str | None:
    if value is None:
        return None
    if not SITE.match(value):
        raise bad_parameter(name, "a site id from /v1/sites, such as de-tagesschau")
    return value


def moment(value: str | None, name: str) -> dt.datetime | None:
    """An ISO 8601 date or date-time; one without a zone is UTC."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise bad_parameter(name, "an ISO 8601 date or date-time, such as 2026-12-01 or "
                                  "2026-12-01T08:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def statuses(value: str | None) -> tuple[str, ...]:
    if value is None:
        return READABLE
    if value == "all":
        return STATUSES
    wanted = tuple(dict.fromkeys(s.strip() for s in value.split(",") if s.strip()))
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown or not wanted:
        raise bad_parameter("status", f"a comma-separated list of {', '.join(STATUSES)}, or all")
    return wanted


def query(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > MAX_QUERY:
        raise bad_parameter("q", f"at most {MAX_QUERY} characters")
    return value.strip()


def limit(value: str | None, default: int = 20) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_LIMIT:
        raise bad_parameter("limit", f"a whole number from 1 to {MAX_LIMIT}")
    return number


def cursor(value: str | None) -> Cursor | None:
    if not value:
        return None
    try:
        return Cursor.decode(value)
    except BadCursor as exc:
        raise bad_parameter("cursor", str(exc)) from None


def article_filter(*, country_: str | None = None, language_: str | None = None, site_: str | None = None,
                   since: str | None = None, until: str | None = None, q: str | None = None,
                   status: str | None = None) -> ArticleFilter:
    begin, end = moment(since, "since"), moment(until, "until")
    if begin and end and begin >= end:
        raise bad_parameter("until", "must be later than since")
    return ArticleFilter(country=country(country_), language=language(language_), site=site(site_),
                         since=begin, until=end, q=query(q), statuses=statuses(status))


def story_filter(*, since: str | None = None, country_: str | None = None, min_countries: str | None = None,
                 missing_from: str | None = None) -> StoryFilter:
    least = 1
    if min_countries is not None:
        try:
            least = int(min_countries)
        except ValueError:
            least = 0
        if not 1 <= least <= 250:
            raise bad_parameter("min_countries", "a whole number from 1 to 250")
    return StoryFilter(since=moment(since, "since"), country=country(country_),
                       min_countries=least, missing_from=country(missing_from, "missing_from"))
