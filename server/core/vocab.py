"""The product's shared vocabulary, defined once: every part imports these rather than spelling them again.

The contract (docs/DESIGN.md) names the same values; `tests/unit/test_vocab.py` keeps the two in step.
"""
from __future__ import annotations

PLATFORMS: tuple[str, ...] = ("x", "facebook")
INTENTS: tuple[str, ...] = ("complaint", "question", "request", "praise", "outage", "legal_safety", "abuse", "spam",
                             "threat")
SEVERITIES: tuple[str, ...] = ("low", "normal", "high", "critical")
# QueueItem states: the open ones (a clock that can still run), then the final ones.
ACTIVE_STATES: tuple[str, ...] = ("waiting", "due_soon", "overdue", "snoozed")
FINAL_STATES: tuple[str, ...] = ("replied", "dismissed")
# A tracked post the pack does not engage (engage = false: abuse, spam, threats): open, but on no clock.
UNTIMED_STATES: tuple[str, ...] = ("no_reply",)
STATES: tuple[str, ...] = ACTIVE_STATES + UNTIMED_STATES + FINAL_STATES
