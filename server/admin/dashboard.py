"""The console's dashboard: the team's response times and what is overdue now, asked of the queue service itself.

Every time on it says which clock it is on. Response times and "overdue by" are wall clock (what the customer
waited, and what the tray counts down), written the tray's way ("9d 4h"); where business hours apply, the
business-time figure stands beside it, labelled as such. Charts with no figures say "no data" instead of drawing
an empty frame that reads as 0.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from flask import render_template, request

from server.admin import charts
from server.admin.views import bp
from server.services import services

DASHBOARD_OVERDUE = 200  # overdue posts listed on the dashboard (the API's default page)
log = logging.getLogger(__name__)


@bp.get("/dashboard")
def dashboard() -> Any:
    """The figures the tray and the API see, asked of the queue service itself (not of our own HTTP API)."""
    days = request.args.get("days", "14")
    days_n = int(days) if days in ("7", "14", "30", "90") else 14
    queue = services().queue
    stats: dict[str, Any] | None = None
    overdue: list[dict[str, Any]] | None = None
    now = None
    if queue is not None:
        now = until = queue.clock()
        try:
            stats = queue.stats(until - days_n * 86400, until, None, "UTC", ("agent", "channel"),
                                services().config.agent_name)
            overdue = [late_by(item, now) for item in
                       queue.listing(["overdue"], None, DASHBOARD_OVERDUE, 0)["items"]]
        except Exception:  # a queue problem shows as "no figures", never as a broken console
            log.exception("dashboard figures could not be read")
    view = dashboard_view(stats) if stats else None
    return render_template("admin/dashboard.html", stats=stats, view=view, overdue=overdue, days=days_n,
                           humanize=charts.humanize, safe_url=safe_url)


def late_by(item: dict[str, Any], now: float) -> dict[str, Any]:
    """The item with `wall_late` (seconds past the deadline on the wall clock, as the tray counts) and
    `business_late` (past it in business time, when business hours apply)."""
    out = dict(item)
    try:
        deadline = datetime.fromisoformat(str(item.get("deadline")).replace("Z", "+00:00")).timestamp()
        out["wall_late"] = max(0.0, now - deadline)
    except ValueError:
        out["wall_late"] = None
    left = item.get("seconds_left")
    out["business_late"] = max(0.0, -float(left)) if item.get("business_hours") and left is not None else None
    return out


def safe_url(url: Any) -> str | None:
    return url if isinstance(url, str) and re.match(r"^https://[^\s\"'<>]+$", url) else None


def _share_values(by_day: list[dict[str, Any]]) -> list[float | None]:
    return [None if d.get("within_target_share") is None else round(float(d["within_target_share"]) * 100, 1)
            for d in by_day]


def dashboard_view(stats: dict[str, Any]) -> dict[str, Any]:
    """Numbers and charts for the dashboard from the /api/stats document."""
    overall = stats.get("overall") or {}
    by_day = [d for d in stats.get("by_day") or [] if isinstance(d, dict)]
    by_channel = {k: v for k, v in (stats.get("by_channel") or {}).items() if isinstance(v, dict)}
    labels = [str(d.get("date", ""))[5:] or "?" for d in by_day]
    channels = sorted(by_channel)
    agents = group_rows(stats.get("by_agent"), "agent")
    rows = by_day + [by_channel[c] for c in channels] + agents  # one unit for every time on the page
    longest = max((float(r.get(k) or 0) for r in rows for k in ("median_seconds", "p90_seconds")), default=0)
    per, unit = (3600.0, "h") if longest > 3 * 3600 else (60.0, "m")  # hours once minutes get unreadable

    def scaled(row: dict[str, Any], key: str) -> float | None:
        value = row.get(key)
        return None if value is None else round(float(value) / per, 1)

    def timing(series_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"label": "median", "values": [scaled(r, "median_seconds") for r in series_rows], "cls": "s1"},
                {"label": "90th percentile", "values": [scaled(r, "p90_seconds") for r in series_rows], "cls": "s2"}]

    word = "hours" if unit == "h" else "minutes"
    day_chart = charts.bar_chart(labels, timing(by_day), unit=unit,
                                 title=f"Response time per day ({word}, wall clock)") if by_day else None
    share_chart = charts.bar_chart(
        labels, [{"label": "share within target",
                  "values": _share_values(by_day), "cls": "s3"}],
        unit="%", title="Share answered within target per day", max_value=100, width=1040, height=200) \
        if by_day else None
    channel_chart = charts.bar_chart(channels, timing([by_channel[c] for c in channels]), unit=unit,
                                     title=f"Response time per channel ({word}, wall clock)",
                                     width=420) if channels else None
    meters = {c: charts.share_meter(by_channel[c].get("within_target_share")) for c in channels}
    return {"overall": overall, "by_day": by_day, "by_channel": by_channel, "day_chart": day_chart,
            "share_chart": share_chart, "channel_chart": channel_chart, "meters": meters,
            "overall_meter": charts.share_meter(overall.get("within_target_share")),
            "agents": agents, "channels": group_rows(stats.get("by_channel_list"), "platform")}


def group_rows(entries: Any, key: str) -> list[dict[str, Any]]:
    """The by_agent / by_channel_list entries as table rows: the name, the figures, and "within target" as
    a percentage with the counts it comes from ("75% (3 of 4)"), so a lead sees how many replies it rests on.

    For a channel the base includes its open posts past the deadline (missed_open); for an agent it is only
    their replies (an open post has no agent yet)."""
    rows = []
    for e in entries if isinstance(entries, list) else []:
        if not isinstance(e, dict):
            continue
        count = int(e.get("count") or 0)
        base = count + int(e.get("missed_open") or 0)
        share = e.get("within_target")
        rows.append({**e, "name": str(e.get(key) or "?"), "median_seconds": e.get("median_response_seconds"),
                     "p90_seconds": e.get("p90_response_seconds"),
                     "within_text": charts.share_text(share, base)})
    return rows
