"""Usefulness: a reply must answer, act or say what happens next, not only send the customer elsewhere.

The two rules are one decision (`Draft.owes_next_step`, `Draft.deflection_span`): a draft with no own action that
points elsewhere is a deflection; one that points nowhere but owes a next step is missing it. Never both.
"""
from __future__ import annotations

from server.core.tone.draft import NO_REPLY_OWED, Draft
from server.core.tone.registry import Finding, finding, rule
from server.core.tone.rewrite import add_before_signature

NEXT_STEP = "I'm looking into this now and will update you here within the hour."


def _without_action(d: Draft) -> bool:
    return d.action is None and d.customer.intent not in NO_REPLY_OWED


def _deflects(d: Draft) -> bool:
    """Points elsewhere: a deflecting phrase or a phone line always counts; a bare link only when a step is owed."""
    if d.deflection_span is None:
        return False
    strong = d.deflect is not None or bool(d.phones)
    return strong or d.owes_next_step


@rule("deflection", "warn", "The draft only sends the customer elsewhere (a link, a phone line, another team).")
def deflection(d: Draft) -> list[Finding]:
    if not (_without_action(d) and _deflects(d)):
        return []
    return [finding("deflection", "The reply only sends the customer elsewhere. Answer or act yourself, and say "
                    "what happens next.", d.deflection_span, add_before_signature(d.text, NEXT_STEP))]


@rule("missing_next_step", "warn", "The draft gives no answer, action or next step.")
def missing_next_step(d: Draft) -> list[Finding]:
    if not (_without_action(d) and d.owes_next_step and not _deflects(d)):
        return []
    return [finding("missing_next_step", "There is no answer, action or next step. Say what you will do and when.",
                    (d.end, d.end), add_before_signature(d.text, NEXT_STEP))]
