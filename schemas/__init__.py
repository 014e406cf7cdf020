"""Contracts shared by every stage: task and queue names, Redis keys, messages, SQL migrations."""

from schemas.contract import (
    EXTRACT_TASK,
    FAILURE_TASK,
    QUEUE_EXTRACT,
    QUEUE_STORE,
    QUEUE_TRANSLATE,
    STORE_TASK,
    TRANSLATE_TASK,
    Article,
    ArticleStatus,
    RawPage,
    raw_page_key,
    seen_key,
)

__all__ = [
    "EXTRACT_TASK",
    "FAILURE_TASK",
    "QUEUE_EXTRACT",
    "QUEUE_STORE",
    "QUEUE_TRANSLATE",
    "STORE_TASK",
    "TRANSLATE_TASK",
    "Article",
    "ArticleStatus",
    "RawPage",
    "raw_page_key",
    "seen_key",
]
