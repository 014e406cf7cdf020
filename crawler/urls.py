"""Canonical URLs: one article, one URL, whatever tracking parameters a feed or link added."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# Parameters that identify a campaign or a referrer, never the article itself.
_TRACKING = re.compile(
    r"^(utm_\w+|ref|ref_src|referrer|source|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|"
    r"igshid|cmpid|ocid|ito|at_medium|at_campaign|_ga|yclid|spm|share|mkt_tok)$",
    re.IGNORECASE,
)


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no fragment, no tracking parameters, sorted query."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    host = (parts.hostname or "").lower()
    if parts.port and not _default_port(parts.scheme, parts.port):
        host = f"{host}:{parts.port}"
    cleaned = urlunsplit((parts.scheme.lower(), host, parts.path or "/", urlencode(query), ""))
    return canonicalize_url(cleaned, keep_fragments=False)


def _default_port(scheme: str, port: int) -> bool:
    return (scheme, port) in (("http", 80), ("https", 443))


def local_origins(homepage: str) -> tuple[str, ...]:
    """The exact origin of a site's homepage: what tells local sites on one host apart."""
    parts = urlsplit(homepage)
    return (f"{parts.scheme}://{parts.netloc}".lower(),)


def same_site(url: str, domains: tuple[str, ...], origins: tuple[str, ...] = ()) -> bool:
    """True when ``url`` is on one of the site's domains (or subdomains) or exact origins."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return False
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if origins and any(origin == o for o in origins):
        return True
    host = (parts.hostname or "").lower()
    if origins and host in ("127.0.0.1", "localhost"):
        # Local test sites share a host and differ by port: only the exact origin counts.
        return False
    return any(host == d or host.endswith("." + d) for d in domains)
