"""Response-time clocks: pure functions of instants, targets and business hours (no I/O, no "now" of its own).

Why pure: the queue, the scheduler, the stats and the tests all ask the same questions ("when is this due?",
"how much clock time is left?", "what state is it in at instant t?") and must get the same answers; passing
`now` in makes every answer reproducible, including across DST changes.

Business hours are the instants at which the local wall clock of the pack's time zone shows a time inside one
of that weekday's periods. A period whose end is earlier than its start runs overnight into the next day;
"24:00" means midnight at the end of the day. Outside business hours the clock waits (as Chatwoot and Zendesk
do): targets are counted in *business seconds*, real seconds that fall inside open periods. Without business
hours every second counts.

DST rules, which follow from the wall-clock definition:
- a period boundary inside the spring-forward gap (a wall time that never happens) falls on the instant the
  clocks jump, the first moment the wall clock shows a later time;
- a boundary inside the repeated fall-back hour: a period starts at the first occurrence and ends at the
  second, so a period is never shorter than it looks on the wall clock.
All instants are timezone-aware UTC datetimes; naive datetimes are refused so that no local time sneaks in.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.core.vocab import ACTIVE_STATES, SEVERITIES, STATES  # noqa: F401  (one vocabulary, re-exported)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

DEFAULT_DUE_SOON_FRACTION = 0.25
Instant = datetime | float  # an aware UTC datetime, or epoch seconds where the queue compares stored floats
# The deadline search gives up after this many days without enough open time (a misconfigured pack, e.g. one
# five-minute period a week and a 90-day target), instead of looping for ever.
MAX_SEARCH_DAYS = 3660
_HHMM = re.compile(r"^(\d{2}):(\d{2})$")


class HoursError(ValueError):
    """Business hours that cannot be used (unknown time zone, bad time), with a message for the supervisor."""


@dataclass(frozen=True)
class BusinessHours:
    """Open periods per weekday (0 = Monday) as (start, end) minutes after local midnight; end may exceed
    1440 for an overnight period. Frozen and hashable so open intervals can be cached per day."""

    timezone: str
    periods: tuple[tuple[tuple[int, int], ...], ...]  # 7 tuples of (start_min, end_min)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def as_dict(self) -> dict[str, Any]:
        """The pack's own shape again (used to store an item's hours with it)."""
        out: dict[str, list[list[str]]] = {}
        for day, periods in zip(DAYS, self.periods, strict=True):
            if periods:
                out[day] = [[_fmt(s), _fmt(e % 1440 if e != 1440 else 1440)] for s, e in periods]
        return {"timezone": self.timezone, "periods": out}


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(text: Any, *, is_end: bool) -> int:
    m = _HHMM.match(text) if isinstance(text, str) else None
    if not m:
        raise HoursError(f"'{str(text)[:20]}' is not a time of day like 09:00")
    h, mi = int(m.group(1)), int(m.group(2))
    if (h, mi) == (24, 0) and is_end:
        return 1440
    if h > 23 or mi > 59:
        raise HoursError(f"'{text}' is not a time of day (use 00:00 to 23:59, or 24:00 as an end)")
    return h * 60 + mi


def parse_hours(cfg: Mapping[str, Any] | None) -> BusinessHours | None:
    """The pack's `sla.business_hours` as BusinessHours, or None (always open) when absent.

    Raises HoursError for an unknown time zone or a malformed time. Hours with no open time at all would mean
    a deadline that never comes, so they are treated as no business hours (always open), which is the safe
    reading for customers.
    """
    if not cfg:
        return None
    tzname = cfg.get("timezone")
    try:
        if not isinstance(tzname, str) or not tzname:
            raise ZoneInfoNotFoundError(tzname)
        ZoneInfo(tzname)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(f"unknown time zone '{str(tzname)[:60]}' (use an IANA name such as Europe/London)") from None
    raw = cfg.get("periods") or {}
    days: list[tuple[tuple[int, int], ...]] = []
    for day in DAYS:
        spans = []
        for pair in raw.get(day) or []:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise HoursError(f"periods.{day}: each period is [start, end], e.g. [\"09:00\", \"17:00\"]")
            start, end = _minutes(pair[0], is_end=False), _minutes(pair[1], is_end=True)
            if end == start:
                continue  # an empty period
            if end < start:
                end += 1440  # overnight into the next day
            spans.append((start, end))
        days.append(tuple(sorted(spans)))
    if not any(days):
        return None
    return BusinessHours(tzname, tuple(days))


def hours_from_dict(data: Mapping[str, Any] | None) -> BusinessHours | None:
    """Like parse_hours, for hours stored with an item (already valid when stored)."""
    return parse_hours(data) if data else None


def _check(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC instant")
    return dt.astimezone(UTC)


def _wall_to_utc(day: date, minutes: int, tz: ZoneInfo, *, is_end: bool) -> datetime:
    """The instant a wall-clock time of `day` happens in `tz`, following the DST rules of the module doc."""
    naive = datetime(day.year, day.month, day.day) + timedelta(minutes=minutes)
    u0 = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    u1 = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if u0 <= u1:  # normal (equal) or the repeated fall-back hour (u0 < u1)
        return u1 if is_end else u0
    # Spring-forward gap: fold=0 reads the time with the old offset (later instant), fold=1 with the new one
    # (earlier instant); the jump lies between them. Find it to the second.
    lo, hi = u1, u0
    off_hi = hi.astimezone(tz).utcoffset()
    while (hi - lo) > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == off_hi:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


@lru_cache(maxsize=4096)
def _day_intervals(hours: BusinessHours, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """Open intervals (UTC) of the periods that start on local `day`, sorted."""
    tz = hours.tz
    out = []
    for start, end in hours.periods[day.weekday()]:
        s = _wall_to_utc(day, start, tz, is_end=False)
        e = _wall_to_utc(day, end, tz, is_end=True)
        if e > s:
            out.append((s, e))
    return tuple(out)


def open_intervals(hours: BusinessHours, since: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Merged open intervals (UTC) from `since` on, the first clipped to start at `since` if it is open then."""
    since = _check(since)
    day = since.astimezone(hours.tz).date() - timedelta(days=1)  # yesterday's overnight periods reach into today
    last = day + timedelta(days=MAX_SEARCH_DAYS)
    cur: tuple[datetime, datetime] | None = None
    while day <= last:
        for s, e in _day_intervals(hours, day):
            if e <= since:
                continue
            s = max(s, since)
            if cur is None:
                cur = (s, e)
            elif s <= cur[1]:
                cur = (cur[0], max(cur[1], e))
            else:
                yield cur
                cur = (s, e)
        day += timedelta(days=1)
    if cur is not None:
        yield cur


def is_open(hours: BusinessHours | None, at: datetime) -> bool:
    """Whether the clock runs at instant `at`."""
    if hours is None:
        return True
    at = _check(at)
    for s, e in open_intervals(hours, at):
        return s <= at < e
    return False


def deadline(start: datetime, target_minutes: float, hours: BusinessHours | None = None) -> datetime:
    """The instant at which `target_minutes` of clock time have run since `start`."""
    start = _check(start)
    remaining = timedelta(minutes=target_minutes)
    if hours is None:
        return start + remaining
    for s, e in open_intervals(hours, start):
        if remaining <= e - s:
            return s + remaining
        remaining -= e - s
    raise HoursError(f"no deadline within {MAX_SEARCH_DAYS} days: the business hours have too little open time")


def business_seconds_between(a: datetime, b: datetime, hours: BusinessHours | None = None) -> float:
    """Clock seconds from a to b (negative when b is before a)."""
    a, b = _check(a), _check(b)
    if b < a:
        return -business_seconds_between(b, a, hours)
    if hours is None:
        return (b - a).total_seconds()
    total = 0.0
    for s, e in open_intervals(hours, a):
        if s >= b:
            break
        total += (min(e, b) - s).total_seconds()
    return total


def seconds_left(deadline_at: datetime, now: datetime, hours: BusinessHours | None = None) -> float:
    """Clock time left until the deadline; negative (clock seconds past it) once overdue.

    Clock seconds, not wall seconds, because that is what the countdown shows: it pauses outside business hours.
    Right after a deadline that falls at closing time the value is 0 while the item is overdue, so callers take
    the state from `state_of`, never from the sign alone.
    """
    return business_seconds_between(now, deadline_at, hours)


class Timeline:
    """Business seconds between many instants of one batch (a page of the queue) by bisection.

    `value(t)` is the clock time from `anchor` to t; the difference of two values is the clock time between
    them. Built once per request, so a page of 200 items costs one walk over the open intervals instead of
    one per item.
    """

    def __init__(self, hours: BusinessHours | None, anchor: datetime) -> None:
        self.hours, self.anchor = hours, _check(anchor)
        self._starts: list[datetime] = []
        self._ends: list[datetime] = []
        self._cum: list[float] = []  # clock seconds from anchor to each interval's start
        self._gen = open_intervals(hours, self.anchor) if hours is not None else None

    def _extend(self, t: datetime) -> None:
        assert self._gen is not None
        while not self._ends or self._ends[-1] < t:
            nxt = next(self._gen, None)
            if nxt is None:
                return
            s, e = nxt
            done = self._cum[-1] + (self._ends[-1] - self._starts[-1]).total_seconds() if self._cum else 0.0
            self._starts.append(s)
            self._ends.append(e)
            self._cum.append(done)

    def value(self, t: datetime) -> float:
        if self.hours is None:
            return (t - self.anchor).total_seconds()
        if t <= self.anchor:
            return -business_seconds_between(t, self.anchor, self.hours)
        self._extend(t)
        i = bisect_right(self._starts, t) - 1
        if i < 0:
            return 0.0
        return self._cum[i] + (min(t, self._ends[i]) - self._starts[i]).total_seconds()

    def is_open(self, t: datetime) -> bool:
        if self.hours is None:
            return True
        if t < self.anchor:
            return is_open(self.hours, t)
        self._extend(t)
        i = bisect_right(self._starts, t) - 1
        return i >= 0 and self._starts[i] <= t < self._ends[i]


def target_minutes(sla: Mapping[str, Any], platform: str, intent: str | None, severity: str | None) -> float:
    """The pack's target for a post: a severity override wins, then an intent override, then the default.

    Minutes may be fractional (the pack schema allows any positive number)."""
    channel = sla.get(platform) or {}
    sev = (channel.get("severity") or {}).get(severity) if severity else None
    if sev is not None:
        return _whole(sev)
    by_intent = (channel.get("intent") or {}).get(intent) if intent else None
    if by_intent is not None:
        return _whole(by_intent)
    return _whole(channel.get("default_minutes") or 60)


def _whole(x: Any) -> float:
    value = float(x)
    return int(value) if value.is_integer() else value


@dataclass(frozen=True)
class Clock:
    """Everything that decides an item's state, as stored with it (instants are aware UTC datetimes)."""

    started_at: datetime
    target_minutes: float
    due_soon_fraction: float = DEFAULT_DUE_SOON_FRACTION
    hours: BusinessHours | None = None
    replied_at: datetime | None = None
    dismissed_at: datetime | None = None
    snoozed_until: datetime | None = None

    @property
    def deadline(self) -> datetime:
        return deadline(self.started_at, self.target_minutes, self.hours)

    @property
    def due_soon_at(self) -> datetime:
        """When only `due_soon_fraction` of the target is left on the clock."""
        return deadline(self.started_at, self.target_minutes * (1 - self.due_soon_fraction), self.hours)


def state_at(deadline_at: Instant, due_soon_at: Instant, now: Instant, *, replied: bool = False,
             dismissed: bool = False, snoozed_until: Instant | None = None) -> str:
    """The state from precomputed instants (the fast path the queue uses for thousands of items).

    The instants are all aware datetimes or all epoch seconds: the queue compares its stored floats directly."""
    if replied:
        return "replied"
    if dismissed:
        return "dismissed"
    if snoozed_until is not None and now < snoozed_until:
        return "snoozed"
    if now >= deadline_at:
        return "overdue"
    if now >= due_soon_at:
        return "due_soon"
    return "waiting"


def state_of(clock: Clock, now: datetime) -> str:
    """waiting, due_soon, overdue, replied, dismissed or snoozed at instant `now`.

    A reply wins over a dismissal; a snooze shows as "snoozed" until it ends, then the computed state (the
    customer's clock never stopped while the agent snoozed).
    """
    return state_at(clock.deadline, clock.due_soon_at, _check(now), replied=clock.replied_at is not None,
                    dismissed=clock.dismissed_at is not None, snoozed_until=clock.snoozed_until)


def next_transition(deadline_at: datetime, due_soon_at: datetime, now: datetime,
                    snoozed_until: datetime | None = None) -> datetime | None:
    """The next instant after `now` at which an active item's state changes by itself, or None."""
    candidates = [t for t in (snoozed_until, due_soon_at, deadline_at) if t is not None and t > now]
    return min(candidates) if candidates else None


def parse_instant(value: Any) -> datetime | None:
    """An ISO-8601 string (or epoch number) as an aware UTC datetime; None when missing or unreadable.

    Naive times are read as UTC, because pages give UTC (X's `datetime` attributes end in Z).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def iso(dt: datetime | None) -> str | None:
    """ISO-8601 UTC with a Z, to the millisecond (the shape of every instant in the API)."""
    if dt is None:
        return None
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of a list; None when empty."""
    if not values:
        return None
    xs = sorted(values)
    if len(xs) == 1:
        return float(xs[0])
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return float(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))
