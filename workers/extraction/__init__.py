"""Extraction step: raw page bytes to a clean article (title, text, authors, date, language)."""

from workers.extraction.combine import extract_article
from workers.extraction.decode import MAX_HTML_BYTES
from workers.extraction.files import extract_file
from workers.extraction.result import Extracted

__all__ = ["MAX_HTML_BYTES", "Extracted", "extract_article", "extract_file"]
