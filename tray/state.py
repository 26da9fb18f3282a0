"""The tray's picture of the queue, built only from the server's /ws events (pure: no I/O, no clock of its own).

The server owns the states (waiting, due soon, overdue): the tray never promotes a post by itself, it only counts
the minutes down locally from each deadline between events, so the icon stays current without polling.

Order (the server's, docs/DESIGN.md): severity and urgency first, then time left, so a thank-you note never
outranks a stranded passenger. Posts the pack does not engage (abuse, spam, threats: `clock: false`, state
"no_reply") have no deadline and are never shown as waiting or overdue. Times are wall-clock time (what the
customer waits), labelled so: the console shows business time beside it where business hours apply.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: States of posts the tray tracks (replied and dismissed posts leave the queue).
ACTIVE_STATES = ("waiting", "due_soon", "overdue", "snoozed")
#: States that make a post "waiting for an answer" (snoozed posts are parked on purpose).
URGENT_STATES = ("waiting", "due_soon", "overdue")
#: How urgent each state is; the icon takes its color from the most urgent post.
LEVEL_RANK = {"snoozed": 0, "waiting": 1, "due_soon": 2, "overdue": 3}
PLATFORM_NAMES = {"x": "X", "facebook": "Facebook"}
#: The server's priority when an older server sends none: severity rank x 2 (+1 when urgent), as server.queue.policy.
SEVERITY_RANK = {"low": 0, "normal": 1, "high": 2, "critical": 3}
#: Said after every time the tray shows: it counts wall-clock time, not business time.
WALL_CLOCK = " (wall clock)"


def parse_time(value: Any) -> float | None:
    """ISO-8601 (with Z or an offset) to epoch seconds; None when missing or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


@dataclass(frozen=True)
class Item:
    """One tracked post, reduced to what the tray shows."""

    id: str
    platform: str
    url: str
    customer: str
    intent: str
    severity: str
    deadline: float  # epoch seconds, on the server's clock
    state: str
    priority: int = 2  # higher first: severity and urgency (the server's `priority`)
    escalated: bool = False
    claimed_by: str = ""  # the agent replying to it (a team server's claim), "" when nobody holds it
    claim_expires: float | None = None  # epoch seconds on the server's clock; the claim lapses then

    @classmethod
    def from_json(cls, data: Any) -> Item | None:
        """A QueueItem from the server, or None when it lacks what the tray needs (never raises)."""
        if not isinstance(data, dict) or data.get("id") in (None, ""):
            return None
        deadline = parse_time(data.get("deadline"))
        state = data.get("state")
        if deadline is None or not isinstance(state, str) or data.get("clock") is False:
            return None  # no clock (a post the pack does not engage): nothing to count down
        author = data.get("author") if isinstance(data.get("author"), dict) else {}
        customer = data.get("customer") or author.get("name") or (
            f"@{author['handle']}" if author.get("handle") else "") or "someone"
        severity = str(data.get("severity") or "normal")
        priority = data.get("priority")
        if isinstance(priority, bool) or not isinstance(priority, int):
            priority = SEVERITY_RANK.get(severity, 1) * 2 + (1 if data.get("urgent") is True else 0)
        claimed_by = data.get("claimed_by")
        return cls(id=str(data["id"]), platform=str(data.get("platform") or ""), url=str(data.get("url") or ""),
                   customer=str(customer), intent=str(data.get("intent") or "post"), severity=severity,
                   deadline=deadline, state=state, priority=priority, escalated=data.get("escalated") is True,
                   claimed_by=claimed_by.strip() if isinstance(claimed_by, str) else "",
                   claim_expires=parse_time(data.get("claim_expires_at")))

    @property
    def platform_name(self) -> str:
        return PLATFORM_NAMES.get(self.platform, self.platform or "?")


@dataclass(frozen=True)
class Crossing:
    """A post that the server says just became due soon or overdue."""

    item: Item
    level: str  # "due_soon" | "overdue" | "escalated"


@dataclass
class QueueState:
    """Tracked posts by id, whether the tray is connected, and the server's clock offset."""

    items: dict[str, Item] = field(default_factory=dict)
    connected: bool = False
    ever_connected: bool = False
    clock_offset: float = 0.0  # server time minus local time, seconds
    version: int = 0  # bumped on every structural change (menu rebuilds key on it)
    problem: str = ""  # why the tray cannot connect, in words (the server refused the token); "" when none
    me: str = ""  # the agent the tray signed in as (the server's hello): its own claims are not "someone else's"

    def set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self.version += 1
        if connected:
            self.ever_connected = True
            self.set_problem("")

    def set_problem(self, problem: str) -> None:
        """What the tooltip and the menu say instead of "reconnecting" (a refused token will not fix itself)."""
        if problem != self.problem:
            self.problem = problem
            self.version += 1

    def apply(self, event: dict[str, Any], now: float) -> list[Crossing]:
        """Fold one /ws event into the state; return the crossings it reports (for the notification policy).

        Unknown or malformed events are ignored: a newer server must not crash an older tray.
        """
        kind = event.get("type")
        if kind == "hello":
            agent = event.get("agent")
            name = agent.get("name") if isinstance(agent, dict) else None
            if isinstance(name, str) and name.strip() != self.me:
                self.me = name.strip()
                self.version += 1
            return []
        if kind == "queue":
            change = event.get("change")
            if change is None and isinstance(event.get("items"), list):
                return self.replace(event["items"], now, event.get("server_time"))
            if change == "upsert":
                return self._upsert(event.get("item"))
            if change == "escalated":
                self._upsert(event.get("item"))
                item = Item.from_json(event.get("item"))
                return [Crossing(self.items.get(item.id, item), "escalated")] if item is not None else []
            if change == "remove" and event.get("id") is not None:
                if self.items.pop(str(event["id"]), None) is not None:
                    self.version += 1
                return []
            if isinstance(event.get("item"), dict):
                # Any other change that carries the item (claimed, released): the item as it is now.
                self._upsert(event["item"])
            return []
        if kind in ("due_soon", "overdue"):
            crossings = self._upsert(event.get("item"))
            item = Item.from_json(event.get("item"))
            if item is not None and not any(c.item.id == item.id and c.level == kind for c in crossings):
                crossings.append(Crossing(self.items.get(item.id, item), kind))
            return crossings
        return []

    def replace(self, raw_items: list[Any], now: float, server_time: Any = None) -> list[Crossing]:
        """A full snapshot (on connect, or after a resync): replaces everything; reports posts already late."""
        parsed = [Item.from_json(d) for d in raw_items]
        self.items = {i.id: i for i in parsed if i is not None and i.state in ACTIVE_STATES}
        server_now = parse_time(server_time)
        if server_now is not None:
            # Only a real skew counts; the event's own travel time (milliseconds) would make 60:00 read 61.
            skew = server_now - now
            self.clock_offset = skew if abs(skew) > 2.0 else 0.0
        self.version += 1
        late = [Crossing(i, i.state) for i in self.items.values() if i.state in ("due_soon", "overdue")]
        return late + [Crossing(i, "escalated") for i in self.items.values() if i.escalated]

    def _upsert(self, raw: Any) -> list[Crossing]:
        item = Item.from_json(raw)
        if item is None:
            return []
        old = self.items.get(item.id)
        if item.state not in ACTIVE_STATES:
            if self.items.pop(item.id, None) is not None:
                self.version += 1
            return []
        self.items[item.id] = item
        if old != item:
            self.version += 1
        # A known post changing state is a crossing even if its due_soon/overdue event was lost; a post that is
        # first seen already late is not (the server does not alert for crossings before tracking either).
        if item.state in ("due_soon", "overdue") and old is not None and old.state != item.state:
            return [Crossing(item, item.state)]
        return []

    def sorted_items(self) -> list[Item]:
        """Tracked posts most urgent first: priority (severity, urgency), then deadline (the order of the menu)."""
        return sorted(self.items.values(), key=priority_key)

    def seconds_left(self, item: Item, now: float) -> float:
        return item.deadline - (now + self.clock_offset)

    def replying(self, item: Item, now: float) -> str:
        """'Dana is replying' while another agent holds the post (a claim that has not lapsed), else '' (also for
        the tray's own agent's claim: that post is being answered by the person looking at the tray)."""
        lapsed = item.claim_expires is not None and item.claim_expires <= now + self.clock_offset
        if not item.claimed_by or (self.me and item.claimed_by == self.me) or lapsed:
            return ""
        return f"{item.claimed_by} is replying"

    def claim_lapses(self) -> list[float]:
        """Local times at which the tracked posts' claims lapse. The server sends no event when a claim lapses
        (it lapses by the holder's silence), so the tray must redraw at those times by itself."""
        return [i.claim_expires - self.clock_offset for i in self.items.values()
                if i.claimed_by and i.claim_expires is not None]

    def claims_lapsed(self, since: float, now: float) -> bool:
        """Whether a claim lapsed in (since, now]: what the menu last showed as "Dana is replying" is stale."""
        return any(since < t <= now for t in self.claim_lapses())


def priority_key(item: Item) -> tuple[int, float, str]:
    """The queue's order: severity and urgency first, then time left (the deadline), then id."""
    return -item.priority, item.deadline, item.id


def minutes_left(seconds: float) -> int:
    """Whole minutes shown for a time left: 0:30 left shows 1, an overdue post shows its minutes late (>= 0)."""
    # Half a second of slack, so a fresh 60-minute target reads 60, not 61, while the event is in flight.
    return math.ceil((seconds - 0.5) / 60) if seconds > 0.5 else math.floor(-min(seconds, 0) / 60)


def time_text(seconds: float, state: str | None = None) -> str:
    """'12m left', '1h 05m left', 'due now', 'overdue 12m' (the words of the menu and the tooltip)."""
    if state == "overdue" or seconds <= -60:
        late = max(0, math.floor(-seconds / 60))
        return f"overdue {_hm(late)}"
    if seconds <= 0.5:
        return "due now"
    return f"{_hm(minutes_left(seconds))} left"


def clock_text(seconds: float, state: str | None = None) -> str:
    """time_text labelled as wall clock: 'overdue 9d 4h (wall clock)' (menu, tooltip and notifications)."""
    return time_text(seconds, state) + WALL_CLOCK


def _hm(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes}m"
    hours, mins = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {mins:02d}m"
    return f"{hours // 24}d {hours % 24}h"


@dataclass(frozen=True)
class IconState:
    """Everything the icon and its tooltip show; equal states draw equal icons (so redraws can be skipped)."""

    level: str  # "offline" | "idle" | "waiting" | "due_soon" | "overdue"
    minutes: int | None  # minutes left (or late, when overdue) on the most urgent post
    count: int  # posts waiting for an answer
    tooltip: str


def most_urgent(state: QueueState) -> Item | None:
    """The post to show: the queue's first waiting post (severity and urgency, then the earliest deadline)."""
    urgent = [i for i in state.items.values() if i.state in URGENT_STATES]
    if not urgent:
        return None
    return min(urgent, key=priority_key)


def icon_state(state: QueueState, now: float) -> IconState:
    """What the icon should show at local time `now`."""
    count = sum(1 for i in state.items.values() if i.state in URGENT_STATES)
    snoozed = len(state.items) - count
    if not state.connected:
        why = state.problem or ("disconnected, reconnecting" if state.ever_connected else "connecting to the server")
        known = f"; last known: {count} waiting" if state.ever_connected and count else ""
        return IconState("offline", None, count, f"Reply Desk: {why}{known}")
    top = most_urgent(state)
    if top is None:
        extra = f" ({snoozed} snoozed)" if snoozed else ""
        return IconState("idle", None, 0, f"Reply Desk: no posts waiting{extra}")
    secs = state.seconds_left(top, now)
    posts = "post" if count == 1 else "posts"
    words = {"overdue": "is overdue", "due_soon": "is due soon", "waiting": "is next"}[top.state]
    when = clock_text(secs, top.state)
    late = sum(1 for i in state.items.values() if i.state == "overdue")
    others = late - (top.state == "overdue")
    also = f" {others} other{'s' if others != 1 else ''} overdue." if others > 0 else ""
    who = state.replying(top, now)
    held = f" {who}." if who else ""
    tooltip = (f"Reply Desk: {count} {posts} waiting. {top.customer} on {top.platform_name} ({top.intent}) "
               f"{words}: {when}.{held}{also}")
    return IconState(top.state, minutes_left(secs), count, tooltip)


def next_change_in(state: QueueState, now: float, cap: float = 60.0) -> float:
    """Seconds until the icon's minute changes or a claim lapses ("Dana is replying" goes away), so the tray
    sleeps until then (menu lines refresh on `cap`)."""
    if not state.connected:
        return cap
    lapses = [t - now for t in state.claim_lapses() if t > now]
    wait = min(lapses) if lapses else cap
    top = most_urgent(state)
    if top is not None:
        rem = (state.seconds_left(top, now) - 0.5) % 60.0  # the shown minute changes when this crosses 0
        wait = min(wait, rem if rem > 1e-3 else 60.0)
    return max(0.05, min(cap, wait + 0.01))
