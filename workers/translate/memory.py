"""Translation memory: a sentence already translated by a model is not translated again."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

DEFAULT_MAX_ENTRIES = 100_000


class TranslationMemory:
    """A bounded LRU of translations keyed by (model key, beam size, sha1 of the sentence).

    News sites repeat boilerplate (bylines, captions, "Read more") across articles, so the same
    sentences come back often; the beam size is part of the key because it changes the output.
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, int, bytes], str] = OrderedDict()
        self._lock = threading.Lock()  # rounds look up and fill it from several threads
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _key(model: str, beam: int, sentence: str) -> tuple[str, int, bytes]:
        return (model, beam, hashlib.sha1(sentence.encode("utf-8")).digest())

    def get(self, model: str, beam: int, sentence: str) -> str | None:
        key = self._key(model, beam, sentence)
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, model: str, beam: int, sentence: str, translation: str) -> None:
        if self.max_entries <= 0:
            return
        key = self._key(model, beam, sentence)
        with self._lock:
            self._entries[key] = translation
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
        self.hits = self.misses = 0
