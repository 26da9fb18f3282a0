"""The /api/stats document: first-response figures overall, per channel, per local day, and on request grouped
by who replied and by channel (GET /api/stats?group=agent|channel).

Pure functions over the stats' rows (no Flask, no SQL), like server/queue/evaluation.py; QueueService.stats reads
the rows and calls them.

Choices, and why:
- Per-agent figures are about the replies an agent made, nothing else. An open post has no agent yet (a claim is
  not a reply, and a claim lapses), so open posts, overdue or not, are left out per agent: the desk-wide
  "within_target_share" and "overdue_now" already count them. So an agent's `within_target` is the share of
  *their* replies made by the post's deadline, and `count` is how many replies they made.
- Only first responses count (the population of "overall"): the sum of the agents' counts equals
  overall.answered, so the table adds up to the figure above it. Next responses stay in "next_response".
- A replied row with no replied_by (a single-agent desk, rows from before team mode) counts under the desk's
  own agent name (config agent_name): the pairing token's agent made those replies.
- Per channel (`by_channel_list`, the list twin of the by_channel dict, same row shape with "platform"), the
  open posts past their deadline do belong to the channel: `within_target` there is the channel's
  within_target_share (replied by the deadline / replied + open past the deadline), the same number as
  by_channel[platform].within_target_share, and `missed_open` says how many open posts made it lower.
- Times are wall-clock seconds (what the customer waited), like median_seconds; null when there is no reply.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from server.core import sla
from server.core.errors import Invalid
from server.core.vocab import PLATFORMS
from server.queue.evaluation import _dt, figures
from server.queue.store import Row

GROUPS = ("agent", "channel")


def document(rows: list[Row], now: float, since: float, until: float, platform: str | None, tz: str,
             overdue_now: int, groups: tuple[str, ...] = (), default_agent: str = "agent") -> dict[str, Any]:
    """First-response figures for the rows (clocks started in [since, until)): overall, per channel, per day
    in tz; next responses apart; with groups, by_agent / by_channel_list too.

    response times are wall-clock seconds (what the customer waited) with business-time twins;
    within_target_share = replied by the deadline / (replied + open past the deadline): dismissed posts
    needed no reply and open posts not yet due have no outcome yet, so neither counts.
    """
    zone = sla.ZoneInfo(tz)
    first = [r for r in rows if r["kind"] == "first"]
    by_channel: dict[str, list[Row]] = {p: [] for p in PLATFORMS if platform in (None, p)}
    by_day: dict[str, list[Row]] = {}
    for r in first:
        by_channel.setdefault(r["platform"], []).append(r)
        day = datetime.fromtimestamp(r["started_at"], zone).date().isoformat()
        by_day.setdefault(day, []).append(r)
    return {
        "since": sla.iso(_dt(since)), "until": sla.iso(_dt(until)), "timezone": tz, "platform": platform,
        "overall": figures(first, now),
        "by_channel": {p: figures(rs, now) for p, rs in by_channel.items()},
        "by_day": [{"date": d, **figures(rs, now)} for d, rs in sorted(by_day.items())],
        "next_response": figures([r for r in rows if r["kind"] == "next_response"], now),
        "overdue_now": overdue_now,
        "server_time": sla.iso(_dt(now)),
        **grouped(groups, first, by_channel, now, default_agent),
    }


def parse_groups(raw: str | None) -> tuple[str, ...]:
    """?group=agent, ?group=channel or ?group=agent,channel; absent or empty: no grouping (400 on others)."""
    if raw is None or not raw.strip():
        return ()
    wanted = [g.strip() for g in raw.split(",") if g.strip()]
    bad = [g for g in wanted if g not in GROUPS]
    if bad:
        raise Invalid("invalid_group", f"Unknown group '{bad[0][:40]}'; use group=agent, group=channel "
                                       "or group=agent,channel.")
    return tuple(dict.fromkeys(wanted))


def _rnd(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def _times(replied: list[Row]) -> dict[str, Any]:
    secs = [r["replied_at"] - r["started_at"] for r in replied]
    return {"count": len(replied), "median_response_seconds": _rnd(sla.percentile(secs, 50)),
            "p90_response_seconds": _rnd(sla.percentile(secs, 90))}


def by_agent(rows: Iterable[Row], default_agent: str) -> list[dict[str, Any]]:
    """One entry per agent who replied, most replies first (then by name): count, median/p90 response seconds,
    within_target = share (0..1) of that agent's replies made by the deadline."""
    groups: dict[str, list[Row]] = {}
    for r in rows:
        if r["replied_at"] is not None:
            groups.setdefault(r["replied_by"] or default_agent, []).append(r)
    out = []
    for agent, replied in groups.items():
        within = sum(1 for r in replied if r["replied_at"] <= r["deadline"])
        out.append({"agent": agent, **_times(replied), "within_target": round(within / len(replied), 4)})
    return sorted(out, key=lambda e: (-e["count"], e["agent"].casefold(), e["agent"]))


def by_channel_list(channels: dict[str, list[Row]], now: float) -> list[dict[str, Any]]:
    """One entry per channel (every channel in `channels`, also those with no reply yet), in that order:
    count of replies, median/p90 response seconds, within_target = the channel's within_target_share."""
    out = []
    for platform, rows in channels.items():
        whole = figures(rows, now)
        missed_open = whole["missed"] - (whole["answered"] - whole["within_target"])
        out.append({"platform": platform, **_times([r for r in rows if r["replied_at"] is not None]),
                    "within_target": whole["within_target_share"], "missed_open": missed_open})
    return out


def grouped(groups: tuple[str, ...], first: list[Row], channels: dict[str, list[Row]], now: float,
            default_agent: str) -> dict[str, Any]:
    """The extra members of the stats document for the groups asked for."""
    extra: dict[str, Any] = {}
    if "agent" in groups:
        extra["by_agent"] = by_agent(first, default_agent)
    if "channel" in groups:
        extra["by_channel_list"] = by_channel_list(channels, now)
    return extra
