"""Readability: the Flesch-Kincaid grade, with syllables counted here.

textstat 0.7 looks English words up in NLTK's cmudict, which it downloads on first use; the tone check must never
touch the network, so the grade formula is computed from a vowel-group syllable count instead.
"""
from __future__ import annotations

import re
from functools import lru_cache

from server.core.tone.patterns import WORD_RE

_VOWELS_RE = re.compile(r"[aeiouy]+")
_SENT_END_RE = re.compile(r"[.!?]+(?=\s|$)")


@lru_cache(maxsize=8192)
def syllables(word: str) -> int:
    """Syllables by vowel groups, less a silent final e and a silent -ed: within one syllable on ~9 in 10 English
    words, which is all a grade formula needs."""
    w = word.lower().strip("'")
    if w.endswith("'s"):
        w = w[:-2]
    n = len(_VOWELS_RE.findall(w))
    if n > 1 and w.endswith("e") and not w.endswith(("le", "ee", "ye")):
        n -= 1
    if n > 1 and len(w) > 3 and w.endswith("ed") and w[-3] not in "aeioutdy":
        n -= 1
    return max(1, n)


def readability_grade(text: str) -> float:
    """Flesch-Kincaid grade level (the formula textstat's `flesch_kincaid_grade` uses). Syllables are counted
    here because textstat 0.7 looks English words up in NLTK's cmudict, which it downloads on first use: the tone
    check must never touch the network."""
    words = WORD_RE.findall(text)
    if not words:
        return 0.0
    sentences = max(1, len(_SENT_END_RE.findall(text)))
    syl = sum(syllables(w) for w in words)
    return 0.39 * len(words) / sentences + 11.8 * syl / len(words) - 15.59


def readability_tolerance(words: int) -> float:
    """Grades above the pack's target that still pass: grade formulas swing by a grade or two on a single short
    sentence, so a short draft must be clearly over before the agent is told to rewrite it."""
    return 2.0 if words < 30 else 1.0 if words < 60 else 0.0

