"""Storage of the response-time queue: the only SQL of the queue lives here, behind `QueueStore`.

The same SQL runs on the embedded SQLite file and on a team's PostgreSQL (`server.store.Database` holds what
differs: write locks, index hints, row locks); routes and clock logic never see which one it is.

Durability and concurrency choices on SQLite (each for a stated failure; PostgreSQL gives the same guarantees
with its own MVCC, row locks and fsync at commit):
- WAL journal: readers (the tray's GET) never block the writer (the extension's track) and a crash mid-write
  leaves the last committed state intact.
- synchronous=FULL: every commit is fsynced before the API answers 200/201. In WAL mode NORMAL would already
  survive `kill -9` of the server (committed pages sit in the OS cache), but not a power cut or an OS crash;
  FULL costs one fsync per track/reply, which is nothing at human click rates, and makes "acknowledged means
  stored" true for every kind of crash.
- busy_timeout and `BEGIN IMMEDIATE` for every write: concurrent requests queue for the write lock instead of
  failing with "database is locked", and a read-then-write (idempotent track, state change) cannot interleave.
- UNIQUE(platform, post_id) with INSERT ... ON CONFLICT DO NOTHING: two processes or threads tracking the same
  post at once still end with one row.
- Connections come from a small pool (SQLite connections are cheap but not free, and the threaded server starts
  a thread per request).
- `schema_version` plus an ordered list of migrations, applied in one transaction at open; a database written by
  a newer version is refused rather than misread.

Instants are stored as REAL epoch seconds (UTC): ordering and comparisons in SQL are then exact and cheap.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from server.core.vocab import ACTIVE_STATES, STATES
from server.queue.migrations import LATEST, MIGRATIONS, NO_CLOCK_RANK, OPEN, TIMED, migrate
from server.store.database import Database, StoreError, StoreUnavailable

__all__ = ["LATEST", "MIGRATIONS", "NO_CLOCK_RANK", "QueueStore", "StoreError", "StoreUnavailable", "migrate"]

# The state of a row at :now, in SQL; `sla.state_at` is the same rule in Python (tests keep them in step), and an
# item without a clock (a post the pack does not engage) is "no_reply" until it is replied or dismissed.
STATE_SQL = """CASE
    WHEN replied_at IS NOT NULL THEN 'replied'
    WHEN dismissed_at IS NOT NULL THEN 'dismissed'
    WHEN clock = 0 THEN 'no_reply'
    WHEN snoozed_until > :now THEN 'snoozed'
    WHEN deadline <= :now THEN 'overdue'
    WHEN due_soon_at <= :now THEN 'due_soon'
    ELSE 'waiting' END"""
OPEN_SQL = OPEN  # not replied, not dismissed
TIMED_SQL = TIMED  # open and on a clock: exactly the active states
ACTIVE = ACTIVE_STATES
COLUMNS = ("platform", "post_id", "url", "author_handle", "author_name", "text", "lang", "intent", "severity",
           "pack", "pack_version", "created_at", "first_seen", "started_at", "target_minutes", "due_soon_fraction",
           "hours_json", "due_soon_at", "deadline", "kind", "thread_key", "prev_id", "replied_at", "dismissed_at",
           "snoozed_until", "notified", "updated_at", "clock", "rank", "urgent", "sarcasm", "escalated_at",
           "escalation_reason", "reply", "replied_by", "claimed_by", "claimed_at", "claim_active_at")
ORDER_SQL = "ORDER BY rank DESC, deadline, id"  # the queue's priority: severity and urgency, then time left


Row = dict[str, Any]


def _rows(conn: Connection, sql: str, params: Any = None) -> list[Row]:
    return [dict(r) for r in conn.execute(text(sql), params or {}).mappings()]


def _one(conn: Connection, sql: str, params: Any = None) -> Row | None:
    found = conn.execute(text(sql), params or {}).mappings().fetchone()
    return dict(found) if found is not None else None


def _scalar(conn: Connection, sql: str, params: Any = None) -> int:
    return int(conn.execute(text(sql), params or {}).scalar_one())


class QueueStore:
    """Tracked posts and their state changes, in SQLite or PostgreSQL (see the module doc for why it is safe).

    `url` is a database URL (`postgresql://...`) or the path of the SQLite file."""

    def __init__(self, url: Path | str, pool_size: int = 8) -> None:
        self.db = Database(url, pool_size)
        self.path = self.db.path
        self._closed = False
        with self.db.write() as conn:
            self.found_version = migrate(conn, self.db.dialect)  # the schema version before this open

    def _conn(self) -> Any:
        if self._closed:
            raise StoreError("the queue store is closed")
        return self.db.read()

    def _write(self) -> Any:
        if self._closed:
            raise StoreError("the queue store is closed")
        return self.db.write()

    def close(self) -> None:
        """Checkpoint SQLite's WAL into the main file and close every connection."""
        if self._closed:
            return
        self._closed = True
        self.db.close()

    def schema_version(self) -> int:
        with self._conn() as conn:
            return _scalar(conn, "SELECT version FROM schema_version")

    # -- writes ------------------------------------------------------------------------------------------------
    @staticmethod
    def _log(conn: Connection, item_id: int, at: float, event: str, detail: Any = None, by: str | None = None) -> None:
        conn.execute(text("INSERT INTO history (item_id, at, event, detail, by_agent) VALUES (:i, :at, :e, :d, :by)"),
                     {"i": item_id, "at": at, "e": event, "d": None if detail is None else json.dumps(detail),
                      "by": by})

    def _insert_row(self, conn: Connection, row: Row) -> int | None:
        """INSERT one item; its id, or None when the post is tracked already (by anyone, in any process)."""
        cols = [c for c in COLUMNS if c in row]
        return conn.execute(text(
            f"INSERT INTO items ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)}) "
            "ON CONFLICT (platform, post_id) DO NOTHING RETURNING id"), {c: row[c] for c in cols}).scalar()

    def insert(self, row: Row, link: Callable[[Row | None], Row] | None = None,
               by: str | None = None) -> tuple[Row, bool]:
        """Track a post: (stored row, created?). Idempotent per (platform, post_id), even across processes.

        `link(previous)` runs inside the write transaction with the latest earlier item of the same thread
        (or None) and returns fields to add (kind, prev_id): the queue's next-response rule, race-free.
        """
        key = {"p": row["platform"], "post": row["post_id"]}
        with self._write() as conn:
            found = _one(conn, "SELECT * FROM items WHERE platform = :p AND post_id = :post", key)
            if found is not None:
                return found, False
            row = dict(row)
            if link is not None:
                prev = None
                if row.get("thread_key"):
                    prev = _one(conn, "SELECT * FROM items WHERE thread_key = :t ORDER BY started_at DESC, id DESC "
                                "LIMIT 1", {"t": row["thread_key"]})
                row.update(link(prev))
            item_id = self._insert_row(conn, row)
            if item_id is None:  # another writer won between our SELECT and INSERT (another process)
                found = _one(conn, "SELECT * FROM items WHERE platform = :p AND post_id = :post", key)
                assert found is not None
                return found, False
            self._log(conn, item_id, row["updated_at"], "tracked", {"kind": row.get("kind", "first")}, by)
            if row.get("escalated_at") is not None:
                self._log(conn, item_id, row["escalated_at"], "escalated", {"reason": row.get("escalation_reason")})
            created = _one(conn, "SELECT * FROM items WHERE id = :id", {"id": item_id})
            assert created is not None
            return created, True

    def insert_many(self, rows: Sequence[Row]) -> int:
        """Bulk import in one transaction (benchmarks, imports); existing posts are skipped. Returns rows added."""
        added = 0
        with self._write() as conn:
            for row in rows:
                item_id = self._insert_row(conn, row)
                if item_id is not None:
                    added += 1
                    self._log(conn, item_id, row["updated_at"], "tracked")
        return added

    def change(self, item_id: int, decide: Callable[[Row], tuple[str, Row] | None],
               by: str | None = None) -> tuple[Row, bool] | None:
        """Apply a state change atomically: (row after, changed?), or None for an unknown id.

        `decide(current)` returns (event name, fields to set), None for "nothing to do" (an idempotent repeat),
        or raises to refuse; it runs inside the write transaction with the row locked, so two agents (in any
        processes) cannot both win a conflict. `by` is the agent who made the change (kept in the history).
        """
        with self._write() as conn:
            found = _one(conn, f"SELECT * FROM items WHERE id = :id{self.db.for_update}", {"id": item_id})
            if found is None:
                return None
            verdict = decide(found)
            if verdict is None:
                return found, False
            event, fields = verdict
            if "updated_at" in fields and fields["updated_at"] <= found["updated_at"]:
                # Every change makes a new version of the row (the service caches QueueItems per version), also
                # when two changes share one clock reading.
                fields = {**fields, "updated_at": found["updated_at"] + 1e-6}
            sets = ", ".join(f"{k} = :f_{k}" for k in fields)
            conn.execute(text(f"UPDATE items SET {sets} WHERE id = :id"),
                         {**{f"f_{k}": v for k, v in fields.items()}, "id": item_id})
            self._log(conn, item_id, fields.get("updated_at", time.time()), event,
                      {k: v for k, v in fields.items() if k != "updated_at"}, by)
            after = _one(conn, "SELECT * FROM items WHERE id = :id", {"id": item_id})
            return after, True

    def set_notified(self, item_id: int, level: int, expect_below: int | None = None) -> bool:
        """Record the notification level reached; with expect_below, only if still lower (exactly-once, also
        across processes: the conditional UPDATE is the arbiter)."""
        with self._write() as conn:
            if expect_below is None:
                cur = conn.execute(text("UPDATE items SET notified = :l WHERE id = :id"), {"l": level, "id": item_id})
            else:
                cur = conn.execute(text("UPDATE items SET notified = :l WHERE id = :id AND notified < :b"),
                                   {"l": level, "id": item_id, "b": expect_below})
            return cur.rowcount == 1

    def catch_up(self, levels: Sequence[tuple[int, int]], now: float) -> None:
        """At start-up, in one transaction: record crossings that happened while the server was down as
        notified (nobody was connected to hear them) and clear snoozes that ended meanwhile."""
        with self._write() as conn:
            if levels:
                conn.execute(text("UPDATE items SET notified = :l WHERE id = :id AND notified < :l"),
                             [{"l": level, "id": item_id} for item_id, level in levels])
            conn.execute(text(f"UPDATE items SET snoozed_until = NULL WHERE {OPEN_SQL} AND snoozed_until <= :now"),
                         {"now": now})

    # -- reads -------------------------------------------------------------------------------------------------
    def get(self, item_id: int) -> Row | None:
        with self._conn() as conn:
            return _one(conn, "SELECT * FROM items WHERE id = :id", {"id": item_id})

    def get_many(self, ids: Sequence[int]) -> dict[int, Row]:
        """Full rows by id (missing ids are left out)."""
        out: dict[int, Row] = {}
        with self._conn() as conn:
            for i in range(0, len(ids), 500):  # well under SQLite's limit on bound parameters
                chunk = list(ids[i:i + 500])
                marks = ", ".join(f":i{n}" for n in range(len(chunk)))
                out.update({r["id"]: r for r in _rows(conn, f"SELECT * FROM items WHERE id IN ({marks})",
                                                      {f"i{n}": v for n, v in enumerate(chunk)})})
        return out

    def get_by_post(self, platform: str, post_id: str) -> Row | None:
        with self._conn() as conn:
            return _one(conn, "SELECT * FROM items WHERE platform = :p AND post_id = :post",
                        {"p": platform, "post": post_id})

    def _where(self, states: Sequence[str] | None, platform: str | None,
               escalated: bool | None = None) -> tuple[str, dict[str, Any]]:
        clauses: list[str] = []
        params: dict[str, Any] = {}
        if states is not None and set(states) == set(ACTIVE):
            clauses.append(TIMED_SQL)  # open with a clock is exactly the active states: the partial index alone
        elif states is not None:
            if set(states) <= set(ACTIVE):
                clauses.append(TIMED_SQL)  # lets SQLite use the partial index of timed open items
            names = [f":s{i}" for i in range(len(states))]
            clauses.append(f"({STATE_SQL}) IN ({', '.join(names)})")
            params.update({f"s{i}": s for i, s in enumerate(states)})
        if platform:
            clauses.append("platform = :platform")
            params["platform"] = platform
        if escalated is not None:
            clauses.append("escalated_at IS NOT NULL" if escalated else "escalated_at IS NULL")
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def list(self, now: float, states: Sequence[str] | None = None, platform: str | None = None,
             limit: int = 200, offset: int = 0, with_counts: bool = False,
             columns: Sequence[str] | None = None,
             escalated: bool | None = None) -> tuple[list[Row], int] | tuple[list[Row], int, dict[str, int]]:
        """Items in the given states at `now`, most urgent first (severity and urgency, then deadline, then id),
        one page, and how many match in all; with_counts adds the per-state counts (and takes the total from
        them: one scan instead of two). `columns` narrows the rows (id always included): reading every column
        of a page costs more than the page's clock arithmetic, and callers that cache the rest need only the
        clock. `escalated` keeps only escalated (True) or not escalated (False) items."""
        where, params = self._where(states, platform, escalated)
        params.update(now=now, limit=limit, offset=offset)
        # Active items walk the partial priority index in order and stop at the page's end: no sort of 10,000 rows.
        index = "items_timed_priority" if TIMED_SQL in where else "items_priority"
        if escalated:
            index = "items_escalated"  # few rows: found by their own index, then sorted
        with self._conn() as conn:
            wanted = "*" if columns is None else ", ".join(dict.fromkeys(("id", *columns)))
            rows = _rows(conn, f"SELECT {wanted} FROM items{self.db.hint(index)}{where} {ORDER_SQL} "
                         "LIMIT :limit OFFSET :offset", params)
            if with_counts:
                counts = self._counts(conn, now, platform)
                if escalated is None:
                    total = sum(counts.values()) if states is None else sum(counts[s] for s in states)
                    return rows, total, counts
                return rows, _scalar(conn, f"SELECT count(*) FROM items{where}", params), counts
            total = _scalar(conn, f"SELECT count(*) FROM items{where}", params)
        return rows, total

    def counts(self, now: float, platform: str | None = None) -> dict[str, int]:
        """How many items are in each state at `now` (the tray's badge numbers)."""
        with self._conn() as conn:
            return self._counts(conn, now, platform)

    def _counts(self, conn: Connection, now: float, platform: str | None) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        hint = self.db.hint
        if platform:
            got = conn.execute(text(f"SELECT {STATE_SQL} AS state, count(*) FROM items{hint('items_state')} "
                                    "WHERE platform = :platform GROUP BY state"), {"now": now, "platform": platform})
            out.update({r[0]: int(r[1]) for r in got})
            return out
        # Desk-wide (the badge every client asks for): ranges of the open items' deadline and due-soon indexes.
        # due_soon_at <= deadline for every item, so the due-soon range holds the overdue one; snoozed items
        # (few) are taken out of the state their clock is in. Equal to the CASE above (a test keeps them so).
        def one(sql: str) -> int:
            return _scalar(conn, sql, {"now": now})

        n_open = one(f"SELECT count(*) FROM items{hint('items_timed_deadline')} WHERE {TIMED_SQL}")
        late = one(f"SELECT count(*) FROM items{hint('items_timed_deadline')} WHERE {TIMED_SQL} AND deadline <= :now")
        soon = one(f"SELECT count(*) FROM items{hint('items_timed_due_soon')} "
                   f"WHERE {TIMED_SQL} AND due_soon_at <= :now")
        snoozed = conn.execute(text(f"SELECT deadline, due_soon_at FROM items{hint('items_timed_snoozed')} "
                                    f"WHERE {TIMED_SQL} AND snoozed_until > :now"), {"now": now}).fetchall()
        for deadline, due_soon_at in snoozed:
            if deadline <= now:
                late -= 1
            if due_soon_at <= now:
                soon -= 1
        out["snoozed"] = len(snoozed)
        out["overdue"] = late
        out["due_soon"] = soon - late
        out["waiting"] = n_open - len(snoozed) - soon
        out["no_reply"] = one(f"SELECT count(*) FROM items{hint('items_untimed')} WHERE {OPEN_SQL} AND clock = 0")
        out["replied"] = one("SELECT count(*) FROM items WHERE replied_at IS NOT NULL")
        out["dismissed"] = one("SELECT count(*) FROM items WHERE replied_at IS NULL AND dismissed_at IS NOT NULL")
        return out

    def open_items(self) -> list[Row]:
        """Every open item's scheduling fields (the scheduler's start-up load); items without a clock never
        cross anything, so they are not scheduled."""
        with self._conn() as conn:
            return _rows(conn, f"SELECT id, due_soon_at, deadline, snoozed_until, notified, clock FROM items "
                         f"WHERE {TIMED_SQL}")

    def started_between(self, since: float, until: float, platform: str | None = None) -> list[Row]:
        """Items whose clock started in [since, until) (the stats' population): posts without a clock (not
        engaged by the pack: abuse, spam, threats) are left out, they have no response time to count."""
        sql = ("SELECT id, platform, kind, started_at, deadline, replied_at, dismissed_at, hours_json, replied_by "
               "FROM items WHERE started_at >= :since AND started_at < :until AND clock = 1")
        args: dict[str, Any] = {"since": since, "until": until}
        if platform:
            sql += " AND platform = :platform"
            args["platform"] = platform
        with self._conn() as conn:
            return _rows(conn, sql + " ORDER BY started_at", args)

    def overdue_now(self, now: float, platform: str | None = None) -> int:
        sql = (f"SELECT count(*) FROM items WHERE {TIMED_SQL} AND deadline <= :now "
               "AND (snoozed_until IS NULL OR snoozed_until <= :now)")
        args: dict[str, Any] = {"now": now}
        if platform:
            sql += " AND platform = :platform"
            args["platform"] = platform
        with self._conn() as conn:
            return _scalar(conn, sql, args)

    def history(self, item_id: int) -> list[Row]:
        with self._conn() as conn:
            return _rows(conn, "SELECT at, event, detail, by_agent AS by FROM history WHERE item_id = :id ORDER BY id",
                         {"id": item_id})

    def sent(self, pack: str | None = None, limit: int = 1000) -> list[Row]:
        """Items with the text of the reply the team sent, newest reply first (the reply engine's memory)."""
        sql = ("SELECT id, platform, pack, lang, text, intent, reply, replied_at, author_handle AS handle, "
               f"author_name AS name FROM items{self.db.hint('items_sent')} WHERE reply IS NOT NULL")
        args: dict[str, Any] = {"limit": limit}
        if pack is not None:
            sql += " AND pack = :pack"
            args["pack"] = pack
        with self._conn() as conn:
            return _rows(conn, sql + " ORDER BY replied_at DESC, id DESC LIMIT :limit", args)

    def thread(self, thread_key: str, limit: int, exclude_id: int | None = None) -> list[Row]:
        """A customer's tracked posts (one thread key: platform and handle), newest first."""
        with self._conn() as conn:
            other = "" if exclude_id is None else " AND id <> :x"
            return _rows(conn, f"SELECT * FROM items WHERE thread_key = :t{other} "
                         "ORDER BY started_at DESC, id DESC LIMIT :limit",
                         {"t": thread_key, "x": exclude_id, "limit": limit})

    def all_rows(self, batch: int = 1000) -> Iterator[Row]:
        """Every item, oldest first, read in batches (the export): memory stays flat on a large desk."""
        last = 0
        while True:
            with self._conn() as conn:
                rows = _rows(conn, "SELECT * FROM items WHERE id > :last ORDER BY id LIMIT :n",
                             {"last": last, "n": batch})
            if not rows:
                return
            yield from rows
            last = rows[-1]["id"]
