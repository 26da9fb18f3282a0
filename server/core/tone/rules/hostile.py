"""Hostile wording: the phrases care teams coach agents out of (`lexicon.py`), and insults.

The four phrase rules share one scan per lexicon (`Draft.lexicon_hits`); a match the pack's banned phrases
already cover is left to the banned_phrase finding, so the agent is not told twice.
"""
from __future__ import annotations

from server.core.tone.draft import Draft
from server.core.tone.lexicon import COMBINED
from server.core.tone.registry import Finding, finding, rule
from server.core.tone.rewrite import replace_span
from server.core.tone.text import overlaps


def _phrase_findings(d: Draft, rule_id: str, message: str) -> list[Finding]:
    suggestions = COMBINED[rule_id][1]
    out = []
    for m in d.lexicon_hits[rule_id]:
        if overlaps(m.span(), d.banned_spans):
            continue  # the pack's own banned_phrase finding already covers it
        sug = suggestions[int(m.lastgroup[1:])] if m.lastgroup else None
        out.append(finding(rule_id, message.format(m=m.group(0).strip(" ,")), m.span(),
                           replace_span(d.text, m.span(), sug) if sug is not None else None))
    return out


@rule("defensive_phrase", "warn", "Defensive wording ('as I said', 'per our policy', 'nothing we can do').")
def defensive_phrase(d: Draft) -> list[Finding]:
    return _phrase_findings(d, "defensive_phrase", "'{m}' sounds defensive; customers hear it as an excuse. Say "
                            "what you can do instead.")


@rule("blaming_phrase", "warn", "Wording that blames the customer ('you should have', 'your fault').")
def blaming_phrase(d: Draft) -> list[Finding]:
    return _phrase_findings(d, "blaming_phrase", "'{m}' blames the customer. Stay passive: focus on the fix, not "
                            "on what they did.")


@rule("argumentative_phrase", "warn", "Argumentative or dismissive wording ('calm down', 'that's not true').")
def argumentative_phrase(d: Draft) -> list[Finding]:
    return _phrase_findings(d, "argumentative_phrase", "'{m}' argues with or dismisses the customer. Acknowledge "
                            "their view instead.")


@rule("sarcasm", "warn", "Sarcasm markers ('oh great', 'thanks a lot', 'yeah right', eye-roll emoji).")
def sarcasm(d: Draft) -> list[Finding]:
    return _phrase_findings(d, "sarcasm", "'{m}' can read as sarcasm; in writing it almost always lands badly.")


@rule("insult", "block", "Insults or profanity aimed at the customer.")
def insult(d: Draft) -> list[Finding]:
    """Never acceptable, however rude the customer was: blocks the draft."""
    return [finding("insult", f"'{m.group(0)}' is insulting or profane; a brand never uses it with a customer, "
                    "even a rude one.", m.span(), replace_span(d.text, m.span(), "")) for m in d.insults]
