"""Sentiment: VADER's compound score of a text, from -1 (very negative) to +1.

The analyzer is a module-level, read-only cache of the lexicon: loading it costs ~50 ms, scoring a post ~0.1 ms.
"""
from __future__ import annotations

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

_VADER = SentimentIntensityAnalyzer()


def compound(text: str) -> float:
    """VADER's compound score; 0.0 for empty text (VADER would say the same, slower)."""
    return _VADER.polarity_scores(text)["compound"] if text else 0.0
