"""The response-time queue: tracking posts, their clocks, state changes, stats and live events.

Layers: `server.sla` holds the pure clock logic, `server.store` the only SQL; this module joins them to the
app: `QueueService` (rules), `Scheduler` (time-driven transitions), the `/api/queue` and `/api/stats` routes,
the /ws snapshot and actions, and the after-suggest hook that tracks every post an agent asks a reply for.

Rules, in one place:
- Tracking is idempotent per (platform, post_id): the same post again returns the same item (200, not 201).
- The clock starts at the post's own `created_at` (what the customer experiences), or at first-seen when the
  page gave no time (or a time in the future: clock skew must not grant extra time).
- The target is the pack's, per channel: a severity override wins, then an intent override, then the default.
  The target, due-soon fraction and business hours in force at tracking are stored with the item, so a later
  pack edit never moves a promise already made; the deadline and due-soon instants derive only from those.
- Next-response clock: a thread is (platform, author handle). A new post from a customer whose latest tracked
  post is already replied, made after that reply, starts a new item of kind "next_response" linked to it
  (`previous_id`). A new post while the previous one is still open is an item of its own (kind "first"): on
  social media every public post may need its own answer.
- States: replied and dismissed are final (replying to a dismissed post is allowed and wins; dismissing a
  replied one is a 409). Snoozing hides an open item until a time; the customer's clock keeps running, and
  when the snooze ends the agent is notified again of the state it is then in.
- Notifications: due_soon and overdue are published once per item and level, the moment the crossing happens
  (persisted, so a restart does not repeat them; a crossing that happened while the server was down is not
  announced late, the snapshot shows it). A snooze re-arms them: when it ends, the current state is announced.

Events on /ws (DESIGN.md): on connect {"type": "queue", "items": [...], "total", "truncated", "counts",
"server_time"} (active items, most urgent first, at most 1000); every change {"type": "queue", "change":
"upsert", "item"}; an item that leaves the active set (replied, dismissed) is also followed by {"type": "queue",
"change": "remove", "id", "reason"}; {"type": "due_soon"|"overdue", "item"} once per crossing. Clients may send
{"type": "queue_snapshot"} (e.g. after a "resync") and {"type": "queue_action", "id", "action":
"replied"|"dismiss"|"snooze", "minutes"?|"until"?|"replied_at"?} (answered with "queue_action_done" or "error").
GET /api/queue answers one page (default 200, `limit` up to 1000, `offset`) with `total` and per-state `counts`,
so a desk with 10,000 open posts still answers in milliseconds; the tray needs the most urgent, not all.
"""
from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
import weakref
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request

from server import sla
from server.errors import ApiError, read_json
from server.posts import PLATFORMS, PostError, validate_post
from server.store import ACTIVE, QueueStore, Row

log = logging.getLogger(__name__)
bp = Blueprint("queue", __name__, url_prefix="/api")

DEFAULT_LIMIT = 200  # a page of the queue: more than a desk can act on, small enough to answer in a few ms
MAX_LIMIT = 1000
SNAPSHOT_LIMIT = 1000  # items in the /ws snapshot (most urgent first); "total" says how many are active
MAX_SNOOZE = timedelta(days=7)
# What item_json needs of a row when the rest of it is cached.
CLOCK_COLUMNS = ("updated_at", "replied_at", "dismissed_at", "snoozed_until", "deadline", "due_soon_at", "hours_json")
STATIC_CACHE_SIZE = 20_000  # QueueItem skeletons kept (a few MB): more than a desk's open posts
MAX_STATS_DAYS = 400
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
        raise ApiError(400, "invalid_post", "post.post_id (or post.url) is required to track a post.")
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


class QueueService:
    """The queue's rules over a QueueStore; publishes every change on the app's event hub."""

    def __init__(self, store: QueueStore, hub: Any, packs: Any, default_pack: str, clock: Any = time.time) -> None:
        self.store, self.hub, self.packs, self.default_pack, self.clock = store, hub, packs, default_pack, clock
        self.scheduler: Scheduler | None = None
        self._static_cache: dict[tuple, tuple[dict[str, Any], tuple[Any, datetime, datetime, datetime | None]]] = {}
        self._static_lock = threading.Lock()

    # -- the QueueItem shape -----------------------------------------------------------------------------------
    def item_json(self, row: Row, now: float | None = None, batch: Batch | None = None) -> dict[str, Any]:
        """A stored row as the API's QueueItem, with state and time left computed for `now`.

        `batch` shares the business-hours arithmetic across a page of items (same `now`). The parts that only
        change when the row does are built once per row version (`_static`): a page of 200 is then mostly
        the clock arithmetic, which must be fresh for every request."""
        now = self.clock() if now is None else now
        now_dt = _dt(now)
        assert now_dt is not None
        static, times = self._static(row)
        hours, deadline, started, stopped_at = times
        state = sla.state_at(row["deadline"], row["due_soon_at"], now, replied=row["replied_at"] is not None,
                             dismissed=row["dismissed_at"] is not None, snoozed_until=row["snoozed_until"])
        if stopped_at is None and hours is not None:
            line = (batch or Batch(now_dt, row["deadline"])).timeline(row["hours_json"], hours)
            left = line.value(deadline) - line.value(now_dt)
            running = line.is_open(now_dt)
        else:
            left = sla.seconds_left(deadline, stopped_at or now_dt, hours)
            running = stopped_at is None
        item = dict(static)
        item["state"] = state
        item["seconds_left"] = round(left, 3)
        item["waiting_seconds"] = round(((stopped_at or now_dt) - started).total_seconds(), 3)
        item["clock_running"] = running
        if state == "snoozed":
            item["snoozed_until"] = sla.iso(_dt(row["snoozed_until"]))
        return item

    def page(self, rows: list[Row], now: float) -> list[dict[str, Any]]:
        """QueueItems for a page of narrow rows (CLOCK_COLUMNS): full rows are read only for versions not cached."""
        batch = Batch(_dt(now), min((r["deadline"] for r in rows), default=now))  # type: ignore[arg-type]
        missing = [r["id"] for r in rows if self._static_key(r) not in self._static_cache]
        full = self.store.get_many(missing) if missing else {}
        return [self.item_json(full.get(r["id"], r), now, batch) for r in rows]

    @staticmethod
    def _static_key(row: Row) -> tuple:
        return row["id"], row["updated_at"], row["replied_at"], row["dismissed_at"], row["snoozed_until"]

    def _static(self, row: Row) -> tuple[dict[str, Any], tuple[Any, datetime, datetime, datetime | None]]:
        """The QueueItem fields that depend on the stored row alone, cached per (id, version of the row)."""
        key = self._static_key(row)
        hit = self._static_cache.get(key)
        if hit is not None:
            return hit
        hours = _hours(row["hours_json"])
        deadline, started = _dt(row["deadline"]), _dt(row["started_at"])
        replied, dismissed = _dt(row["replied_at"]), _dt(row["dismissed_at"])
        assert deadline and started
        handle, name = row["author_handle"], row["author_name"]
        item: dict[str, Any] = {
            "id": row["id"],
            "platform": row["platform"],
            "post_id": row["post_id"],
            "url": row["url"],
            "author": {"handle": handle, "name": name},
            "customer": name or (f"@{handle}" if handle else "a customer"),
            "text": row["text"],
            "intent": row["intent"],
            "severity": row["severity"],
            "created_at": sla.iso(_dt(row["created_at"])),
            "first_seen": sla.iso(_dt(row["first_seen"])),
            "started_at": sla.iso(started),
            "deadline": sla.iso(deadline),
            "due_soon_at": sla.iso(_dt(row["due_soon_at"])),
            "state": None,
            "seconds_left": None,
            "waiting_seconds": None,
            "clock_running": None,
            "target_minutes": _number(row["target_minutes"]),
            "business_hours": hours is not None,
            "response_seconds": None,
            "response_business_seconds": None,
            "within_target": None,
            "replied_at": sla.iso(replied),
            "dismissed_at": sla.iso(dismissed),
            "snoozed_until": None,
            "pack": {"name": row["pack"], "version": row["pack_version"]},
            "kind": row["kind"],
            "thread_key": row["thread_key"],
            "previous_id": row["prev_id"],
        }
        if replied is not None:
            item["response_seconds"] = round((replied - started).total_seconds(), 3)
            item["response_business_seconds"] = round(sla.business_seconds_between(started, replied, hours), 3)
            item["within_target"] = replied <= deadline
        hit = (item, (hours, deadline, started, replied or dismissed))
        with self._static_lock:
            if len(self._static_cache) >= STATIC_CACHE_SIZE:
                self._static_cache.pop(next(iter(self._static_cache)))  # oldest first: dicts keep order
            self._static_cache[key] = hit
        return hit

    def publish(self, event: dict[str, Any]) -> None:
        event.setdefault("server_time", sla.iso(_dt(self.clock())))
        self.hub.publish(event)

    def publish_upsert(self, row: Row) -> dict[str, Any]:
        item = self.item_json(row)
        self.publish({"type": "queue", "change": "upsert", "item": item})
        if item["state"] in ("replied", "dismissed"):
            # Leaves the active set; clients that keep only active items can drop it on either event.
            self.publish({"type": "queue", "change": "remove", "id": item["id"], "reason": item["state"]})
        return item

    # -- tracking ----------------------------------------------------------------------------------------------
    def build_row(self, post: dict[str, Any], pack: Any, analysis: dict[str, Any] | None = None,
                  now: float | None = None) -> Row:
        """The stored form of a newly tracked post (clock inputs from the pack, deadline derived from them)."""
        now = self.clock() if now is None else now
        post_id = post_key(post)
        facts = analysis
        if facts is None:
            try:
                from server import analysis as analysis_mod

                facts = analysis_mod.analyze(post, pack)
            except Exception:  # the clock must start even if analysis fails; default target then
                log.exception("analysis failed while tracking; using the default target")
                facts = {}
        intent = facts.get("intent") if isinstance(facts.get("intent"), str) else None
        severity = facts.get("severity") if isinstance(facts.get("severity"), str) else None
        rules = pack.data.get("sla") or {}
        platform = post["platform"]
        minutes = sla.target_minutes(rules, platform, intent, severity)
        fraction = float(rules.get("due_soon_fraction") or sla.DEFAULT_DUE_SOON_FRACTION)
        try:
            hours = sla.parse_hours(rules.get("business_hours"))
        except sla.HoursError as exc:
            log.warning("pack %s: business hours ignored (clock always runs): %s", pack.name, exc)
            hours = None
        created = sla.parse_instant(post.get("created_at"))
        started = created.timestamp() if created is not None and created.timestamp() <= now else now
        start_dt = _dt(started)
        assert start_dt is not None
        deadline = sla.deadline(start_dt, minutes, hours)
        due_soon_at = sla.deadline(start_dt, minutes * (1 - fraction), hours)
        author = post.get("author") or {}
        handle = author.get("handle")
        return {
            "platform": platform, "post_id": post_id, "url": post.get("url"),
            "author_handle": handle, "author_name": author.get("name"), "text": post["text"],
            "lang": post.get("lang"), "intent": intent, "severity": severity, "pack": pack.name,
            "pack_version": pack.version, "created_at": created.timestamp() if created else None,
            "first_seen": now, "started_at": started, "target_minutes": minutes, "due_soon_fraction": fraction,
            "hours_json": json.dumps(hours.as_dict(), separators=(",", ":")) if hours else None,
            "due_soon_at": due_soon_at.timestamp(), "deadline": deadline.timestamp(), "kind": "first",
            "thread_key": f"{platform}:{handle.lower()}" if handle else None, "prev_id": None,
            "notified": LEVEL[sla.state_at(deadline, due_soon_at, _dt(now))],  # no alert for a past crossing
            "updated_at": now,
        }

    def track(self, post: dict[str, Any], pack: Any, analysis: dict[str, Any] | None = None) -> tuple[dict, bool]:
        """Track a validated post: (QueueItem, created?)."""
        existing = self.store.get_by_post(post["platform"], post_key(post))
        if existing is not None:  # the common repeat (Suggest reply again): no analysis, no write
            return self.item_json(existing), False
        row = self.build_row(post, pack, analysis)

        def link(prev: Row | None) -> Row:
            if prev is not None and prev["replied_at"] is not None and row["started_at"] >= prev["replied_at"]:
                return {"kind": "next_response", "prev_id": prev["id"]}
            return {}

        stored, created = self.store.insert(row, link)
        if created:
            item = self.publish_upsert(stored)
            if self.scheduler:
                self.scheduler.schedule_row(stored)
            return item, True
        return self.item_json(stored), False

    # -- state changes -----------------------------------------------------------------------------------------
    def act(self, item_id: int, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """replied | dismiss | snooze, atomically; returns the QueueItem after. Raises ApiError on bad input."""
        now = self.clock()
        if action == "replied":
            at = body.get("replied_at")
            replied_at = now
            if at is not None:
                parsed = sla.parse_instant(at) if isinstance(at, str) else None
                if parsed is None:
                    raise ApiError(400, "invalid_time", "'replied_at' must be an ISO-8601 time such as "
                                                        "2026-11-24T08:30:00Z.")
                if parsed.timestamp() > now + 300:
                    raise ApiError(400, "invalid_time", "'replied_at' is in the future.")
                replied_at = parsed.timestamp()

            def decide(row: Row) -> tuple[str, Row] | None:
                if row["replied_at"] is not None:
                    return None
                if replied_at < row["started_at"]:
                    raise ApiError(400, "invalid_time", "'replied_at' is before the customer's post.")
                return "replied", {"replied_at": replied_at, "snoozed_until": None, "updated_at": now}
        elif action == "dismiss":
            def decide(row: Row) -> tuple[str, Row] | None:
                if row["replied_at"] is not None:
                    raise ApiError(409, "already_replied", "This post is already marked replied.")
                if row["dismissed_at"] is not None:
                    return None
                return "dismissed", {"dismissed_at": now, "snoozed_until": None, "updated_at": now}
        elif action == "snooze":
            until = self._snooze_until(body, now)

            def decide(row: Row) -> tuple[str, Row] | None:
                if row["replied_at"] is not None or row["dismissed_at"] is not None:
                    raise ApiError(409, "closed", "Only an open post can be snoozed; this one is "
                                                  f"{'replied' if row['replied_at'] is not None else 'dismissed'}.")
                return "snoozed", {"snoozed_until": until, "notified": 0, "updated_at": now}
        else:
            raise ApiError(404, "not_found", f"Unknown action '{action[:40]}'; use replied, dismiss or snooze.")
        result = self.store.change(item_id, decide)
        if result is None:
            raise ApiError(404, "not_found", f"No queue item with id {item_id}.")
        row, changed = result
        if not changed:
            return self.item_json(row)
        if self.scheduler and action == "snooze":
            self.scheduler.schedule_row(row)
        return self.publish_upsert(row)

    @staticmethod
    def _snooze_until(body: dict[str, Any], now: float) -> float:
        minutes, until = body.get("minutes"), body.get("until")
        if (minutes is None) == (until is None):
            raise ApiError(400, "invalid_snooze", "Send either {\"minutes\": 1..1440} or {\"until\": ISO time}.")
        if minutes is not None:
            if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not 1 <= minutes <= 1440:
                raise ApiError(400, "invalid_snooze", "'minutes' must be a number from 1 to 1440.")
            return now + float(minutes) * 60
        parsed = sla.parse_instant(until) if isinstance(until, str) else None
        if parsed is None:
            raise ApiError(400, "invalid_snooze", "'until' must be an ISO-8601 time such as 2026-11-24T09:00:00Z.")
        if parsed.timestamp() <= now:
            raise ApiError(400, "invalid_snooze", "'until' is in the past.")
        if parsed.timestamp() > now + MAX_SNOOZE.total_seconds():
            raise ApiError(400, "invalid_snooze", "A snooze can last at most 7 days.")
        return parsed.timestamp()

    # -- reads -------------------------------------------------------------------------------------------------
    def get(self, item_id: int) -> dict[str, Any]:
        row = self.store.get(item_id)
        if row is None:
            raise ApiError(404, "not_found", f"No queue item with id {item_id}.")
        return self.item_json(row)

    def listing(self, states: list[str] | None, platform: str | None, limit: int, offset: int) -> dict[str, Any]:
        now = self.clock()
        rows, total, counts = self.store.list(now, states, platform, limit, offset, with_counts=True,
                                              columns=CLOCK_COLUMNS)
        return {"items": self.page(rows, now), "total": total, "limit": limit,
                "offset": offset, "counts": counts, "server_time": sla.iso(_dt(now))}

    def snapshot(self) -> dict[str, Any]:
        """The /ws on-connect event: the active queue, most urgent first."""
        now = self.clock()
        rows, total, counts = self.store.list(now, list(ACTIVE), None, SNAPSHOT_LIMIT, 0, with_counts=True,
                                              columns=CLOCK_COLUMNS)
        return {"type": "queue", "items": self.page(rows, now), "total": total,
                "truncated": total > len(rows), "counts": counts, "server_time": sla.iso(_dt(now))}

    def stats(self, since: float, until: float, platform: str | None, tz: str) -> dict[str, Any]:
        """First-response figures for clocks started in [since, until): overall, per channel, per local day.

        response times are wall-clock seconds (what the customer waited) with business-time twins;
        within_target_share = replied by the deadline / (replied + open past the deadline): dismissed posts
        needed no reply and open posts not yet due have no outcome yet, so neither counts.
        """
        now = self.clock()
        zone = sla.ZoneInfo(tz)
        rows = self.store.started_between(since, until, platform)
        first = [r for r in rows if r["kind"] == "first"]
        by_channel: dict[str, list[Row]] = {p: [] for p in PLATFORMS if platform in (None, p)}
        by_day: dict[str, list[Row]] = {}
        for r in first:
            by_channel.setdefault(r["platform"], []).append(r)
            day = datetime.fromtimestamp(r["started_at"], zone).date().isoformat()
            by_day.setdefault(day, []).append(r)
        return {
            "since": sla.iso(_dt(since)), "until": sla.iso(_dt(until)), "timezone": tz, "platform": platform,
            "overall": _figures(first, now),
            "by_channel": {p: _figures(rs, now) for p, rs in by_channel.items()},
            "by_day": [{"date": d, **_figures(rs, now)} for d, rs in sorted(by_day.items())],
            "next_response": _figures([r for r in rows if r["kind"] == "next_response"], now),
            "overdue_now": self.store.overdue_now(now, platform),
            "server_time": sla.iso(_dt(now)),
        }


def _figures(rows: list[Row], now: float) -> dict[str, Any]:
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


class Scheduler:
    """Publishes due_soon / overdue (and snooze ends) the moment they happen, from the server's clock.

    A heap of (instant, item) holds each open item's next transition, so a tick costs O(log n) per due entry
    instead of a scan of every item; stale entries are harmless because each is re-checked against the database
    and the persisted notification level. The thread holds the scheduler only weakly, so an app dropped without
    `stop()` (test clients) lets its thread end.
    """

    def __init__(self, service: QueueService, interval: float = 1.0) -> None:
        self.service = service
        self.interval = max(0.01, float(interval))
        self._heap: list[tuple[float, int, int]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self.thread: threading.Thread | None = None

    def load(self) -> None:
        """Start-up: schedule every open item. Crossings that happened while the server was down are recorded
        without an event (no client was connected to hear it; the snapshot on connect shows the state), so a
        restart never floods clients with stale alerts, nor repeats those already sent."""
        now = self.service.clock()
        owed: list[tuple[int, int]] = []
        for row in self.service.store.open_items():
            if not (row["snoozed_until"] and row["snoozed_until"] > now):
                level = 2 if row["deadline"] <= now else 1 if row["due_soon_at"] <= now else 0
                if level > row["notified"]:
                    owed.append((row["id"], level))
                    row = {**row, "notified": level, "snoozed_until": None}
            self.schedule_row(row, now, notify=False)
        self.service.store.catch_up(owed, now)

    def start(self) -> None:
        self.thread = threading.Thread(target=_scheduler_loop, args=(weakref.ref(self),), daemon=True,
                                       name="queue-scheduler")
        self.thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self.thread and self.thread is not threading.current_thread():
            self.thread.join(timeout=5)

    def push(self, at: float, item_id: int, notify: bool = True) -> None:
        with self._cond:
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (at, next(self._seq), item_id))
            if notify and (earliest is None or at < earliest):
                self._cond.notify_all()

    def schedule_row(self, row: Row, now: float | None = None, notify: bool = True) -> None:
        """Queue the next moment this open item needs attention (now, if a notification is owed)."""
        now = self.service.clock() if now is None else now
        snoozed = row["snoozed_until"] if row["snoozed_until"] and row["snoozed_until"] > now else None
        if snoozed is not None:
            self.push(snoozed, row["id"], notify)
            return
        level = 2 if row["deadline"] <= now else 1 if row["due_soon_at"] <= now else 0
        if level > row["notified"]:
            self.push(now, row["id"], notify)
            return
        nxt = next((t for t in (row["due_soon_at"], row["deadline"]) if t > now), None)
        if nxt is not None:
            self.push(nxt, row["id"], notify)

    def next_due(self) -> float | None:
        with self._cond:
            return self._heap[0][0] if self._heap else None

    def tick(self, now: float | None = None) -> int:
        """Handle every entry due by `now`; returns how many items were looked at."""
        now = self.service.clock() if now is None else now
        due: list[int] = []
        with self._cond:
            while self._heap and self._heap[0][0] <= now:
                due.append(heapq.heappop(self._heap)[2])
        for item_id in dict.fromkeys(due):
            try:
                self._check(item_id, now)
            except Exception:  # one bad row must not stop the clock for the others
                log.exception("scheduler: item %s", item_id)
        return len(due)

    def _check(self, item_id: int, now: float) -> None:
        svc = self.service
        row = svc.store.get(item_id)
        if row is None or row["replied_at"] is not None or row["dismissed_at"] is not None:
            return
        if row["snoozed_until"] is not None and row["snoozed_until"] > now:
            self.push(row["snoozed_until"], item_id, notify=False)
            return
        announce = False
        if row["snoozed_until"] is not None:  # a snooze has ended: record it once, and tell clients
            result = svc.store.change(item_id, lambda r: ("snooze_ended", {"snoozed_until": None})
                                      if r["snoozed_until"] is not None and r["snoozed_until"] <= now
                                      and r["replied_at"] is None and r["dismissed_at"] is None else None)
            if result is not None:
                row, announce = result
        level = 2 if row["deadline"] <= now else 1 if row["due_soon_at"] <= now else 0
        if level > row["notified"] and svc.store.set_notified(item_id, level, expect_below=level):
            row = svc.store.get(item_id) or row
            item = svc.publish_upsert(row)
            svc.publish({"type": "overdue" if level == 2 else "due_soon", "item": item})
        elif announce:
            svc.publish_upsert(row)
        nxt = next((t for t in (row["due_soon_at"], row["deadline"]) if t > now), None)
        if nxt is not None:
            self.push(nxt, item_id, notify=False)

    def wait(self) -> None:
        """Sleep until the next entry is due, a new earlier one arrives, or `interval` passes."""
        with self._cond:
            if self._stopped:
                return
            timeout = self.interval
            if self._heap:
                timeout = min(timeout, max(0.0, self._heap[0][0] - self.service.clock()))
            if timeout > 0:
                self._cond.wait(timeout)


def _scheduler_loop(ref: weakref.ReferenceType[Scheduler]) -> None:
    while True:
        sched = ref()
        if sched is None or sched._stopped:
            return
        try:
            sched.wait()
            if not sched._stopped:
                sched.tick()
        except Exception:
            log.exception("queue scheduler tick failed")
            time.sleep(sched.interval)
        del sched


# -- HTTP ------------------------------------------------------------------------------------------------------
def service() -> QueueService:
    return current_app.extensions["replydesk"]["queue"]


def _optional_json() -> dict[str, Any]:
    return read_json() if request.get_data(cache=True) else {}


def _resolve_pack(name: Any) -> Any:
    from server.suggest import resolve_pack

    svc = current_app.extensions["replydesk"]
    return resolve_pack(svc["packs"], name, svc["config"].default_pack)


@bp.post("/queue")
def track() -> Any:
    body = read_json()
    if "post" not in body:
        raise ApiError(400, "invalid_post", "The request needs a 'post' object (see DESIGN.md).")
    try:
        post = validate_post(body["post"])
    except PostError as exc:
        raise ApiError(413 if exc.code == "text_too_long" else 400, exc.code, exc.message) from None
    pack = _resolve_pack(body.get("pack"))
    item, created = service().track(post, pack)
    return jsonify(item), 201 if created else 200


def _states(raw: str | None) -> list[str] | None:
    if raw is None or raw.strip() == "":
        return list(ACTIVE)
    wanted = [s.strip() for s in raw.split(",") if s.strip()]
    if wanted == ["all"]:
        return None
    if wanted == ["active"]:
        return list(ACTIVE)
    bad = [s for s in wanted if s not in sla.STATES]
    if bad or not wanted:
        raise ApiError(400, "invalid_state", f"Unknown state '{(bad or [raw])[0][:40]}'; use a comma list of "
                                             f"{', '.join(sla.STATES)}, or 'active' or 'all'.")
    return wanted


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"invalid_{name}", f"'{name}' must be a whole number from {lo} to {hi}.") from None
    if not lo <= value <= hi:
        raise ApiError(400, f"invalid_{name}", f"'{name}' must be a whole number from {lo} to {hi}.")
    return value


def _platform_arg() -> str | None:
    platform = request.args.get("platform") or None
    if platform is not None and platform not in PLATFORMS:
        raise ApiError(400, "unknown_platform", f"Unknown platform '{platform[:40]}'; use one of: "
                                                f"{', '.join(PLATFORMS)}.")
    return platform


@bp.get("/queue")
def listing() -> Any:
    """The queue, most urgent first. Default: the active states (waiting, due_soon, overdue, snoozed), first 200;
    `state=all` for every item, `limit` (1..1000) and `offset` to page, `total` and `counts` for badges."""
    states = _states(request.args.get("state"))
    return jsonify(service().listing(states, _platform_arg(), _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
                                     _int_arg("offset", 0, 0, 10**9)))


@bp.get("/queue/<int(max=9223372036854775807):item_id>")  # SQLite ids are 64-bit: larger is 404
def get_item(item_id: int) -> Any:
    return jsonify(service().get(item_id))


@bp.post("/queue/<int(max=9223372036854775807):item_id>/<action>")
def act(item_id: int, action: str) -> Any:
    return jsonify(service().act(item_id, action, _optional_json()))


def _time_arg(name: str, default: float, is_end: bool) -> float:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    value = sla.parse_instant(raw)
    if value is None:
        raise ApiError(400, f"invalid_{name}", f"'{name}' must be an ISO-8601 date or time, e.g. 2026-11-24 or "
                                               "2026-11-24T08:00:00Z.")
    if is_end and len(raw.strip()) == 10:  # a bare date as the end means the whole of that day
        value += timedelta(days=1)
    return value.timestamp()


@bp.get("/stats")
def stats() -> Any:
    """Response-time figures over ?since=&until= (ISO dates or times; default the last 30 days),
    ?platform=, ?tz= (IANA name for the per-day split; default UTC)."""
    now = service().clock()
    until = _time_arg("until", now, is_end=True)
    since = _time_arg("since", until - 30 * 86400, is_end=False)
    if since >= until:
        raise ApiError(400, "invalid_range", "'since' must be before 'until'.")
    if until - since > MAX_STATS_DAYS * 86400:
        raise ApiError(400, "invalid_range", f"The range can span at most {MAX_STATS_DAYS} days.")
    tz = request.args.get("tz") or "UTC"
    try:
        sla.ZoneInfo(tz)
    except (sla.ZoneInfoNotFoundError, ValueError):
        raise ApiError(400, "invalid_tz", f"Unknown time zone '{tz[:60]}'; use an IANA name such as "
                                          "Europe/London.") from None
    return jsonify(service().stats(since, until, _platform_arg(), tz))


# -- wiring ----------------------------------------------------------------------------------------------------
def init_app(app: Flask) -> None:
    """Open the store, start the scheduler, register routes, /ws hooks and the after-suggest hook."""
    from server import ws

    services = app.extensions["replydesk"]
    cfg = services["config"]
    store = QueueStore(cfg.db_path)
    svc = QueueService(store, app.extensions["replydesk_hub"], services["packs"], cfg.default_pack)
    scheduler = Scheduler(svc, cfg.scheduler_interval)
    svc.scheduler = scheduler
    scheduler.load()
    scheduler.start()
    services["queue"] = svc
    app.register_blueprint(bp)

    def on_connect(session: Any) -> None:
        try:
            session.send(svc.snapshot())
        except Exception:  # the connection must survive a queue problem; the client can ask again
            log.exception("queue snapshot failed")
            session.error("queue_unavailable", "The queue could not be read; send {\"type\": \"queue_snapshot\"} "
                                               "to try again.")

    def on_action(session: Any, msg: dict[str, Any]) -> None:
        """{"type": "queue_action", "id": item id, "action": replied|dismiss|snooze, ...body fields}."""
        item_id, action = msg.get("id"), msg.get("action")
        if isinstance(item_id, bool) or not isinstance(item_id, int) or action not in ("replied", "dismiss",
                                                                                       "snooze"):
            session.error("invalid_action", "Send {\"type\": \"queue_action\", \"id\": <item id>, \"action\": "
                                            "\"replied\"|\"dismiss\"|\"snooze\"}.", msg.get("id"))
            return
        try:
            item = svc.act(item_id, action, msg)
        except ApiError as exc:
            session.error(exc.code, exc.message, item_id)
            return
        session.send({"type": "queue_action_done", "id": item_id, "action": action, "item": item})

    ws.connect_hooks(app).append(on_connect)
    ws.handlers(app)["queue_action"] = on_action
    ws.handlers(app)["queue_snapshot"] = lambda session, msg: session.send(svc.snapshot())

    def after_suggest(post: dict[str, Any], pack: Any, answer: dict[str, Any]) -> None:
        """Track the post the agent is answering and tell the extension its deadline."""
        if not (post.get("post_id") or post.get("url")):
            return
        try:
            item, _ = svc.track(post, pack, analysis=answer.get("analysis"))
        except Exception:  # a queue problem must never cost the agent their suggested reply
            log.exception("could not track the suggested post")
            return
        answer["deadline"] = item["deadline"]
        answer["queue_item"] = item

    services.setdefault("after_suggest", []).append(after_suggest)

    previous_stop = services.get("stop")

    def stop() -> None:
        scheduler.stop()
        store.close()
        if previous_stop:
            previous_stop()

    services["stop"] = stop
