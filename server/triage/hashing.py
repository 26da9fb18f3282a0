"""Hashed word and character n-grams, computed exactly as scikit-learn's HashingVectorizer does (murmurhash3_32,
seed 0, |h| mod n, no alternate sign), without importing scikit-learn: that import costs over a second and
~40 MB in every server process and test run. `tests/unit/test_triage.py` checks the two agree bit for bit.
"""
from __future__ import annotations

import re

import mmh3
import numpy as np

WORD_BITS, CHAR_BITS = 17, 18
WORD_TOKEN = re.compile(r"(?u)[@#]?\w[\w']*|[!?]+|[\U0001F300-\U0001FAFF]")
_WHITE = re.compile(r"\s\s+")


def word_ngrams(text: str) -> list[str]:
    """Lower-cased tokens and their bigrams (sklearn's analyzer="word", ngram_range=(1, 2))."""
    tokens = WORD_TOKEN.findall(text.lower())
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def char_ngrams(text: str, lo: int = 2, hi: int = 5) -> list[str]:
    """sklearn's analyzer="char_wb": n-grams inside each space-padded word; a short word counts once."""
    out: list[str] = []
    for w in _WHITE.sub(" ", text.lower()).split():
        w = f" {w} "
        size = len(w)
        for n in range(lo, hi + 1):
            offset = 0
            out.append(w[:n])
            while offset + n < size:
                offset += 1
                out.append(w[offset:offset + n])
            if offset == 0:
                break
    return out


def hashed(grams: list[str], bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique column indices, counts) of the n-grams in a 2**bits space."""
    if not grams:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    h = np.fromiter((mmh3.hash(g.encode("utf-8"), 0, True) for g in grams), np.int64, len(grams))
    idx, counts = np.unique(np.abs(h) % (1 << bits), return_counts=True)
    return idx, counts.astype(np.float32)
