"""The tray menu as plain data (pure), so it can be tested without a display and rendered by any pystray backend.

Each entry carries an `action` tuple that the app dispatches: ("open", id), ("replied", id), ("snooze", id, 15),
("dismiss", id), ("pause", minutes), ("resume",), ("supervisor",), ("quit",).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from tray.state import QueueState, clock_text

#: Posts listed in the menu; the rest are one line away on the supervisor page (a 500-line menu helps nobody).
MENU_LIMIT = 15
SNOOZE_MINUTES = 15
PAUSE_CHOICES = ((15, "For 15 minutes"), (60, "For 1 hour"))
STATE_WORDS = {"due_soon": "due soon", "overdue": "overdue", "snoozed": "snoozed", "waiting": ""}


@dataclass(frozen=True)
class Entry:
    text: str
    action: tuple | None = None
    children: tuple[Entry, ...] = ()
    enabled: bool = True
    default: bool = False
    separator: bool = False


SEPARATOR = Entry("", separator=True)


def post_line(customer: str, platform: str, intent: str, seconds: float, state: str, escalated: bool = False,
              replying: str = "") -> str:
    """'Kate Mink · X · complaint · 12m left (wall clock)' / '… · overdue 12m (wall clock)' / '… · snoozed, 14m
    left (wall clock)': the tray counts wall-clock time (the console shows business time where it applies).
    `replying` ('Dana is replying', a team server's claim) goes before the time, so nobody answers twice."""
    when = clock_text(seconds, state)
    if state == "snoozed":
        when = f"snoozed, {when}"
    mark = "escalated · " if escalated else ""
    held = f"{replying} · " if replying else ""
    return f"{customer} · {platform} · {intent} · {mark}{held}{when}"


def build_menu(state: QueueState, now: float, paused_until: float = 0.0, limit: int = MENU_LIMIT) -> tuple[Entry, ...]:
    """The whole menu for the current state at wall time `now` (epoch seconds)."""
    entries: list[Entry] = []
    items = state.sorted_items()
    waiting = sum(1 for i in items if i.state != "snoozed")
    if not state.connected:
        if state.problem:  # e.g. a refused token: say so where the user looks, not "Connecting…" forever
            entries.append(Entry(state.problem[:1].upper() + state.problem[1:], enabled=False))
        else:
            entries.append(Entry("Disconnected: reconnecting…" if state.ever_connected else "Connecting…",
                                 enabled=False))
    elif not items:
        entries.append(Entry("No posts waiting", enabled=False))
    else:
        entries.append(Entry(f"{waiting} waiting" + (f", {len(items) - waiting} snoozed" if waiting < len(items)
                                                      else ""), enabled=False))
        # Left click on the icon (and Enter on this line) opens what needs an answer first.
        entries.append(Entry("Open most urgent post", ("open_top",), default=True))
    for item in items[:limit]:
        secs = state.seconds_left(item, now)
        entries.append(Entry(
            post_line(item.customer, item.platform_name, item.intent, secs, item.state, item.escalated,
                      state.replying(item, now)),
            children=(
                Entry("Open post", ("open", item.id), default=True, enabled=bool(item.url)),
                Entry("Mark replied", ("replied", item.id)),
                Entry(f"Snooze {SNOOZE_MINUTES} min", ("snooze", item.id, SNOOZE_MINUTES)),
                Entry("Dismiss", ("dismiss", item.id)),
            )))
    if len(items) > limit:
        entries.append(Entry(f"…and {len(items) - limit} more on the supervisor page", ("supervisor",)))
    entries.append(SEPARATOR)
    if now < paused_until:
        until = time.strftime("%H:%M", time.localtime(paused_until))
        pause = Entry(f"Notifications paused until {until}", children=(
            *(Entry(f"Pause {label[0].lower()}{label[1:]}", ("pause", m)) for m, label in PAUSE_CHOICES),
            Entry("Resume notifications", ("resume",))))
    else:
        pause = Entry("Pause notifications", children=tuple(Entry(label, ("pause", m)) for m, label in PAUSE_CHOICES))
    entries += [pause, Entry("Open supervisor page", ("supervisor",)), Entry("Quit", ("quit",))]
    return tuple(entries)


def find(entries: tuple[Entry, ...], text: str) -> Entry | None:
    """The first entry (depth first) whose text starts with `text`: for tests and scripting."""
    for e in entries:
        if e.text.startswith(text):
            return e
        hit = find(e.children, text)
        if hit is not None:
            return hit
    return None
