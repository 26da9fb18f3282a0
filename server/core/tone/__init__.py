"""Tone check: what a supervisor would say about a draft reply, fast enough to run on every keystroke.

Pure logic, no I/O and no model downloads: VADER (bundled lexicon), twitter-text's URL and emoji rules for X's
weighted length, the Flesch-Kincaid grade, and hand-written lexicons of the phrases customer-care teams coach
agents out of. Every finding carries a rule id (see `RULES`), a severity, a span into the draft (Python str
indices, so the extension can highlight it), a message a person understands and, where one exists, a
suggestion: always the whole draft rewritten with that one fix, so a client can offer "apply". Findings of
severity "block" mean the draft must not be sent as is; the LLM guard relies on that.

How it works, one module per step (`check` in `pipeline.py` runs them):

1. `draft.py`: the draft, its channel (`server.core.packview`), its customer context, and its features
   (sentences, links, emoji, weighted length, sentiment, cues), each computed once on first use.
2. `rules/`: one small function per rule, registered in `registry.py` with its id, default severity and a
   one-line doc; the check runs every registered rule over the draft and collects their findings.
3. `scoring.py`: labels, the 0..100 score, the verdict; rules of the "scored" phase (low_score) run after it.

What the rules read with: `patterns.py` and `lexicon.py` (regexes, compiled once by `rx.py` with a
first-character lookahead), `length.py` (X's weighted count), `sentiment.py` (VADER, only where it can matter),
`readability.py`, `politeness.py`, `leak.py` (system prompt echoes), `phrases.py` (patterns from the pack),
`text.py` (sentences, phone numbers, hosts) and `rewrite.py` (the "apply" suggestions).

Why each piece:
- Pack-driven rules (banned/required phrases, allowed domains, signature, channel limits, readability) come
  from the pack, so supervisors tune them without code changes.
- Context rules (empathy, personalization, usefulness) need the post or its analysis: without them the check
  cannot know whether the customer is upset or who they are, so it stays quiet rather than guess.
- A 280-character draft takes about 1 ms (bench/bench_tone.py).
"""
from __future__ import annotations

from server.core.tone.draft import ACTION_INTENTS, UPSET_INTENTS, Customer, Draft
from server.core.tone.leak import echoes
from server.core.tone.length import weigh as _weigh
from server.core.tone.length import weighted_length
from server.core.tone.lexicon import COMBINED as _COMBINED
from server.core.tone.lexicon import INSULT_RE as _INSULT_RE
from server.core.tone.lexicon import LEXICONS
from server.core.tone.patterns import (
    ACCOUNT_NO_RE,
    ACK_RE,
    ACRONYMS,
    ACTION_RE,
    APOLOGY_RE,
    ASK_RE,
    CARD_RE,
    CONTRACTION_RE,
    DEFLECT_RE,
    DM_RE,
    EMAIL_RE,
    EXCLAIM_RE,
    FORMAL_RE,
    FRIENDLY_RE,
    HANDLE_RE,
    INFORMAL_RE,
    NEGATION_RE,
    OWNER_RE,
    PERSONAL_ITEMS,
    PERSONAL_RE,
    PHONE_RE,
    PILE_RE,
    PLEASANTRY_RE,
    PUBLIC_RE,
    REFERENCE_BEFORE_RE,
    SECRET_ITEMS,
    SECRET_RE,
    SENTENCE_RE,
    SHOUT_TOKEN_RE,
    SIGNATURE_RE,
    STOPWORDS,
    STREET_RE,
    SYMPATHY_RE,
    URL_RE,
    WORD_RE,
)
from server.core.tone.pipeline import check
from server.core.tone.politeness import FEATURES as _POLITE_FEATURES
from server.core.tone.politeness import politeness
from server.core.tone.readability import readability_grade, readability_tolerance, syllables
from server.core.tone.registry import SEVERITY_LEVELS, Finding, Rule, all_rules, lookup, rule
from server.core.tone.rewrite import GREETING_RE as _GREETING_RE
from server.core.tone.rules.usefulness import NEXT_STEP
from server.core.tone.scoring import LABELS, PENALTY

# Derived from the registry (the one source of rule metadata), in run order: rule id -> one-line doc / severity.
RULES: dict[str, str] = {r.id: r.doc for r in all_rules()}
SEVERITIES: dict[str, str] = {r.id: r.severity for r in all_rules()}

__all__ = [
    # the check and its public helpers
    "check", "weighted_length", "politeness", "echoes", "readability_grade", "readability_tolerance", "syllables",
    # the rule registry
    "RULES", "SEVERITIES", "SEVERITY_LEVELS", "Rule", "Finding", "all_rules", "lookup", "rule", "Draft", "Customer",
    # report vocabulary
    "LABELS", "PENALTY", "UPSET_INTENTS", "ACTION_INTENTS", "NEXT_STEP",
    # lexicons and patterns (tests check every lookahead-prefixed pattern matches like its plain form)
    "LEXICONS", "ACRONYMS", "STOPWORDS", "SECRET_ITEMS", "PERSONAL_ITEMS",
    "ACCOUNT_NO_RE", "ACK_RE", "ACTION_RE", "APOLOGY_RE", "ASK_RE", "CARD_RE", "CONTRACTION_RE", "DEFLECT_RE",
    "DM_RE", "EMAIL_RE", "EXCLAIM_RE", "FORMAL_RE", "FRIENDLY_RE", "HANDLE_RE", "INFORMAL_RE", "NEGATION_RE",
    "OWNER_RE", "PERSONAL_RE", "PHONE_RE", "PILE_RE", "PLEASANTRY_RE", "PUBLIC_RE", "REFERENCE_BEFORE_RE",
    "SECRET_RE", "SENTENCE_RE", "SHOUT_TOKEN_RE", "SIGNATURE_RE", "STREET_RE", "SYMPATHY_RE", "URL_RE", "WORD_RE",
    # internals tests reach for
    "_weigh", "_COMBINED", "_POLITE_FEATURES", "_INSULT_RE", "_GREETING_RE",
]
