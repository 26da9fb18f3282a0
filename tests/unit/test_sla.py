"""The clock logic of server/sla.py: business hours, overnight periods, DST and time zones, states."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.config import REPO_ROOT
from server.core import sla
from server.packs.store import PackStore

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def hours(tz: str, periods: dict[str, list[list[str]]]) -> sla.BusinessHours:
    got = sla.parse_hours({"timezone": tz, "periods": periods})
    assert got is not None
    return got


def office(tz: str, start: str = "09:00", end: str = "17:00") -> sla.BusinessHours:
    return hours(tz, {d: [[start, end]] for d in WEEKDAYS})


def local(tz: str, *args: int) -> datetime:
    """An aware UTC instant from a local wall time (unambiguous times only)."""
    return datetime(*args, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- without business hours ---------------------------------------------------------------------------------------
def test_without_hours_every_second_counts():
    start = utc(2026, 11, 24, 8, 0)
    assert sla.deadline(start, 30) == utc(2026, 11, 24, 8, 30)
    assert sla.business_seconds_between(start, utc(2026, 11, 25, 8, 0)) == 86400
    assert sla.seconds_left(utc(2026, 11, 24, 8, 30), utc(2026, 11, 24, 8, 40)) == -600
    assert sla.is_open(None, start)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        sla.deadline(datetime(2026, 1, 1, 9, 0), 30)


# -- business hours ---------------------------------------------------------------------------------------------
def test_clock_waits_until_opening_and_across_the_night():
    h = office("Europe/Paris")  # Paris is UTC+1 in November
    # Tuesday 07:00 local: the clock starts at 09:00.
    assert sla.deadline(local("Europe/Paris", 2026, 11, 24, 7, 0), 60, h) == local("Europe/Paris", 2026, 11, 24, 10, 0)
    # Tuesday 16:30 + 60 min: 30 min today, 30 min from Wednesday's opening.
    assert sla.deadline(local("Europe/Paris", 2026, 11, 24, 16, 30), 60, h) == \
        local("Europe/Paris", 2026, 11, 25, 9, 30)
    # Friday 16:00 + 120 min: the weekend is closed.
    assert sla.deadline(local("Europe/Paris", 2026, 11, 27, 16, 0), 120, h) == \
        local("Europe/Paris", 2026, 11, 30, 10, 0)
    # A deadline exactly at closing stays that day.
    assert sla.deadline(local("Europe/Paris", 2026, 11, 24, 16, 0), 60, h) == local("Europe/Paris", 2026, 11, 24, 17)


def test_several_periods_a_day():
    h = hours("Europe/Berlin", {"mon": [["09:00", "12:00"], ["13:00", "17:00"], ["19:00", "20:00"]]})
    monday = (2026, 11, 23)
    assert sla.deadline(local("Europe/Berlin", *monday, 11, 30), 60, h) == local("Europe/Berlin", *monday, 13, 30)
    assert sla.deadline(local("Europe/Berlin", *monday, 12, 15), 60, h) == local("Europe/Berlin", *monday, 14, 0)
    # 16:30 + 60: 30 min until 17:00, then 30 min from 19:00.
    assert sla.deadline(local("Europe/Berlin", *monday, 16, 30), 60, h) == local("Europe/Berlin", *monday, 19, 30)
    # 19:30 + 60: 30 min, then next Monday 09:30.
    assert sla.deadline(local("Europe/Berlin", *monday, 19, 30), 60, h) == \
        local("Europe/Berlin", 2026, 11, 30, 9, 30)
    assert sla.business_seconds_between(local("Europe/Berlin", *monday, 8, 0), local("Europe/Berlin", *monday, 21, 0),
                                        h) == 8 * 3600
    assert not sla.is_open(h, local("Europe/Berlin", *monday, 12, 30))
    assert sla.is_open(h, local("Europe/Berlin", *monday, 13, 0))
    assert not sla.is_open(h, local("Europe/Berlin", *monday, 17, 0))  # the end is exclusive


def test_overnight_periods_run_into_the_next_day():
    # A night desk: Monday 22:00 until Tuesday 02:00, and Tuesday 22:00 until Wednesday 02:00.
    h = hours("America/Chicago", {"mon": [["22:00", "02:00"]], "tue": [["22:00", "02:00"]]})
    tz = "America/Chicago"
    assert sla.deadline(local(tz, 2026, 11, 23, 23, 30), 60, h) == local(tz, 2026, 11, 24, 0, 30)
    # Tuesday 01:00 is inside Monday's night: 60 min left tonight, then 60 from Tuesday 22:00.
    assert sla.is_open(h, local(tz, 2026, 11, 24, 1, 0))
    assert sla.deadline(local(tz, 2026, 11, 24, 1, 0), 120, h) == local(tz, 2026, 11, 24, 23, 0)
    # Tuesday's night ends Wednesday 02:00; nothing more until next Monday 22:00.
    assert sla.deadline(local(tz, 2026, 11, 25, 1, 30), 60, h) == local(tz, 2026, 11, 30, 22, 30)
    assert sla.business_seconds_between(local(tz, 2026, 11, 23, 0, 0), local(tz, 2026, 11, 26, 0, 0), h) == 8 * 3600


def test_overnight_and_day_periods_merge_and_24_00_means_midnight():
    tz = "Asia/Tokyo"
    h = hours(tz, {"mon": [["00:00", "24:00"]], "sun": [["20:00", "06:00"]]})
    # Sunday 20:00 to Tuesday 00:00 is one open stretch (the overnight part overlaps Monday's full day).
    spans = [span for _, span in zip(range(1), sla.open_intervals(h, local(tz, 2026, 11, 22, 12, 0)), strict=False)]
    assert spans == [(local(tz, 2026, 11, 22, 20, 0), local(tz, 2026, 11, 24, 0, 0))]
    assert sla.deadline(local(tz, 2026, 11, 22, 23, 0), 24 * 60, h) == local(tz, 2026, 11, 23, 23, 0)
    assert h.as_dict()["periods"]["mon"] == [["00:00", "24:00"]]
    assert h.as_dict()["periods"]["sun"] == [["20:00", "06:00"]]
    assert sla.parse_hours(h.as_dict()) == h


# -- DST ------------------------------------------------------------------------------------------------------
def test_london_spring_forward_office_hours():
    h = office("Europe/London")
    # Friday 27 March 2026 16:00 GMT (= 16:00 UTC); clocks go forward on Sunday 29 March.
    start = utc(2026, 3, 27, 16, 0)
    # One hour on Friday, one on Monday from 09:00 BST = 08:00 UTC: due 10:00 BST = 09:00 UTC.
    assert sla.deadline(start, 120, h) == utc(2026, 3, 30, 9, 0)
    assert sla.business_seconds_between(start, utc(2026, 3, 30, 9, 0), h) == 7200


def test_new_york_spring_forward_and_fall_back_office_hours():
    h = office("America/New_York")
    # Friday 6 March 2026 16:00 EST (21:00 UTC); DST starts Sunday 8 March: Monday 09:00 EDT = 13:00 UTC.
    assert sla.deadline(utc(2026, 3, 6, 21, 0), 120, h) == utc(2026, 3, 9, 14, 0)
    # Friday 30 October 2026 16:00 EDT (20:00 UTC); DST ends Sunday 1 November: Monday 09:00 EST = 14:00 UTC.
    assert sla.deadline(utc(2026, 10, 30, 20, 0), 120, h) == utc(2026, 11, 2, 15, 0)


def test_whole_days_open_are_23_and_25_hours_long_on_dst_days():
    tz = "Europe/London"
    allday = hours(tz, {d: [["00:00", "24:00"]] for d in sla.DAYS})
    # Spring: Saturday noon to Sunday noon is 23 real hours, and the clock runs in real seconds.
    assert sla.business_seconds_between(local(tz, 2026, 3, 28, 12), local(tz, 2026, 3, 29, 12), allday) == 23 * 3600
    # Autumn: 25 hours.
    assert sla.business_seconds_between(local(tz, 2026, 10, 24, 12), local(tz, 2026, 10, 25, 12), allday) == 25 * 3600
    # A 24-hour target is 24 real hours: Saturday 12:00 GMT + 24 h = Sunday 13:00 BST.
    assert sla.deadline(local(tz, 2026, 3, 28, 12), 24 * 60, allday) == local(tz, 2026, 3, 29, 13)


def test_overnight_period_across_spring_forward_is_an_hour_shorter():
    tz = "Europe/London"
    h = hours(tz, {"sat": [["22:00", "06:00"]]})
    night = list(zip(range(1), sla.open_intervals(h, utc(2026, 3, 28, 12)), strict=False))[0][1]
    assert night == (utc(2026, 3, 28, 22, 0), utc(2026, 3, 29, 5, 0))  # 22:00 GMT to 06:00 BST: 7 hours


def test_boundary_inside_the_spring_gap_is_the_jump():
    tz = "Europe/London"  # 29 March 2026: 01:00 GMT jumps to 02:00 BST (01:00 UTC)
    h = hours(tz, {"sun": [["01:30", "03:00"]]})
    span = next(sla.open_intervals(h, utc(2026, 3, 28, 0)))
    assert span == (utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 2, 0))
    gap_end = hours(tz, {"sun": [["00:00", "01:30"]]})
    assert next(sla.open_intervals(gap_end, utc(2026, 3, 28, 0))) == (utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 1, 0))


def test_boundary_inside_the_repeated_hour():
    tz = "Europe/London"  # 25 October 2026: 02:00 BST goes back to 01:00 GMT, 01:00-02:00 happens twice
    h = hours(tz, {"sun": [["01:30", "03:00"]]})
    # Starts at the first 01:30 (BST, 00:30 UTC), ends 03:00 GMT (03:00 UTC).
    assert next(sla.open_intervals(h, utc(2026, 10, 24, 0))) == (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 3, 0))
    ends = hours(tz, {"sun": [["00:00", "01:30"]]})
    # 00:00 BST (23:00 UTC Saturday) until the second 01:30 (GMT, 01:30 UTC).
    assert next(sla.open_intervals(ends, utc(2026, 10, 24, 0))) == (utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 1, 30))


# -- time zones -----------------------------------------------------------------------------------------------
def test_the_same_hours_in_different_time_zones():
    start = utc(2026, 11, 24, 3, 0)  # Tuesday
    assert sla.deadline(start, 60, office("Asia/Tokyo")) == utc(2026, 11, 24, 4, 0)  # 12:00 in Tokyo: open
    assert sla.deadline(start, 60, office("America/Los_Angeles")) == utc(2026, 11, 24, 18, 0)  # 09:00 PST + 1h
    assert sla.deadline(start, 60, office("Asia/Kolkata")) == utc(2026, 11, 24, 4, 30)  # 09:00 IST = 03:30 UTC
    assert sla.deadline(start, 60, office("Australia/Lord_Howe")) == utc(2026, 11, 24, 4, 0)  # +11 in November


@settings(max_examples=150, deadline=None)
@given(start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)),
       minutes=st.integers(min_value=0, max_value=5 * 24 * 60),
       tz=st.sampled_from(["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]),
       overnight=st.booleans())
def test_deadline_and_business_seconds_agree(start, minutes, tz, overnight):
    periods = {d: [["08:30", "12:00"], ["13:00", "18:00"]] for d in WEEKDAYS}
    if overnight:
        periods["sat"] = [["22:00", "02:30"]]
        periods["sun"] = [["01:00", "03:00"]]
    h = hours(tz, periods)
    begin = start.replace(tzinfo=UTC)
    due = sla.deadline(begin, minutes, h)
    assert due >= begin
    assert sla.business_seconds_between(begin, due, h) == pytest.approx(minutes * 60, abs=1e-6)
    if minutes:
        assert sla.is_open(h, due - timedelta(microseconds=1))


# -- parsing ---------------------------------------------------------------------------------------------------
def test_parse_hours_refuses_what_it_cannot_use():
    with pytest.raises(sla.HoursError, match="time zone"):
        sla.parse_hours({"timezone": "Mars/Olympus", "periods": {"mon": [["09:00", "17:00"]]}})
    with pytest.raises(sla.HoursError, match="time of day"):
        sla.parse_hours({"timezone": "UTC", "periods": {"mon": [["9am", "17:00"]]}})
    with pytest.raises(sla.HoursError):
        sla.parse_hours({"timezone": "UTC", "periods": {"mon": [["24:00", "17:00"]]}})
    assert sla.parse_hours(None) is None
    assert sla.parse_hours({"timezone": "UTC", "periods": {}}) is None  # no open time: the clock always runs
    assert sla.parse_hours({"timezone": "UTC", "periods": {"mon": [["09:00", "09:00"]]}}) is None


def test_too_little_open_time_is_an_error_not_a_hang():
    h = hours("UTC", {"mon": [["09:00", "09:01"]]})
    with pytest.raises(sla.HoursError):
        sla.deadline(utc(2026, 1, 1), 10**6, h)


def test_parse_instant():
    assert sla.parse_instant("2026-11-24T08:00:00Z") == utc(2026, 11, 24, 8)
    assert sla.parse_instant("2026-11-24T09:00:00+01:00") == utc(2026, 11, 24, 8)
    assert sla.parse_instant("2026-11-24T08:00:00") == utc(2026, 11, 24, 8)  # naive: UTC
    assert sla.parse_instant("2026-11-24") == utc(2026, 11, 24)
    for bad in (None, "", "yesterday", "2026-13-01", True, [], "2h"):
        assert sla.parse_instant(bad) is None
    assert sla.iso(utc(2026, 11, 24, 8, 0, 5)) == "2026-11-24T08:00:05.000Z"


def test_target_minutes_severity_then_intent_then_default():
    pack = PackStore(REPO_ROOT / "prompts").get("default")
    rules = pack.data["sla"]
    assert sla.target_minutes(rules, "x", "complaint", "critical") == rules["x"]["severity"]["critical"]
    assert sla.target_minutes(rules, "x", "complaint", "normal") == rules["x"]["intent"]["complaint"]
    assert sla.target_minutes(rules, "x", "question", "normal") == rules["x"]["default_minutes"]
    assert sla.target_minutes(rules, "facebook", None, None) == rules["facebook"]["default_minutes"]
    custom = {"x": {"default_minutes": 60, "intent": {"praise": 240}, "severity": {"high": 20}}}
    assert sla.target_minutes(custom, "x", "praise", "high") == 20
    assert sla.target_minutes(custom, "x", "praise", "low") == 240


# -- states ----------------------------------------------------------------------------------------------------
def test_every_state_and_its_precedence():
    start = utc(2026, 11, 24, 8, 0)
    clock = sla.Clock(started_at=start, target_minutes=60, due_soon_fraction=0.25)
    assert clock.deadline == utc(2026, 11, 24, 9, 0)
    assert clock.due_soon_at == utc(2026, 11, 24, 8, 45)
    assert sla.state_of(clock, utc(2026, 11, 24, 8, 44, 59)) == "waiting"
    assert sla.state_of(clock, utc(2026, 11, 24, 8, 45)) == "due_soon"
    assert sla.state_of(clock, utc(2026, 11, 24, 9, 0)) == "overdue"
    snoozed = sla.Clock(start, 60, snoozed_until=utc(2026, 11, 24, 9, 30))
    assert sla.state_of(snoozed, utc(2026, 11, 24, 9, 10)) == "snoozed"
    assert sla.state_of(snoozed, utc(2026, 11, 24, 9, 30)) == "overdue"  # the customer's clock never stopped
    replied = sla.Clock(start, 60, replied_at=utc(2026, 11, 24, 8, 20), dismissed_at=utc(2026, 11, 24, 8, 10))
    assert sla.state_of(replied, utc(2026, 11, 24, 10, 0)) == "replied"
    dismissed = sla.Clock(start, 60, dismissed_at=utc(2026, 11, 24, 8, 10), snoozed_until=utc(2026, 11, 25))
    assert sla.state_of(dismissed, utc(2026, 11, 24, 10, 0)) == "dismissed"


def test_due_soon_is_a_share_of_clock_time_and_the_countdown_pauses_when_closed():
    h = office("Europe/London")
    clock = sla.Clock(started_at=utc(2026, 11, 27, 16, 0), target_minutes=120, due_soon_fraction=0.25, hours=h)
    assert clock.deadline == utc(2026, 11, 30, 10, 0)
    assert clock.due_soon_at == utc(2026, 11, 30, 9, 30)
    friday_evening, saturday = utc(2026, 11, 27, 18, 0), utc(2026, 11, 28, 12, 0)
    assert sla.seconds_left(clock.deadline, friday_evening, h) == sla.seconds_left(clock.deadline, saturday, h) == 3600
    assert sla.state_of(clock, saturday) == "waiting"
    assert sla.state_of(clock, utc(2026, 11, 30, 9, 40)) == "due_soon"
    assert sla.seconds_left(clock.deadline, utc(2026, 11, 30, 17, 0), h) == -7 * 3600  # clock seconds past
    assert sla.next_transition(clock.deadline, clock.due_soon_at, saturday) == clock.due_soon_at
    assert sla.next_transition(clock.deadline, clock.due_soon_at, utc(2026, 12, 1)) is None


def test_percentile():
    assert sla.percentile([], 50) is None
    assert sla.percentile([5], 90) == 5
    assert sla.percentile([1, 2, 3, 4], 50) == 2.5
    assert sla.percentile(list(range(1, 11)), 90) == pytest.approx(9.1)


@settings(max_examples=100, deadline=None)
@given(anchor=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)),
       offsets=st.lists(st.integers(min_value=0, max_value=14 * 86400), min_size=2, max_size=8),
       tz=st.sampled_from(["Europe/London", "America/New_York", "Asia/Tokyo"]))
def test_timeline_agrees_with_business_seconds(anchor, offsets, tz):
    h = hours(tz, {**{d: [["09:00", "17:00"]] for d in WEEKDAYS}, "sat": [["22:00", "02:00"]]})
    base = anchor.replace(tzinfo=UTC)
    line = sla.Timeline(h, base)
    instants = [base + timedelta(seconds=o) for o in offsets]
    for a, b in zip(instants, instants[1:], strict=False):
        assert line.value(b) - line.value(a) == pytest.approx(sla.business_seconds_between(a, b, h), abs=1e-6)
        assert line.is_open(a) == sla.is_open(h, a)
    before = base - timedelta(hours=30)
    assert line.value(before) == pytest.approx(-sla.business_seconds_between(before, base, h), abs=1e-6)
