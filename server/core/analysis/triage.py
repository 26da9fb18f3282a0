"""Triage: the learned reading of a post (intent, sarcasm, urgency, language, who it is addressed to).

Core stays pure: the model itself (weights, language detector, stored corrections) lives in `server.triage` and
is handed in, either per call (`analyze(post, pack, model=...)`) or once per process with `register()` (what
`create_app` does). Without a model, analysis falls back to the keyword rules alone, so core and its tests work
without the artifact. The model only returns numbers (`Reading`); the decisions are made here, in one place.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from server.core.analysis.text import rx

SEVERITY_STEP = {"low": "normal", "normal": "high"}
EXAMPLE_MIN_SIM = 0.55   # cosine similarity (hashed TF-IDF) at which a pack's example post decides the intent
COMPLAINT_P, PRAISE_P = 0.5, 0.5
QUESTION_COMPLAINT_P = 0.65  # a question without a problem cue needs more ("why does it say delivered...?": 0.89)

# A stated time pressure: a deadline in hours or days, an event that cannot move, or plain "urgent".
TIME_PRESSURE = rx(
    r"\b(?:in|within|only|next|under|less than)\s+(?:\d+|an?|one|two|three|few|half an)\s*(?:min(?:ute)?s?|hours?|"
    r"hrs?|h)\b|\b(?:is|are|was|'s|starts?|leaves?|leaving|departs?|fly|flies|flying|due|needed|need it|need them)"
    r"\s+(?:tomorrow|tonight|this (?:morning|afternoon|evening))\b|\b(?:by|before|until) (?:tomorrow|tonight)\b"
    r"|\b(?:asap|urgent\w*|right now|"
    r"(?:need|needs|needed|must|have to|has to)\b[^.!?]{0,40}\btoday|(?:by|before) (?:the end of )?today|"
    r"immediately|emergency|by (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|tonight))\b"
    r"|\b(?:flight|train|bus|ferry|boat) (?:leaves|departs|boards|is at)\b|\b(?:boarding|departs?|leaves) (?:in|at)\b"
    r"|\b(?:wedding|funeral|interview|surgery|exam|court date|visa appointment)\b"
    r"|\b(?:mañana|urgente|demain|urgent|morgen|dringend|amanhã|domani|subito)\b")
_NO_CLOCK = ("praise", "spam", "abuse", "threat")
# Something expected has not happened ("the dress hasn't come", "never got my refund"): a problem the model's
# cue list misses, named here in the decision layer so the learned features stay as trained.
NOT_DONE = rx(r"\b(?:has ?n[o']?t|have ?n[o']?t|did ?n[o']?t|does ?n[o']?t|is ?n[o']?t|was ?n[o']?t|never|not yet|"
              r"still not|still no)\s+(?:\w+\s+){0,2}?(?:come|came|arrived?|shown up|turned up|shipped|been shipped|"
              r"been delivered|delivered|received|got|gotten|here|working|refunded|answered|replied)\b")


class Triage(Protocol):
    """What analysis needs from a triage model (server.triage.model.TriageModel is the real one)."""

    def read(self, text: str, pack: str, examples: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
        """{"heads": {complaint, praise, sarcasm, abuse: probability}, "cues": {problem, sarc_pos: count},
        "lang": code or None,
        "example": {"intent", "similarity"} or None}."""
        ...


_registered: list[Triage] = []


def register(model: Triage | None) -> None:
    """Make `model` the process's triage model (None: back to rules only). Called once by create_app."""
    _registered[:] = [model] if model is not None else []


def registered() -> Triage | None:
    return _registered[0] if _registered else None


def urgent(cleaned: str) -> bool:
    return bool(TIME_PRESSURE.search(cleaned))


def raise_for_urgency(severity: str, intent: str, is_urgent: bool) -> str:
    """A stated time pressure moves a case up one level (low -> normal -> high); never past high."""
    if not is_urgent or intent in _NO_CLOCK:
        return severity
    return SEVERITY_STEP.get(severity, severity)


def addressed_to_brand(text: str, handles: set[str]) -> bool:
    """False only when the post @-addresses someone and none of them is one of the pack's handles.

    A reply's leading @handles count the same as inline ones: "@OtherAir my bag is lost" is for OtherAir.
    A pack without handles cannot tell, so every post counts as addressed to it."""
    if not handles:
        return True
    named = {m.lower() for m in re.findall(r"(?<![\w@])@([A-Za-z0-9_]{1,30})", text)}
    return not named or bool(named & handles)


def sarcastic(reading: Mapping[str, Any], scores: Mapping[str, float]) -> bool:
    """Positive words about a bad situation: a confident irony head about a complaint, or a moderate one plus
    the contrast of positive words with a clear problem ("wrong house AGAIN. Great job 👏").

    TweetEval's irony is mostly not about customer care, so the irony head alone flags too much: both paths
    need a problem (see server/triage/evaluate.py for the trade-off)."""
    heads, cues = reading["heads"], reading.get("cues") or {}
    problems = int(cues.get("problem") or 0)
    if problems and heads["sarcasm"] >= 0.7 and heads["complaint"] >= COMPLAINT_P:
        return True
    positive_words = bool(cues.get("sarc_pos")) or scores.get("praise", 0) >= 2
    clear_problem = problems >= 2 or (problems and heads["complaint"] >= COMPLAINT_P)
    return bool(positive_words and clear_problem and heads["sarcasm"] >= 0.5)


def decide(rule_intent: str, scores: Mapping[str, float], reading: Mapping[str, Any], sarcasm: bool) -> str:
    """The intent from the rules' specific calls, a close pack example, then the learned heads.

    Threats, prompt injection, spam, safety, outages, insults and explicit requests ("could you cancel order
    50213") are specific: their rule call stands. A close match to one of the pack's example posts (or an agent's
    correction) comes next. Otherwise the heads decide complaint versus praise (a complaint phrased as a
    question is still a complaint), and the rules tell a question from a request."""
    if rule_intent in ("threat", "spam", "legal_safety", "outage", "abuse") or scores.get("injection", 0) >= 3:
        return rule_intent
    example = reading.get("example")
    if example and example["similarity"] >= EXAMPLE_MIN_SIM:
        return str(example["intent"])
    heads = reading["heads"]
    not_done = bool(NOT_DONE.search(str(reading.get("text", ""))))
    problem = bool((reading.get("cues") or {}).get("problem")) or not_done
    if sarcasm and heads["complaint"] >= 0.35:
        return "complaint"
    if rule_intent == "request" and scores.get("request", 0) >= 3:
        return "request"
    if reading.get("lang") not in (None, "en") and rule_intent in ("complaint", "praise"):
        return rule_intent  # the heads learned English; the rules carry es/fr/de cues
    if rule_intent == "praise" and not problem and heads["complaint"] < 0.7:
        return "praise"  # "fastest delivery ever ... Impressed!": the rules' praise cues, nothing wrong named
    if rule_intent == "question" and scores.get("question", 0) >= 2 and heads["complaint"] < QUESTION_COMPLAINT_P \
            and not problem:
        return "question"  # "do you ship to Canada?" reads a little negative to the head, not enough
    asks = rule_intent in ("question", "request") and scores.get(rule_intent, 0) >= 1
    if heads["praise"] >= PRAISE_P and (heads["praise"] >= heads["complaint"] or rule_intent == "praise") \
            and not asks and not not_done:
        return "praise"  # warm words around an ask ("a birthday gift ... can you get it there in 3?") stay an ask
    if heads["complaint"] >= COMPLAINT_P:
        return "complaint"
    if rule_intent == "praise" and heads["praise"] >= 0.35:
        return "praise"
    if rule_intent in ("question", "request") or (rule_intent == "complaint" and heads["complaint"] >= 0.3):
        return rule_intent
    r, q = scores.get("request", 0), scores.get("question", 0)
    if r >= 2 and r >= q:
        return "request"
    return "question" if q >= 1 or "?" in str(reading.get("text", "")) else \
        "praise" if heads["praise"] >= 0.4 else "request"
