"""Evaluation of the applied clocks: a stored item's state and time left now, and response-time figures.

Pure functions over stored rows (no Flask, no SQL): the service asks them, the routes never do.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from server.core import sla
from server.core.errors import Invalid
from server.queue.store import Row

LEVEL = {"waiting": 0, "due_soon": 1, "overdue": 2}


def _dt(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


def _number(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


@lru_cache(maxsize=256)
def _hours(hours_json: str | None) -> sla.BusinessHours | None:
    """Business hours stored with an item (parsed once per distinct value)."""
    return sla.hours_from_dict(json.loads(hours_json)) if hours_json else None


def post_key(post: dict[str, Any]) -> str:
    """The post's identity with its platform: the site's id, else its URL (some pages hide the id)."""
    key = str(post.get("post_id") or "").strip() or str(post.get("url") or "").strip()
    if not key:
        raise Invalid("invalid_post", "post.post_id (or post.url) is required to track a post.")
    return key[:2048]


class Batch:
    """Per-request cache of business-hours timelines, anchored before every instant the page will ask about."""

    def __init__(self, now: datetime, earliest: float) -> None:
        self.anchor = min(now, datetime.fromtimestamp(earliest, UTC)) - timedelta(seconds=1)
        self._lines: dict[str, sla.Timeline] = {}

    def timeline(self, key: str, hours: sla.BusinessHours) -> sla.Timeline:
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = sla.Timeline(hours, self.anchor)
        return line



def figures(rows: list[Row], now: float) -> dict[str, Any]:
    answered = [r for r in rows if r["replied_at"] is not None]
    secs = [r["replied_at"] - r["started_at"] for r in answered]
    biz = [sla.business_seconds_between(_dt(r["started_at"]), _dt(r["replied_at"]), _hours(r["hours_json"]))
           for r in answered]  # type: ignore[arg-type]
    within = sum(1 for r in answered if r["replied_at"] <= r["deadline"])
    missed_open = sum(1 for r in rows if r["replied_at"] is None and r["dismissed_at"] is None and r["deadline"] <= now)
    decided = len(answered) + missed_open

    def rnd(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    return {
        "count": len(rows), "answered": len(answered),
        "dismissed": sum(1 for r in rows if r["replied_at"] is None and r["dismissed_at"] is not None),
        "median_seconds": rnd(sla.percentile(secs, 50)), "p90_seconds": rnd(sla.percentile(secs, 90)),
        "business_median_seconds": rnd(sla.percentile(biz, 50)), "business_p90_seconds": rnd(sla.percentile(biz, 90)),
        "within_target": within, "missed": decided - within,
        "within_target_share": round(within / decided, 4) if decided else None,
    }


