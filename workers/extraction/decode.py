"""Bytes to text: size and binary checks, then the charset from BOM, headers, meta or detection."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from workers.errors import BadPage

MAX_HTML_BYTES = 10 * 1024 * 1024

# Leading bytes of formats that are never HTML, whatever the server says.
_MAGIC = (
    b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"PK\x03\x04", b"\x1f\x8b", b"RIFF",
    b"OggS", b"ID3", b"\x7fELF", b"wOFF", b"wOF2", b"\xd0\xcf\x11\xe0", b"\x00\x00\x00",
    b"7z\xbc\xaf", b"Rar!", b"BZh", b"\xfd7zXZ",
)
_HTML_TYPES = {"text/html", "application/xhtml+xml", "text/xml", "application/xml", "text/plain"}
_GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]{2,40})""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]{0,100}encoding\s*=\s*["']([a-zA-Z0-9_.:-]{2,40})""")
_CT_CHARSET = re.compile(r"charset\s*=\s*[\"']?([a-zA-Z0-9_.:-]{2,40})", re.I)
_TAG = re.compile(r"<\s*[a-zA-Z!?/]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f]")  # below a space, less tab, newlines, form feed
# Labels browsers read as windows-1252 (WHATWG Encoding Standard).
_AS_CP1252 = {"latin_1", "iso8859_1", "ascii", "cp1252"}
_MAX_REPLACED = 0.005  # share of U+FFFD tolerated before a charset counts as wrong


def check_content_type(content_type: str | None) -> None:
    """Reject a declared type that cannot be a web page (PDF, images, audio, JSON...)."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime in _HTML_TYPES or mime in _GENERIC_TYPES or mime.endswith("+xml"):
        return
    raise BadPage(f"content type {mime!r} is not HTML", reason="not_html")


def decode_html(data: bytes | str, content_type: str | None = None) -> tuple[str, str]:
    """Return ``(text, charset)``; raise BadPage for empty, huge, binary or undecodable input."""
    check_content_type(content_type)
    if isinstance(data, str):
        if len(data) > MAX_HTML_BYTES:
            raise BadPage(f"page of {len(data)} characters is too large", reason="page_too_large")
        text, charset = data.lstrip("\ufeff"), "str"
    else:
        if len(data) > MAX_HTML_BYTES:
            raise BadPage(f"page of {len(data)} bytes is too large", reason="page_too_large")
        if not data.strip():
            raise BadPage("page is empty", reason="empty_page")
        text, charset = _decode_bytes(data, content_type)
    _check_text(text)
    return text, charset


def _decode_bytes(data: bytes, content_type: str | None) -> tuple[str, str]:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(name, errors="replace"), name
    if data.lstrip()[:8].startswith(_MAGIC) or data.count(b"\x00") > len(data) // 100:
        raise BadPage("binary content, not HTML", reason="not_html")
    for label in _declared_charsets(data, content_type):
        text = _try_decode(data, label)
        if text is not None:
            return text, label
    text = _try_decode(data, "utf-8")
    if text is not None:
        return text, "utf-8"
    return _detect(data)


def _declared_charsets(data: bytes, content_type: str | None) -> list[str]:
    labels = []
    found = _CT_CHARSET.search(content_type or "")
    if found:
        labels.append(found.group(1))
    head = data[:16384]
    for pattern in (_XML_ENCODING, _META_CHARSET):
        match = pattern.search(head)
        if match:
            labels.append(match.group(1).decode("ascii"))
    return [name for name in map(_codec_name, labels) if name]


def _codec_name(label: str) -> str | None:
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    if name.replace("-", "_") in _AS_CP1252:
        return "cp1252"
    # A page labelled UTF-16 that got here had no BOM and no NULs: the label is wrong.
    return None if name.startswith("utf-16") or name.startswith("utf-32") else name


def _try_decode(data: bytes, codec: str) -> str | None:
    """Decode if the result looks right; a legacy label on valid UTF-8 bytes is a lie."""
    if codec != "utf-8" and not data.isascii():
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    try:
        text = data.decode(codec, errors="replace")
    except LookupError:
        return None
    # Truncated pages end mid-character: a few replacements are fine.
    if text.count("\ufffd") > max(2, len(text) * _MAX_REPLACED):
        return None
    return text


def _detect(data: bytes) -> tuple[str, str]:
    best = charset_normalizer.from_bytes(data[:200_000]).best()
    if best is not None and best.encoding:
        text = _try_decode(data, best.encoding)
        if text is not None:
            return text, best.encoding
    raise BadPage("no charset decodes this page", reason="undecodable")


def _check_text(text: str) -> None:
    head = text[:65536]
    if not head.strip():
        raise BadPage("page is empty", reason="empty_page")
    controls = len(_CONTROL.findall(head))  # a regex: a loop per character cost 2 ms a page
    if controls > len(head) // 50:
        raise BadPage("control characters throughout: binary, not HTML", reason="not_html")
    if not _TAG.search(head):
        raise BadPage("no markup in the page", reason="not_html")
