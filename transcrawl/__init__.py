"""Transcrawl: crawl the world's news, extract it, translate it to English, store it in Postgres.

This package is the shell (CLI, demo, scheduler, status); the stages live in ``crawler`` and
``workers``, the foundation in ``foundation``, the contracts in ``schemas``.
"""

from foundation import __version__

__all__ = ["__version__"]
