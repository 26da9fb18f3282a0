"""Empathy first: an upset customer needs to hear they were understood before they hear the fix."""
from __future__ import annotations

from server.core.tone.draft import Draft
from server.core.tone.registry import Finding, finding, rule
from server.core.tone.rewrite import add_at_start

OPENER = "I'm sorry about this, I can see why it's frustrating."


@rule("missing_empathy", "warn", "The customer is upset but the draft does not acknowledge it before the fix.")
def missing_empathy(d: Draft) -> list[Finding]:
    """Only with context that says the customer is upset (analysis or post): without it the rule cannot know."""
    ack, action = d.ack, d.action
    if not d.customer.upset or (ack is not None and (action is None or ack.start() <= action.start())):
        return []
    first = d.sentences[0] if d.sentences else (0, d.n)
    if ack is None:
        msg = "The customer is upset and the reply does not acknowledge it. Start with empathy before the fix."
    else:
        msg = "The acknowledgement comes after the fix. Acknowledge how they feel first, then fix it."
    return [finding("missing_empathy", msg, (first[0], first[1]), add_at_start(d.text, OPENER, d.customer.name))]
