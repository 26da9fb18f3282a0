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
- Triage drives the queue: a post whose intent the pack does not engage (`engage = false`; abuse, spam, threat
  by default) is tracked without a clock (state "no_reply": no deadline, never due, out of the stats); the order
  is priority (severity and urgency, policy.rank) first, then the deadline; a `legal_safety` post is escalated
  in the same write that tracks it.
- Sent replies: "replied" may carry the text as sent (`reply`, with `replied_by`); the reply engine reads them
  back through QueueMemory (memory.py).
- Notifications: due_soon and overdue are published once per item and level, the moment the crossing happens
  (persisted, so a restart does not repeat them; a crossing that happened while the server was down is not
  announced late, the snapshot shows it). A snooze re-arms them: when it ends, the current state is announced.

Events on /ws (docs/DESIGN.md): on connect {"type": "queue", "items": [...], "total", "truncated", "counts",
"server_time"} (active items, most urgent first, at most 1000); every change {"type": "queue", "change":
"upsert", "item"}; an item that leaves the active set (replied, dismissed) is also followed by {"type": "queue",
"change": "remove", "id", "reason"}; {"type": "queue", "change": "escalated", "item", "reason"} once per
item; {"type": "due_soon"|"overdue", "item"} once per crossing. Clients may send
{"type": "queue_snapshot"} (e.g. after a "resync") and {"type": "queue_action", "id", "action":
"replied"|"dismiss"|"snooze", "minutes"?|"until"?|"replied_at"?} (answered with "queue_action_done" or "error").
GET /api/queue answers one page (default 200, `limit` up to 1000, `offset`) with `total` and per-state `counts`,
so a desk with 10,000 open posts still answers in milliseconds; the tray needs the most urgent, not all.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from server.core import sla
from server.core.errors import Conflict, Invalid, NotFound, TooLarge
from server.queue.applied import AppliedClock, apply
from server.queue.evaluation import LEVEL, Batch, _dt, _hours, _number, post_key
from server.queue.memory import QueueMemory
from server.queue.policy import Policy, engages, escalation_reason, policy_for, rank
from server.queue.stats import document as stats_document
from server.queue.store import ACTIVE, NO_CLOCK_RANK, QueueStore, Row

if TYPE_CHECKING:
    from server.queue.scheduler import Scheduler

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 200  # a page of the queue: more than a desk can act on, small enough to answer in a few ms
MAX_LIMIT = 1000
SNAPSHOT_LIMIT = 1000  # items in the /ws snapshot (most urgent first); "total" says how many are active
MAX_SNOOZE = timedelta(days=7)
# What item_json needs of a row when the rest of it is cached.
CLOCK_COLUMNS = ("updated_at", "replied_at", "dismissed_at", "snoozed_until", "deadline", "due_soon_at", "hours_json",
                 "clock", "claimed_by", "claim_active_at")
STATIC_CACHE_SIZE = 20_000  # QueueItem skeletons kept (a few MB): more than a desk's open posts
MAX_STATS_DAYS = 400
MAX_REPLY = 10_000  # characters: the longest post or draft the API takes



def _releasing(decide: Any) -> Any:
    """The same decision, also clearing the post's claim."""
    def wrapped(row: Row) -> tuple[str, Row] | None:
        verdict = decide(row)
        if verdict is None:
            return None
        event, fields = verdict
        return event, {**fields, "claimed_by": None, "claimed_at": None, "claim_active_at": None}
    return wrapped


def _reply_text(value: Any) -> str | None:
    """The text of the reply as sent: optional, a non-empty string of at most 10,000 characters."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise Invalid("invalid_reply", "'reply' must be the text of the reply as sent (a non-empty string).")
    if len(value) > MAX_REPLY:
        raise TooLarge("reply_too_large", f"'reply' is over {MAX_REPLY:,} characters.")
    return value.strip()


def _reason(value: Any) -> str:
    """Why a post is escalated: a short free text (default: by the agent)."""
    if value is None:
        return "escalated by the agent"
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise Invalid("invalid_reason", "'reason' must be a short text (1 to 500 characters).")
    return value.strip()


def _flag(value: Any) -> bool | None:
    """An analysis flag (urgent, sarcasm): a bool when the analysis gave one, None when it did not."""
    return value if isinstance(value, bool) else None


class QueueService(QueueMemory):
    """The queue's rules over a QueueStore; publishes every change on the app's event hub."""

    def __init__(self, store: QueueStore, hub: Any, packs: Any, default_pack: str, clock: Any = time.time) -> None:
        self.store, self.hub, self.packs, self.default_pack, self.clock = store, hub, packs, default_pack, clock
        self.scheduler: Scheduler | None = None
        self._static_cache: dict[tuple, tuple[dict[str, Any], tuple[Any, datetime, datetime, datetime | None]]] = {}
        self._static_lock = threading.Lock()
        # QueueMemory.recent_sent's copies and the replies this process kept since (the newest 256)
        self._recent, self._recent_lock, self._kept, self.sent_version = {}, threading.Lock(), deque(maxlen=256), 0

    # -- the QueueItem shape -----------------------------------------------------------------------------------
    claim_idle_seconds: float = 120.0  # set from the config by the wiring
    agent_name: str = "agent"  # who the pairing token acts as (config agent_name), set by the wiring

    def item_json(self, row: Row, now: float | None = None, batch: Batch | None = None) -> dict[str, Any]:
        """A stored row as the API's QueueItem, with its claim as it stands at `now` (a lapsed claim is none)."""
        now = self.clock() if now is None else now
        item = self._item_json(row, now, batch)
        holder = row.get("claimed_by")
        active = row.get("claim_active_at")
        live = holder is not None and active is not None and now < active + self.claim_idle_seconds
        item["claimed_by"] = holder if live else None
        item["claim_expires_at"] = sla.iso(_dt(active + self.claim_idle_seconds)) if live else None
        return item

    def _item_json(self, row: Row, now: float | None = None, batch: Batch | None = None) -> dict[str, Any]:
        """A stored row as the API's QueueItem, with state and time left computed for `now`.

        `batch` shares the business-hours arithmetic across a page of items (same `now`). The parts that only
        change when the row does are built once per row version (`_static`): a page of 200 is then mostly
        the clock arithmetic, which must be fresh for every request."""
        now = self.clock() if now is None else now
        now_dt = _dt(now)
        assert now_dt is not None
        static, times = self._static(row)
        hours, deadline, started, stopped_at = times
        if not row["clock"]:
            return self._untimed_json(static, row, now_dt, started, stopped_at)
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

    @staticmethod
    def _untimed_json(static: dict[str, Any], row: Row, now_dt: datetime, started: datetime,
                      stopped_at: datetime | None) -> dict[str, Any]:
        """A post the pack does not engage: tracked, but no deadline, no time left, never due or overdue."""
        item = dict(static)
        item["state"] = "replied" if row["replied_at"] is not None else \
            "dismissed" if row["dismissed_at"] is not None else "no_reply"
        item["waiting_seconds"] = round(((stopped_at or now_dt) - started).total_seconds(), 3)
        item["clock_running"] = False
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
            "clock": bool(row["clock"]),
            "priority": row["rank"],
            "urgent": None if row["urgent"] is None else bool(row["urgent"]),
            "sarcasm": None if row["sarcasm"] is None else bool(row["sarcasm"]),
            "lang": row["lang"],
            "escalated": row["escalated_at"] is not None,
            "escalated_at": sla.iso(_dt(row["escalated_at"])),
            "escalation_reason": row["escalation_reason"],
            "reply": row["reply"],
            "replied_by": row["replied_by"],
        }
        if not row["clock"]:  # no promise was made: no deadline, no target, no response time to judge
            item.update(deadline=None, due_soon_at=None, target_minutes=None)
        elif replied is not None:
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

    def publish_upsert(self, row: Row, action: str | None = None) -> dict[str, Any]:
        """Tell every client the item as it is now; `action` says what happened when clients care (a claim:
        "claimed" / "released", so a panel can say "Dana is replying" without diffing)."""
        item = self.item_json(row)
        event: dict[str, Any] = {"type": "queue", "change": "upsert", "item": item}
        if action:
            event["action"] = action
        self.publish(event)
        if item["state"] in ("replied", "dismissed"):
            # Leaves the active set; clients that keep only active items can drop it on either event.
            self.publish({"type": "queue", "change": "remove", "id": item["id"], "reason": item["state"]})
        return item

    # -- tracking ----------------------------------------------------------------------------------------------
    def _facts(self, post: dict[str, Any], pack: Any, analysis: dict[str, Any] | None) -> dict[str, Any]:
        if analysis is not None:
            return analysis
        try:
            from server.core import analysis as analysis_mod

            return analysis_mod.analyze(post, pack)
        except Exception:  # the clock must start even if analysis fails; default target then
            log.exception("analysis failed while tracking; using the default target")
            return {}

    def clock_for(self, post: dict[str, Any], pack: Any, analysis: dict[str, Any] | None = None,
                  now: float | None = None) -> tuple[Policy, AppliedClock]:
        """The policy and applied clock a post gets (stored when it is tracked; shown as is when it is not)."""
        now = self.clock() if now is None else now
        facts = self._facts(post, pack, analysis)
        intent = facts.get("intent") if isinstance(facts.get("intent"), str) else None
        severity = facts.get("severity") if isinstance(facts.get("severity"), str) else None
        policy = policy_for(pack, post["platform"], intent, severity)
        return policy, apply(policy, post.get("created_at"), now)

    def build_row(self, post: dict[str, Any], pack: Any, analysis: dict[str, Any] | None = None,
                  now: float | None = None) -> Row:
        """The stored form of a newly tracked post (clock inputs from the pack, deadline derived from them)."""
        now = self.clock() if now is None else now
        post_id = post_key(post)
        facts = self._facts(post, pack, analysis)
        policy, clock = self.clock_for(post, pack, facts, now)
        intent = facts.get("intent") if isinstance(facts.get("intent"), str) else None
        severity = facts.get("severity") if isinstance(facts.get("severity"), str) else None
        platform = post["platform"]
        author = post.get("author") or {}
        handle = author.get("handle")
        hours = policy.hours
        timed = engages(pack, intent)
        urgent, sarcasm = _flag(facts.get("urgent")), _flag(facts.get("sarcasm"))
        lang = facts.get("lang") if isinstance(facts.get("lang"), str) and facts.get("lang") else post.get("lang")
        reason = escalation_reason(intent)
        level = LEVEL[sla.state_at(clock.deadline, clock.due_soon_at, now)] if timed else LEVEL["overdue"]
        return {
            "platform": platform, "post_id": post_id, "url": post.get("url"),
            "author_handle": handle, "author_name": author.get("name"), "text": post["text"],
            "lang": lang, "intent": intent, "severity": severity, "pack": pack.name,
            "pack_version": pack.version, "created_at": clock.created_at,
            "first_seen": now, "started_at": clock.started_at, "target_minutes": policy.target_minutes,
            "due_soon_fraction": policy.due_soon_fraction,
            "hours_json": json.dumps(hours.as_dict(), separators=(",", ":")) if hours else None,
            "due_soon_at": clock.due_soon_at, "deadline": clock.deadline, "kind": "first",
            "thread_key": f"{platform}:{handle.lower()}" if handle else None, "prev_id": None,
            "notified": level,  # no alert for a crossing already past, none ever without a clock
            "updated_at": now, "clock": int(timed),
            "rank": rank(severity, urgent) + (0 if timed else NO_CLOCK_RANK),
            "urgent": None if urgent is None else int(urgent), "sarcasm": None if sarcasm is None else int(sarcasm),
            "escalated_at": now if reason else None, "escalation_reason": reason,
        }

    def track(self, post: dict[str, Any], pack: Any, analysis: dict[str, Any] | None = None,
              by: str | None = None) -> tuple[dict, bool]:
        """Track a validated post: (QueueItem, created?). Idempotent: the same post again returns the same item.
        `by` is the agent who tracked it (kept in the history).

        A `legal_safety` post is escalated in the same write (`escalated: true` on the item returned), so a
        caller that tracks before writing the reply may say "I've escalated this" truthfully."""
        existing = self.store.get_by_post(post["platform"], post_key(post))
        if existing is not None:  # the common repeat (Suggest reply again): no analysis, no write
            return self.item_json(existing), False
        row = self.build_row(post, pack, analysis)

        def link(prev: Row | None) -> Row:
            if prev is not None and prev["replied_at"] is not None and row["started_at"] >= prev["replied_at"]:
                return {"kind": "next_response", "prev_id": prev["id"]}
            return {}

        stored, created = self.store.insert(row, link, by=by)
        if created:
            item = self.publish_upsert(stored)
            if item["escalated"]:
                self.publish({"type": "queue", "change": "escalated", "item": item,
                              "reason": item["escalation_reason"]})
            if self.scheduler and stored["clock"]:
                self.scheduler.schedule_row(stored)
            return item, True
        return self.item_json(stored), False

    # -- state changes -----------------------------------------------------------------------------------------
    def act(self, item_id: int, action: str, body: dict[str, Any], agent: str = "agent") -> dict[str, Any]:
        """replied | dismiss | snooze | escalate, atomically; returns the QueueItem after. Raises a DomainError
        on bad input. `agent` is who acts (replied_by): "agent" in single-agent mode."""
        now = self.clock()
        if action == "replied":
            decide = self._decide_replied(body, now, agent)
        elif action == "dismiss":
            def decide(row: Row) -> tuple[str, Row] | None:
                if row["replied_at"] is not None:
                    raise Conflict("already_replied", "This post is already marked replied.")
                if row["dismissed_at"] is not None:
                    return None
                return "dismissed", {"dismissed_at": now, "snoozed_until": None, "updated_at": now}
        elif action == "snooze":
            until = self._snooze_until(body, now)

            def decide(row: Row) -> tuple[str, Row] | None:
                if row["replied_at"] is not None or row["dismissed_at"] is not None:
                    raise Conflict("closed", "Only an open post can be snoozed; this one is "
                                                  f"{'replied' if row['replied_at'] is not None else 'dismissed'}.")
                if not row["clock"]:
                    raise Conflict("no_clock", "This post has no response clock (the pack does not engage "
                                                    "its intent): there is nothing to snooze.")
                return "snoozed", {"snoozed_until": until, "notified": 0, "updated_at": now}
        elif action == "escalate":
            return self.escalate(item_id, _reason(body.get("reason")), by=agent)
        else:
            raise NotFound("not_found", f"Unknown action '{action[:40]}'; use replied, dismiss, snooze or escalate.")
        if action in ("replied", "dismiss"):
            decide = _releasing(decide)  # a closed post needs no one on it any more
        result = self.store.change(item_id, decide, by=agent)
        if result is None:
            raise NotFound("not_found", f"No queue item with id {item_id}.")
        row, changed = result
        if not changed:
            return self.item_json(row)
        if action == "replied" and row.get("reply"):
            self.kept_reply(row)
        if self.scheduler and action == "snooze":
            self.scheduler.schedule_row(row)
        return self.publish_upsert(row)

    def _decide_replied(self, body: dict[str, Any], now: float, agent: str) -> Any:
        """The replied change: when (replied_at, default now) and what was sent (reply, optional).

        Replied is final; the text may still arrive later (the extension marks the post, then sees the reply
        go out), once: the first text kept is what was sent."""
        at = body.get("replied_at")
        replied_at = now
        if at is not None:
            parsed = sla.parse_instant(at) if isinstance(at, str) else None
            if parsed is None:
                raise Invalid("invalid_time", "'replied_at' must be an ISO-8601 time such as 2026-11-24T08:30:00Z.")
            if parsed.timestamp() > now + 300:
                raise Invalid("invalid_time", "'replied_at' is in the future.")
            replied_at = parsed.timestamp()
        reply = _reply_text(body.get("reply"))

        def decide(row: Row) -> tuple[str, Row] | None:
            if row["replied_at"] is not None:
                if reply is None or row["reply"] is not None:
                    return None
                return "reply_recorded", {"reply": reply, "replied_by": row["replied_by"] or agent, "updated_at": now}
            if replied_at < row["started_at"]:
                raise Invalid("invalid_time", "'replied_at' is before the customer's post.")
            return "replied", {"replied_at": replied_at, "snoozed_until": None, "reply": reply, "replied_by": agent,
                               "updated_at": now}
        return decide

    def escalate(self, item_id: int, reason: str = "escalated by the agent", by: str | None = None) -> dict[str, Any]:
        """Escalate a tracked post (supervisors are told: a `queue` event with change "escalated"); idempotent:
        an item escalated before keeps its first time and reason. Returns the QueueItem."""
        now, why = self.clock(), _reason(reason)

        def decide(row: Row) -> tuple[str, Row] | None:
            if row["escalated_at"] is not None:
                return None
            return "escalated", {"escalated_at": now, "escalation_reason": why, "updated_at": now}
        result = self.store.change(item_id, decide, by=by)
        if result is None:
            raise NotFound("not_found", f"No queue item with id {item_id}.")
        row, changed = result
        if not changed:
            return self.item_json(row)
        item = self.publish_upsert(row)
        self.publish({"type": "queue", "change": "escalated", "item": item, "reason": why})
        return item

    @staticmethod
    def _snooze_until(body: dict[str, Any], now: float) -> float:
        minutes, until = body.get("minutes"), body.get("until")
        if (minutes is None) == (until is None):
            raise Invalid("invalid_snooze", "Send either {\"minutes\": 1..1440} or {\"until\": ISO time}.")
        if minutes is not None:
            if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not 1 <= minutes <= 1440:
                raise Invalid("invalid_snooze", "'minutes' must be a number from 1 to 1440.")
            return now + float(minutes) * 60
        parsed = sla.parse_instant(until) if isinstance(until, str) else None
        if parsed is None:
            raise Invalid("invalid_snooze", "'until' must be an ISO-8601 time such as 2026-11-24T09:00:00Z.")
        if parsed.timestamp() <= now:
            raise Invalid("invalid_snooze", "'until' is in the past.")
        if parsed.timestamp() > now + MAX_SNOOZE.total_seconds():
            raise Invalid("invalid_snooze", "A snooze can last at most 7 days.")
        return parsed.timestamp()

    # -- reads -------------------------------------------------------------------------------------------------
    def get(self, item_id: int) -> dict[str, Any]:
        row = self.store.get(item_id)
        if row is None:
            raise NotFound("not_found", f"No queue item with id {item_id}.")
        return self.item_json(row)

    def listing(self, states: list[str] | None, platform: str | None, limit: int, offset: int,
                escalated: bool | None = None) -> dict[str, Any]:
        """One page of the queue, most urgent first (severity and urgency, then time left); `escalated` True or
        False keeps only escalated or only not escalated items (the console's dashboard), None all."""
        now = self.clock()
        rows, total, counts = self.store.list(now, states, platform, limit, offset, with_counts=True,
                                              columns=CLOCK_COLUMNS, escalated=escalated)
        return {"items": self.page(rows, now), "total": total, "limit": limit,
                "offset": offset, "counts": counts, "server_time": sla.iso(_dt(now))}

    def snapshot(self) -> dict[str, Any]:
        """The /ws on-connect event: the active queue, most urgent first."""
        now = self.clock()
        rows, total, counts = self.store.list(now, list(ACTIVE), None, SNAPSHOT_LIMIT, 0, with_counts=True,
                                              columns=CLOCK_COLUMNS)
        return {"type": "queue", "items": self.page(rows, now), "total": total,
                "truncated": total > len(rows), "counts": counts, "server_time": sla.iso(_dt(now))}

    def stats(self, since: float, until: float, platform: str | None, tz: str, groups: tuple[str, ...] = (),
              default_agent: str = "agent") -> dict[str, Any]:
        """First-response figures for clocks started in [since, until) (server/queue/stats.py says which and how;
        groups "agent"/"channel" add by_agent / by_channel_list)."""
        now = self.clock()
        return stats_document(self.store.started_between(since, until, platform), now, since, until, platform, tz,
                              self.store.overdue_now(now, platform), groups, default_agent)
