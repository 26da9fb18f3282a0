"""From findings to a report: the style labels, the 0..100 score and the verdict.

The score starts at 100, loses a fixed penalty per finding by severity and moves a little with the labels (a
defensive or frustrated reading costs, politeness and sympathy earn), so two drafts with the same findings still
rank by how they read. The verdict is the worst severity found: "block" means the draft must not be sent as is,
and the LLM guard relies on that.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from server.core.tone.draft import Draft
from server.core.tone.patterns import (
    APOLOGY_RE,
    CONTRACTION_RE,
    FORMAL_RE,
    FRIENDLY_RE,
    INFORMAL_RE,
    SYMPATHY_RE,
)
from server.core.tone.politeness import politeness, sigmoid
from server.core.tone.registry import Finding

LABELS = ("polite", "sympathetic", "apologetic", "formal", "friendly", "defensive", "frustrated")
PENALTY = {"block": 35, "warn": 12, "info": 2}


def labels(d: Draft, findings: Sequence[Finding]) -> dict[str, float]:
    """Each label 0..1, rounded to 3 places, from the draft's style cues and what the rules found."""
    text, t = d.text, d.flat
    rules = {f["rule"] for f in findings}
    name = d.customer.name
    sentiment = d.sentiment.overall
    has_emoji = bool(d.emojis)
    words = max(1, len(d.words))
    apologies = len(APOLOGY_RE.findall(t))
    sympathy = len(SYMPATHY_RE.findall(t))
    formal = len(FORMAL_RE.findall(t))
    informal = len(INFORMAL_RE.findall(t))
    contractions = len(CONTRACTION_RE.findall(t))
    friendly = len(FRIENDLY_RE.findall(t)) + (1 if name and name.lower() in text.lower() else 0)
    defensive = d.hostile_hits + sum(1 for f in findings if f["rule"] == "banned_phrase")
    frustration = (2.0 * ("insult" in rules) + 1.2 * ("shouting" in rules) + 1.0 * ("punctuation_pile" in rules)
                   + 0.8 * ("sarcasm" in rules) + 0.8 * ("argumentative_phrase" in rules)
                   + max(0.0, -sentiment) * 2.0)
    polite = politeness(text)
    if defensive:
        polite *= 0.6 ** min(defensive, 3)
    if "insult" in rules:
        polite *= 0.3
    lab = {
        "polite": polite,
        "sympathetic": 1 - math.exp(-0.9 * sympathy),
        "apologetic": 1 - math.exp(-1.1 * apologies),
        "formal": sigmoid(0.9 * formal - 0.7 * informal - 0.45 * contractions - (0.8 if has_emoji else 0)
                          + (0.3 if words > 25 else 0)),
        "friendly": sigmoid(0.8 * friendly + 0.3 * (has_emoji) + 1.5 * max(0.0, sentiment) - 1.5 * defensive - 1.0),
        "defensive": 1 - math.exp(-0.8 * defensive),
        "frustrated": 1 - math.exp(-0.9 * frustration),
    }
    return {k: round(min(1.0, max(0.0, v)), 3) for k, v in lab.items()}


def score(findings: Sequence[Finding], lab: dict[str, float]) -> int:
    """0..100: penalties by severity, then the labels' nudge."""
    s = 100.0
    for f in findings:
        s -= PENALTY[f["severity"]]
    s -= 15 * max(lab["defensive"], lab["frustrated"])
    s += 4 * (lab["polite"] - 0.5) + 3 * max(lab["sympathetic"], lab["apologetic"])
    return int(round(max(0.0, min(100.0, s))))


def verdict(findings: Sequence[Finding]) -> str:
    if any(f["severity"] == "block" for f in findings):
        return "block"
    if any(f["severity"] == "warn" for f in findings):
        return "warn"
    return "ok"
