"""The queue's scheduler: publishes due_soon / overdue crossings and snooze ends as they happen."""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import weakref

from server.queue.service import QueueService
from server.queue.store import Row
from server.store.database import StoreUnavailable

log = logging.getLogger(__name__)
RESCAN_SECONDS = 5.0
RETRY_SECONDS = 2.0  # while the database is down, an owed check is tried again this often


class Scheduler:
    """Publishes due_soon / overdue (and snooze ends) the moment they happen, from the server's clock.

    A heap of (instant, item) holds each open item's next transition, so a tick costs O(log n) per due entry
    instead of a scan of every item; stale entries are harmless because each is re-checked against the database
    and the persisted notification level. The thread holds the scheduler only weakly, so an app dropped without
    `stop()` (test clients) lets its thread end.

    Several processes on one PostgreSQL database each run a scheduler. The store's conditional update
    (`set_notified(..., expect_below=level)`) lets exactly one of them win each crossing, and only the winner
    publishes (its event reaches the other processes' clients through the event bridge). Each scheduler also
    has to know the items the other processes track: it is told of them as their events arrive (`watch`) and,
    as a safety net for events missed while the database restarted, re-reads the open items every `rescan`
    seconds (on PostgreSQL only: a SQLite desk is one process).
    """

    def __init__(self, service: QueueService, interval: float = 1.0, rescan: float | None = None,
                 catch_up_grace: float | None = None) -> None:
        self.service = service
        self.interval = max(0.01, float(interval))
        if rescan is None and getattr(getattr(service.store, "db", None), "dialect", "sqlite") == "postgresql":
            rescan = RESCAN_SECONDS
        self.rescan = rescan
        # On a team database another process may be up and about to announce a crossing that just happened: a
        # process starting now leaves the last few seconds' crossings to be announced (by whichever scheduler
        # wins them) instead of recording them as missed. A single SQLite desk has no one else to announce them.
        self.catch_up_grace = (2 * rescan if rescan is not None else 0.0) if catch_up_grace is None \
            else max(0.0, float(catch_up_grace))
        self._last_scan = time.monotonic()
        self._heap: list[tuple[float, int, int]] = []
        self._pending: set[tuple[float, int]] = set()  # (instant, item) in the heap: a re-scan adds no twins
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._down = False  # the database was unreachable at the last check (logged once per outage)
        self.thread: threading.Thread | None = None

    def load(self) -> None:
        """Start-up: schedule every open item. Crossings that happened while the server was down are recorded
        without an event (no client was connected to hear it; the snapshot on connect shows the state), so a
        restart never floods clients with stale alerts, nor repeats those already sent. Crossings younger than
        `catch_up_grace` are scheduled instead: another process may not have announced them yet."""
        now = self.service.clock()
        then = now - self.catch_up_grace
        owed: list[tuple[int, int]] = []
        for row in self.service.store.open_items():
            if not (row["snoozed_until"] and row["snoozed_until"] > now):
                level = 2 if row["deadline"] <= then else 1 if row["due_soon_at"] <= then else 0
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
            if (at, item_id) in self._pending:
                return
            self._pending.add((at, item_id))
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (at, next(self._seq), item_id))
            if notify and (earliest is None or at < earliest):
                self._cond.notify_all()

    def schedule_row(self, row: Row, now: float | None = None, notify: bool = True) -> None:
        """Queue the next moment this open item needs attention (now, if a notification is owed)."""
        if not row.get("clock", 1):  # a post the pack does not engage never becomes due soon or overdue
            return
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

    def watch(self, item_id: int) -> None:
        """An item another process tracked or changed: look at it now, which schedules its next crossing."""
        self.push(self.service.clock(), item_id)

    def scan(self) -> None:
        """Schedule every open item again (the items other processes track); entries already due are kept."""
        self._last_scan = time.monotonic()
        now = self.service.clock()
        for row in self.service.store.open_items():
            self.schedule_row(row, now, notify=False)

    def scan_due(self) -> bool:
        return self.rescan is not None and time.monotonic() - self._last_scan >= self.rescan

    def next_due(self) -> float | None:
        with self._cond:
            return self._heap[0][0] if self._heap else None

    def tick(self, now: float | None = None) -> int:
        """Handle every entry due by `now`; returns how many items were looked at."""
        now = self.service.clock() if now is None else now
        due: list[int] = []
        with self._cond:
            while self._heap and self._heap[0][0] <= now:
                at, _seq, item_id = heapq.heappop(self._heap)
                self._pending.discard((at, item_id))
                due.append(item_id)
        unreachable = False
        for item_id in dict.fromkeys(due):
            try:
                self._check(item_id, now)
            except StoreUnavailable:  # the database is down: look again soon, the crossing is still owed
                unreachable = True
                self.push(now + RETRY_SECONDS, item_id, notify=False)
            except Exception:  # one bad row must not stop the clock for the others
                log.exception("scheduler: item %s", item_id)
        self.outage(unreachable) if due else None
        return len(due)

    def outage(self, unreachable: bool) -> None:
        """Say once that the database went away and once that it is back, not a traceback every second."""
        if unreachable and not self._down:
            log.warning("queue scheduler: the database cannot be reached; due-soon and overdue checks are retried "
                        "every %.0f s until it is back", RETRY_SECONDS)
        elif not unreachable and self._down:
            log.warning("queue scheduler: the database is reachable again")
        self._down = unreachable

    def _check(self, item_id: int, now: float) -> None:
        svc = self.service
        row = svc.store.get(item_id)
        if row is None or row["replied_at"] is not None or row["dismissed_at"] is not None or not row["clock"]:
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
                if sched.scan_due():
                    sched.scan()
                sched.tick()
        except StoreUnavailable:  # a re-scan while the database is down: the next one catches up
            sched.outage(True)
            time.sleep(sched.interval)
        except Exception:
            log.exception("queue scheduler tick failed")
            time.sleep(sched.interval)
        del sched


