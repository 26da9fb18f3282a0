"""Sentiment with VADER (bundled lexicon, no download), run only where it can matter.

VADER's analyzer is the costliest step of the check, so `compound` short-cuts sentences that nothing can turn
negative, and `summarize` skips apology and empathy sentences: their negative words describe the customer's
problem, which is sympathy, not hostility.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from vaderSentiment.vaderSentiment import NEGATE, SentimentIntensityAnalyzer

from server.core.tone.patterns import ACK_RE, ACTION_RE, URL_RE
from server.core.tone.text import Span, words

vader = SentimentIntensityAnalyzer()

_NEGATE = frozenset(NEGATE)
_VADER_TOKEN_RE = re.compile(r"[a-z']+")


def compound(chunk: str) -> float:
    """VADER's compound score. The analyzer (the costliest step of the check) runs only when the sentence has a
    word VADER scores negative or a negation; otherwise nothing can turn it negative, and the sum of its words'
    valences, normalized the way VADER normalizes, is close enough for the labels."""
    lex = vader.lexicon
    total = 0.0
    for w in _VADER_TOKEN_RE.findall(chunk.lower()):
        v = lex.get(w, 0.0)
        if v < 0 or w in _NEGATE or w.endswith("n't"):
            return vader.polarity_scores(chunk)["compound"]
        total += v
    return total / math.sqrt(total * total + 15) if total else 0.0


@dataclass(frozen=True)
class Sentiment:
    """How the draft reads, sentence by sentence (apologies and empathy left out)."""

    overall: float  # word-weighted mean compound score of the scored sentences
    worst: float  # the most negative sentence's score (0.0 when none is negative)
    worst_span: Span
    hostile_sentence: bool  # some sentence is clearly hostile on its own
    scored_action: bool  # some scored sentence is about a fix, so it may name the problem


def summarize(t: str, spans: list[Span]) -> Sentiment:
    """Score each sentence of `t` that is not an apology or empathy."""
    worst = (0.0, (0, len(t)))
    hostile_sentence = False
    weighted = 0.0
    weight = 0
    scored_action = False
    for s, e in spans:
        chunk = t[s:e]
        if ACK_RE.search(chunk):
            continue  # an apology or empathy sentence describes the problem; its negativity is sympathy
        chunk = URL_RE.sub(" ", chunk)
        n = len(words(chunk))
        c = compound(chunk)
        weighted += c * n
        weight += n
        acts = ACTION_RE.search(chunk) is not None
        scored_action = scored_action or acts
        # A sentence about a fix ("we've fixed the broken link") names the problem: it must be clearly hostile.
        if c <= (-0.65 if acts else -0.45):
            hostile_sentence = True
        if c < worst[0]:
            worst = (c, (s, e))
    return Sentiment(overall=weighted / weight if weight else 0.0, worst=worst[0], worst_span=worst[1],
                     hostile_sentence=hostile_sentence, scored_action=scored_action)
