"""Transcrawl: crawl the world's news, extract it, translate it to English, store it in Postgres."""

__version__ = "0.1.0"
