"""The applied clock: a policy started for one post, as the instants the queue stores and compares.

The clock starts at the post's own `created_at` (what the customer experiences), or at first-seen when the page
gave no time, or a time in the future (clock skew must not grant extra time).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from server.core import sla
from server.queue.policy import Policy


@dataclass(frozen=True)
class AppliedClock:
    created_at: float | None
    started_at: float
    due_soon_at: float
    deadline: float


def apply(policy: Policy, created_at: str | None, now: float) -> AppliedClock:
    created = sla.parse_instant(created_at)
    started = created.timestamp() if created is not None and created.timestamp() <= now else now
    start_dt = datetime.fromtimestamp(started, UTC)
    deadline = sla.deadline(start_dt, policy.target_minutes, policy.hours)
    due_soon_at = sla.deadline(start_dt, policy.target_minutes * (1 - policy.due_soon_fraction), policy.hours)
    return AppliedClock(created.timestamp() if created else None, started, due_soon_at.timestamp(),
                        deadline.timestamp())
