"""Politeness 0..1 from politeness strategies (Danescu-Niculescu-Mizil et al., 2013).

A learned score rather than a rule: it feeds the "polite" label and the tone score, and the test suite checks its
ranking against human ratings (tests/data/politeness.csv).
"""
from __future__ import annotations

import math
import re

from server.core.tone.rx import rx

# Politeness strategies (Danescu-Niculescu-Mizil et al., 2013). Weights: a logistic fit on the Stack Exchange
# ratings (tests/data/politeness.csv) for the frequent strategies, the paper's signs for the rare ones (gratitude,
# apology, greeting, deference are too rare in those requests to fit, and matter most in care replies).
FEATURES: list[tuple[re.Pattern[str], float]] = [
    (rx(r"\b(?:thanks|thank you|thx|appreciate(?:d)?|grateful)\b"), 0.9),           # gratitude
    (rx(r"\b(?:great|good|nice|interesting|excellent|helpful|brilliant|awesome|cool) "
        r"(?:question|point|idea|work|answer|job|suggestion|catch|tip|explanation)\b"), 0.5),  # deference
    (rx(r"^\W*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening))\b"), 0.5),   # greeting
    (rx(r"\b(?:sorry|apologi[sz]e|apologies|excuse me|forgive me|pardon)\b"), 0.6), # apologizing
    (rx(r"(?<!^)(?<![.!?] )\bplease\b"), 0.4),                                       # please, mid-sentence
    (rx(r"^\W*please\b|[.!?]\s+please\b"), 0.1),                                     # please-start: weaker
    (rx(r"\bby the way\b|\bbtw\b|\bas an aside\b|\bjust curious\b|\bout of curiosity\b"), 0.2),  # indirect
    (rx(r"\b(?:i think|i believe|i suggest|i guess|i wonder|i was wondering|i'?m wondering|perhaps|maybe|possibly"
        r"|probably|might|seems?|it looks like|i assume|i suppose|in my opinion|imho|imo|not sure|i'?m not sure"
        r"|i may be|i might be|correct me)\b"), 0.3),                                  # hedges
    (rx(r"\b(?:could|would) you\b|\bwould it be\b|\bif (?:possible|you (?:don'?t|do not) mind|you could|you can)\b"
        r"|\bwould you mind\b|\bdo you mind\b"), 0.5),                                # counterfactual modal
    (rx(r"\b(?:can|will) you\b"), 0.45),                                              # indicative modal
    (rx(r"\b(?:i|my|mine|i'm|i've|i'd|i'll)\b"), 0.15),                               # 1st person
    (rx(r"\b(?:help|helpful|kind|kindly|happy to|glad|hope|hopefully)\b"), 0.2),     # positive/kind
    (rx(r"\bany (?:ideas?|help|suggestions?|pointers|thoughts|hints?|advice)\b|\bis there (?:a|any)\b"), 0.1),
    (rx(r"\bor (?:is|are|do|does|did|should|would|can|what)\b|\bor not\b"), 0.15),
    (re.compile(r":\)|:-\)|;\)|:D"), 0.3),                                             # smiley
    (rx(r"\bwhy\b"), -0.75),                                                          # why-questions
    (rx(r"(?:^|[.!?]\s+)(?:you|your|u)\b"), -0.4),                                    # 2nd person start
    (rx(r"\b(?:actually|in fact|the point is|the reality|the truth is|really|obviously|clearly|of course"
        r"|honestly|simply|just)\b"), -0.2),                                           # factuality
    (rx(r"\b(?:no|not|don'?t|doesn'?t|didn'?t|isn'?t|aren'?t|can'?t|won'?t|never|nothing|wrong|bad|problem)\b"),
     -0.45),                                                                             # negativity
    (rx(r"\?[^?]*\?"), -0.25),                                                         # question after question
    (rx(r"\bwhat do you mean\b|\bwhat'?s the point\b|\bwhat exactly\b"), -0.4),
    (rx(r"\b(?:seriously|huh|hmm|ugh)\b|\breally\?"), -0.3),
    (re.compile(r"\.\.\."), -0.3),                                                      # trailing off
    (re.compile(r"[!?]{2,}|\b[A-Z]{4,}\b"), -0.6),                                       # shouting
    (rx(r"\b(?:stupid|idiot|dumb|ridiculous|nonsense|pointless|useless|silly|lazy|wtf|hell|damn|crap)\b"), -1.2),
]
_POLITE_BIAS = -0.35
_POLITE_LENGTH = 0.5  # longer requests read as more considerate (log of the word count)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def politeness(text: str) -> float:
    """Politeness 0..1 from politeness strategies (gratitude, apology, hedges, indirect requests, against
    why-questions, second-person starts, factuality, negativity). See `FEATURES`."""
    t = text.replace("’", "'").strip()
    s = _POLITE_BIAS + _POLITE_LENGTH * math.log1p(len(t.split())) / 3
    for pattern, w in FEATURES:
        n = len(pattern.findall(t))
        if n:
            s += w * min(n, 3)
    return sigmoid(2.0 * s)

