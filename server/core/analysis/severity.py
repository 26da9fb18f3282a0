"""Severity: how urgent a post is (low, normal, high, critical), from its intent, its sentiment and the cues a
care agent would notice (shouting, repeated "!!!", threats to cancel or sue, injury, stranded or vulnerable
customers, tagging the brand over and over, chasing an earlier answer).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from server.core.analysis.text import rx
from server.core.vocab import SEVERITIES

# --- Severity cues ------------------------------------------------------------------------------------------
CHURN = rx(r"\b(never again|never (buying|ordering|shopping|using|flying)|cancel(l?ing)? my (account|"
           r"subscription|membership|card)|switch(ing)? to|taking my (business|money) elsewhere|i'?m done with|"
           r"i am done|done with \w+|last time i|close my account|go(ing)? elsewhere|do not buy|don'?t buy)\b")
LEGAL_THREAT = rx(r"\b(lawyers?|attorneys?|solicitors?|sue|suing|lawsuit|legal action|court|small claims|"
                  r"class action|data breach)\b")
INJURY = rx(r"\b(burn(ed|t|s)?|injur\w*|hurt|bleeding|hospital|a&e|ambulance|allergic|anaphyla\w*|chok\w*|"
            r"poison\w*|shock|electrocut\w*|fire|sparked|explod\w*|cut her|cut his|cut my|glass shards)\b")
REPEAT = rx(r"\b(again|still|second time|third time|(two|three|four|five|\d+) times|once more|another|"
            r"toujours)\b")
VULNERABLE = rx(r"\b(kids|children|baby|toddler|elderly|pregnant|disabled|wheelchair|medical|medication|"
                r"vulnerable|rent|my (son|daughter) (is|was|got))\b")
STRANDED = rx(r"\b(stranded|stuck (at|in) (the )?(airport|station|gate|terminal|hotel|abroad)|sleeping at the "
              r"airport|no way (to get )?home|missed (my|our) connection)\b")
URGENT = rx(r"\b(urgent(ly)?|asap|immediately|right now|emergency|today|tonight)\b")
MONEY = rx(r"\b(charged|refund|money|paid|payment|stole|card|£|\$|€)")

PLAYFUL = rx(r"\b(haha+|hehe|lol|lmao|😂|🤣)|😂|🤣|😍|🥰|😄|😁|😆|😊|😉|😜|🎉|🥳|❤️|💕|🙌|✨|🧁|🎂|🍰|:\)|:D")


def _caps(text: str) -> tuple[float, list[str]]:
    """The share of capital letters (0 for short texts) and the words written in capitals, acronyms aside."""
    letters = [c for c in text if c.isalpha()]
    upper = sum(1 for c in letters if c.isupper())
    ratio = upper / len(letters) if len(letters) >= 12 else 0.0
    words = [w for w in re.findall(r"\b[A-Z]{3,}\b", text) if w not in {"USA", "ATM", "API", "DM", "FAQ", "UK",
                                                                        "EU", "PIN", "SMS", "URL", "NHS", "CEO"}]
    return ratio, words


def severity_level(intent: str, sentiment: float, cues: list[str]) -> str:
    """Map the intent's base level plus escalating cues to low/normal/high/critical."""
    base = {"praise": 0, "spam": 0, "abuse": 0, "question": 0, "request": 1, "complaint": 1, "outage": 2,
            "legal_safety": 2, "threat": 2}[intent]
    if intent in ("praise", "spam"):
        return "low"
    if intent == "legal_safety":
        return "critical" if {"injury", "legal_threat"} & set(cues) else "high"
    if intent == "threat":
        return "critical"  # violence aimed at people: security sees it first
    if intent == "abuse":
        return "normal" if "threat" in cues else "low"
    points = 0.0
    weights = {"very_negative": 1.0, "negative": 0.5, "shouting": 1.0, "caps_emphasis": 0.5,
               "repeated_punctuation": 0.5, "churn_threat": 1.0, "repeat_contact": 1.0, "follow_up": 1.0,
               "vulnerable": 1.0, "stranded": 1.5, "many_mentions": 1.0, "urgent": 0.5,
               "money": 0.5}
    for cue in cues:
        points += weights.get(cue, 0.0)
    if intent == "outage":
        return "critical" if points >= 2.5 and ("vulnerable" in cues or "urgent" in cues) else "high"
    if intent == "question":
        return "high" if points >= 3 else "normal" if points >= 1 else "low"
    level = base + (2 if points >= 3 else 1 if points >= 1.5 else 0)
    if intent == "complaint" and "stranded" in cues and "vulnerable" in cues:
        level = 3
    elif level >= 3 and points < 4:
        level = 2  # critical is kept for safety, stranded customers and the angriest repeat failures
    return SEVERITIES[min(level, 3)]


def _tone_cues(text: str, cleaned: str) -> list[str]:
    """How the post is written: shouting, capitals for emphasis, piled-up punctuation."""
    out = []
    ratio, caps_words = _caps(cleaned)
    if ratio >= 0.6:
        out.append("shouting")
    elif caps_words:
        out.append("caps_emphasis")
    if re.search(r"[!?]{2,}|!\s*!", text):
        out.append("repeated_punctuation")
    return out


def _content_cues(cleaned: str, intent: str) -> list[str]:
    """What the post says: threats to leave or sue, injury, a repeat contact, a vulnerable or stranded customer,
    urgency, money."""
    low = cleaned.lower()
    found = [("churn_threat", CHURN.search(low)), ("legal_threat", LEGAL_THREAT.search(low)),
             ("injury", INJURY.search(low) and intent == "legal_safety"), ("repeat_contact", REPEAT.search(low)),
             ("vulnerable", VULNERABLE.search(low)), ("stranded", STRANDED.search(low)),
             ("urgent", URGENT.search(cleaned) or re.search(r"\bNOW\b", cleaned)),
             ("money", MONEY.search(low) and intent == "complaint")]
    return [cue for cue, hit in found if hit]


def cues(text: str, cleaned: str, intent: str, sentiment: float, scores: Mapping[str, float],
         mentions: tuple[int, int], thread: Mapping[str, Any] | None) -> list[str]:
    """Every cue that raises (or explains) the severity, in a stable order the agent reads as the reasons.

    `mentions` is (brand mentions, all mentions); `thread` is the thread summary, when the post has a thread."""
    out = _tone_cues(text, cleaned) + _content_cues(cleaned, intent)
    brand_mentions, all_mentions = mentions
    if brand_mentions >= 2 or all_mentions >= 4:
        out.append("many_mentions")
    if sentiment <= -0.6:
        out.append("very_negative")
    elif sentiment <= -0.3:
        out.append("negative")
    if intent == "abuse" and re.search(r"\b(i will|i'll|gonna) (find|hurt|kill|burn)\b", cleaned.lower()):
        out.append("threat")
    if scores.get("injection", 0) >= 3:
        out.append("prompt_injection")
    if thread and thread.get("brand_replied") and intent in ("complaint", "question", "request"):
        out.append("follow_up")
        if "repeat_contact" not in out:
            out.append("repeat_contact")
    return out


def lighthearted(text: str, sentiment: float, intent: str) -> bool:
    """A playful, happy post that a reply may answer in kind (an emoji, a light line)."""
    return bool(PLAYFUL.search(text)) and sentiment >= 0.05 and intent in ("praise", "question", "request")
