"""When to notify (pure) and how (backends).

Rules the policy keeps, so the agent is alerted without being flooded:
- once per post and level: one notification when a post becomes due soon, one when it becomes overdue;
- a level already notified is never notified again, also not after a reconnect's fresh snapshot;
- what piles up at once (a snapshot after a reconnect, several posts crossing in the same moment) becomes at most
  ONE summary notification;
- while paused, crossings are remembered as seen and dropped, not delivered later in a burst;
- an escalated post (legal_safety, or escalated by someone) gets one notice of its own, once, also while paused
  (an escalation is a promise to act, not a reminder), and is never folded into a summary.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tray.state import Crossing, Item, QueueState, clock_text

LEVELS = ("due_soon", "overdue")
ESCALATED = "escalated"


@dataclass(frozen=True)
class Notification:
    title: str
    message: str
    level: str  # "due_soon" | "overdue" | "summary" | "escalated"
    ids: tuple[str, ...]


@dataclass
class NotifyPolicy:
    """Remembers which (post, level) pairs were notified and whether notifications are paused."""

    notified: dict[str, set[str]] = field(default_factory=dict)
    paused_until: float = 0.0
    escalated: set[str] = field(default_factory=set)  # kept for the tray's life: a notice once per post

    def pause(self, minutes: float, now: float) -> None:
        self.paused_until = now + minutes * 60

    def resume(self) -> None:
        self.paused_until = 0.0

    def paused(self, now: float) -> bool:
        return now < self.paused_until

    def fresh(self, crossings: Iterable[Crossing]) -> list[Crossing]:
        """The crossings not notified before, marked as notified now (overdue also covers due soon)."""
        out: list[Crossing] = []
        for c in crossings:
            if c.level not in LEVELS:
                continue
            seen = self.notified.setdefault(c.item.id, set())
            if c.level in seen:
                continue
            seen.add(c.level)
            if c.level == "overdue":
                seen.add("due_soon")  # a late "due soon" after "overdue" would be noise
            out = [o for o in out if o.item.id != c.item.id]  # one line per post: the highest level wins
            out.append(c)
        return out

    def forget_gone(self, state: QueueState) -> None:
        """Drop memory of posts that left the queue, or that went back to waiting/snoozed (they may cross again)."""
        for pid in list(self.notified):
            item = state.items.get(pid)
            if item is None:
                # Keep the memory across a disconnect: the snapshot after a reconnect must not re-notify.
                if state.connected:
                    del self.notified[pid]
            elif item.state in ("waiting", "snoozed"):
                del self.notified[pid]
            elif item.state == "due_soon":
                self.notified[pid].discard("overdue")

    def decide(self, crossings: Iterable[Crossing], state: QueueState, now: float) -> list[Notification]:
        """Notifications for a batch of crossings that arrived together: one per newly escalated post, and one
        for the due soon / overdue crossings (none of those while paused)."""
        crossings = list(crossings)
        notes = [escalation_notice(item, state) for item in self.fresh_escalations(crossings)]
        fresh = self.fresh(crossings)
        if fresh and not self.paused(now):
            notes.append(compose(fresh, state, now))
        return notes

    def fresh_escalations(self, crossings: Iterable[Crossing]) -> list[Item]:
        """Escalated posts not noticed before, marked as noticed now (one per post, whatever else happens)."""
        out: list[Item] = []
        for c in crossings:
            if c.level == ESCALATED and c.item.id not in self.escalated:
                self.escalated.add(c.item.id)
                out.append(c.item)
        return out


def escalation_notice(item: Item, state: QueueState) -> Notification:
    """'Escalated: Kate Mink' / 'Kate Mink on X (legal_safety) was escalated to the supervisors.'"""
    item = state.items.get(item.id, item)
    return Notification(f"Escalated: {item.customer}",
                        f"{item.customer} on {item.platform_name} ({item.intent}) was escalated to the supervisors.",
                        ESCALATED, (item.id,))


def _line(item: Item, state: QueueState, now: float) -> str:
    """A post claimed by another agent still notifies (the customer is still waiting), saying who holds it."""
    when = clock_text(state.seconds_left(item, now), item.state)
    who = state.replying(item, now)
    return f"{item.customer} on {item.platform_name} ({item.intent}): {when}" + (f"; {who}" if who else "")


def compose(fresh: list[Crossing], state: QueueState, now: float) -> Notification:
    """One notification for one crossing, or one summary for several."""
    if len(fresh) == 1:
        c = fresh[0]
        item = state.items.get(c.item.id, c.item)
        head = "Overdue" if c.level == "overdue" else "Due soon"
        return Notification(f"{head}: {item.customer}", _line(item, state, now), c.level, (item.id,))
    late = sum(1 for c in fresh if c.level == "overdue")
    soon = len(fresh) - late
    parts = [p for p in (f"{late} overdue" if late else "", f"{soon} due soon" if soon else "") if p]
    ordered = sorted(fresh, key=lambda c: (c.level != "overdue", c.item.deadline))
    lines = [_line(state.items.get(c.item.id, c.item), state, now) for c in ordered[:4]]
    if len(ordered) > 4:
        lines.append(f"and {len(ordered) - 4} more")
    return Notification(f"Reply Desk: {', '.join(parts)}", "\n".join(lines), "summary",
                        tuple(c.item.id for c in ordered))


# --- backends -------------------------------------------------------------------------------------------------


class Notifier:
    """Delivers notifications: pystray's own where its backend has them, else notify-send (freedesktop).

    With REPLYDESK_TRAY_NOTIFY_LOG set (tests, support), each notification is also appended as one JSON line.
    """

    def __init__(self, icon: Any = None, log_path: str | None = None,
                 runner: Callable[[list[str]], Any] | None = None) -> None:
        self.icon = icon
        self.log_path = log_path if log_path is not None else os.environ.get("REPLYDESK_TRAY_NOTIFY_LOG")
        self._runner = runner or _run_detached
        self._lock = threading.Lock()
        self.notify_send = shutil.which("notify-send")

    @property
    def backend(self) -> str:
        if self.icon is not None and getattr(self.icon, "HAS_NOTIFICATION", False):
            return "pystray"
        return "notify-send" if self.notify_send else "stderr"

    def send(self, note: Notification) -> None:
        backend = self.backend
        if self.log_path:
            with self._lock, open(self.log_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"t": time.time(), "backend": backend, "title": note.title,
                                     "message": note.message, "level": note.level, "ids": list(note.ids)}) + "\n")
        try:
            if backend == "pystray":
                self.icon.notify(note.message, note.title)
            elif backend == "notify-send":
                urgency = "critical" if note.level in ("overdue", "summary", ESCALATED) else "normal"
                self._runner([self.notify_send, "--app-name=Reply Desk", f"--urgency={urgency}", note.title,
                              note.message])
            else:
                print(f"reply-desk tray: {note.title}: {note.message}", file=sys.stderr)
        except Exception as exc:  # a missing notification daemon must not take the tray down
            print(f"reply-desk tray: could not show a notification ({exc})", file=sys.stderr)


def _run_detached(cmd: list[str]) -> None:
    subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
