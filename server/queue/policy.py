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
