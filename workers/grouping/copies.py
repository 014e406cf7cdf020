"""Copies: the same text published by several sites (wire copy, syndication), found by MinHash.

The signature is datasketch's MinHash (CRC-32 of each shingle, the affine32 scheme) over the
original text's word 3-shingles (character 4-grams where the script has no spaces); its LSH bands
are rows in Postgres, so every worker sees every article's bands and a candidate is one indexed
lookup. Boilerplate a site adds or leaves in moves
the Jaccard estimate little; a different article on the same story shares almost no shingles.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Iterable

import numpy as np

PERMUTATIONS = 128
BANDS, ROWS = 32, 4  # 32 bands of 4 rows: pairs above Jaccard ~0.5 collide in some band
COPY_JACCARD = 0.6  # estimated Jaccard at or above which two texts are one text
MIN_SHINGLES = 12  # fewer: too short to call anything a copy

_SPACELESS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str) -> set[bytes]:
    if len(_SPACELESS.findall(text)) > len(text) / 4:
        chars = re.sub(r"\s+", "", text.lower())
        return {chars[i:i + 4].encode() for i in range(max(0, len(chars) - 3))}
    words = _WORD.findall(text.lower())
    return {f"{a} {b} {c}".encode() for a, b, c in zip(words, words[1:], words[2:])}


def signature(text: str) -> np.ndarray | None:
    """The MinHash signature of a text (uint32[PERMUTATIONS]), or None for a text too short."""
    from datasketch import MinHash

    found = shingles(text)
    if len(found) < MIN_SHINGLES:
        return None
    # CRC-32, not SHA-1 (datasketch's default): the update takes 0.17 ms an article, not 0.47. The
    # affine32 scheme mixes each hash with MurmurHash3's finalizer first, so a checksum estimates
    # Jaccard as well (the bench's 13,924 pairs sharing a shingle: same errors, same copies).
    # Scheme and seed are named: a changed default would change every signature, stored ones too.
    minhash = MinHash(PERMUTATIONS, seed=1, hashfunc=zlib.crc32, scheme="affine32", permutations=_permutations())
    minhash.update_batch(list(found))
    return np.asarray(minhash.hashvalues, dtype=np.uint32)


@functools.cache
def _permutations() -> np.ndarray:
    """The permutations of seed 1, drawn once (a fixed seed: signatures compare across workers)."""
    from datasketch import MinHash

    return np.asarray(MinHash(PERMUTATIONS, seed=1, scheme="affine32").permutations)


def bands(sig: np.ndarray) -> list[int]:
    """One 63-bit hash per LSH band (fits a Postgres bigint)."""
    import hashlib

    out = []
    for band in range(BANDS):
        chunk = sig[band * ROWS:(band + 1) * ROWS].tobytes()
        out.append(int.from_bytes(hashlib.blake2b(chunk, digest_size=8).digest(), "big") >> 1)
    return out


def jaccard(a: np.ndarray, b: Iterable[int]) -> float:
    other = np.asarray(list(b), dtype=np.uint32)
    return float(np.mean(a == other))
