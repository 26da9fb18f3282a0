"""The SLA policy a post gets: its response target, due-soon fraction and business hours, from the pack.

The pack's precedence, in one place: a severity override wins, then an intent override, then the channel's
default (`sla.target_minutes`). The policy is stored with the item when it is tracked, so a later pack edit
never moves a promise already made.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from server.core import sla
from server.core.packview import view_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    target_minutes: float
    due_soon_fraction: float
    hours: sla.BusinessHours | None


def policy_for(pack: Any, platform: str, intent: str | None, severity: str | None) -> Policy:
    rules = view_of(pack).sla
    minutes = sla.target_minutes(rules, platform, intent, severity)
    fraction = float(rules.get("due_soon_fraction") or sla.DEFAULT_DUE_SOON_FRACTION)
    try:
        hours = sla.parse_hours(rules.get("business_hours"))
    except sla.HoursError as exc:
        log.warning("pack %s: business hours ignored (clock always runs): %s", pack.name, exc)
        hours = None
    return Policy(minutes, fraction, hours)


# Intents the queue keeps off the clock when the pack's playbook says nothing (the playbook's own default for
# abuse and spam; threats are never engaged either). A pack's `engage = true|false` on the intent wins.
NOT_ENGAGED_BY_DEFAULT = ("abuse", "spam", "threat")
# Intents escalated the moment they are tracked: the customer's or the public's safety, a legal threat.
ESCALATED_INTENTS = ("legal_safety",)
SEVERITY_RANK = {"low": 0, "normal": 1, "high": 2, "critical": 3}


def engages(pack: Any, intent: str | None) -> bool:
    """Whether the pack answers this intent at all; a post it does not engage gets no response clock."""
    if not intent:
        return True
    engage = view_of(pack).intent(intent).get("engage")
    if engage is None:
        return intent not in NOT_ENGAGED_BY_DEFAULT
    return bool(engage)


def escalation_reason(intent: str | None) -> str | None:
    """Why a post is escalated when tracked (its intent), or None."""
    return intent if intent in ESCALATED_INTENTS else None


def rank(severity: str | None, urgent: bool | None) -> int:
    """The queue's first sort key: severity (critical > high > normal > low), then the urgent flag.

    Time left is the second key (the deadline), so a thank-you note never outranks a stranded passenger."""
    return SEVERITY_RANK.get(severity or "normal", 1) * 2 + (1 if urgent else 0)
