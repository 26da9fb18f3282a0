"""The queue database's schema: an ordered list of migrations, applied in one transaction at open.

Forward-only: a released migration is never edited, a new version is appended; an existing SQLite file upgrades
in place (ALTER TABLE ... ADD COLUMN keeps every row), and a database written by a newer version is refused
rather than misread. Kept apart from store.py so that the store's file stays about queries.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

from server.store.database import StoreError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

OPEN = "replied_at IS NULL AND dismissed_at IS NULL"
TIMED = OPEN + " AND clock = 1"
# policy.rank in SQL for rows tracked before version 5 (no urgency known): severity rank (low 0 .. critical 3)
# times two; rows without a clock sort after every timed one.
RANK_SQL = ("CASE severity WHEN 'critical' THEN 6 WHEN 'high' THEN 4 WHEN 'low' THEN 0 ELSE 2 END "
            "+ CASE WHEN clock = 0 THEN -100 ELSE 0 END")
NO_CLOCK_RANK = -100  # added to the rank of an item without a clock (state=all, closed lists)


# Ordered migrations: (version, statements). Never edit a released one; append a new version instead.
MIGRATIONS: list[tuple[int, list[str]]] = [
    (1, [
        """CREATE TABLE items (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            platform TEXT NOT NULL,
            post_id TEXT NOT NULL,
            url TEXT,
            author_handle TEXT,
            author_name TEXT,
            text TEXT NOT NULL,
            lang TEXT,
            intent TEXT,
            severity TEXT,
            pack TEXT,
            pack_version TEXT,
            created_at REAL,
            first_seen REAL NOT NULL,
            started_at REAL NOT NULL,
            target_minutes REAL NOT NULL,
            due_soon_fraction REAL NOT NULL,
            hours_json TEXT,
            due_soon_at REAL NOT NULL,
            deadline REAL NOT NULL,
            kind TEXT NOT NULL DEFAULT 'first',
            thread_key TEXT,
            prev_id INTEGER REFERENCES items(id),
            replied_at REAL,
            dismissed_at REAL,
            snoozed_until REAL,
            notified INTEGER NOT NULL DEFAULT 0,
            updated_at REAL NOT NULL,
            UNIQUE (platform, post_id)
        )""",
        "CREATE INDEX items_open_deadline ON items(deadline) WHERE replied_at IS NULL AND dismissed_at IS NULL",
        "CREATE INDEX items_deadline ON items(deadline)",
        "CREATE INDEX items_thread ON items(thread_key, started_at)",
        "CREATE INDEX items_started ON items(started_at)",
    ]),
    (2, [
        """CREATE TABLE history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            item_id INTEGER NOT NULL REFERENCES items(id),
            at REAL NOT NULL,
            event TEXT NOT NULL,
            detail TEXT
        )""",
        "CREATE INDEX history_item ON history(item_id, id)",
    ]),
    (3, [
        # Covers the per-state counts (the tray's badge) so they scan a narrow index, not the posts' text.
        "CREATE INDEX items_state ON items(replied_at, dismissed_at, snoozed_until, deadline, due_soon_at, platform)",
    ]),
    (4, [
        # The desk-wide badge counts as index range counts (see QueueStore._counts), not a CASE over every row.
        "CREATE INDEX items_open_due_soon ON items(due_soon_at) WHERE replied_at IS NULL AND dismissed_at IS NULL",
        "CREATE INDEX items_open_snoozed ON items(snoozed_until) "
        "WHERE replied_at IS NULL AND dismissed_at IS NULL AND snoozed_until IS NOT NULL",
    ]),
    (5, [
        # Issues 13 and 14: triage drives the queue (a post the pack does not engage has no clock; priority is
        # severity and urgency, then time left), escalation, and the text of the reply the agent sent.
        "ALTER TABLE items ADD COLUMN clock INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE items ADD COLUMN rank INTEGER NOT NULL DEFAULT 2",
        "ALTER TABLE items ADD COLUMN urgent INTEGER",
        "ALTER TABLE items ADD COLUMN sarcasm INTEGER",
        "ALTER TABLE items ADD COLUMN escalated_at REAL",
        "ALTER TABLE items ADD COLUMN escalation_reason TEXT",
        "ALTER TABLE items ADD COLUMN reply TEXT",
        "ALTER TABLE items ADD COLUMN replied_by TEXT",
        # Rows tracked before: abuse and spam were never engaged by default (the playbook's rule), so they
        # leave the clock too; the rest get the rank of their severity (no urgency was known).
        "UPDATE items SET clock = 0 WHERE intent IN ('abuse', 'spam')",
        f"UPDATE items SET rank = {RANK_SQL}",
        # The open-item indexes now cover the items with a clock only; the listing walks the priority order.
        "DROP INDEX items_open_deadline",
        "DROP INDEX items_open_due_soon",
        "DROP INDEX items_open_snoozed",
        "DROP INDEX items_deadline",
        f"CREATE INDEX items_timed_priority ON items(rank DESC, deadline, id) WHERE {TIMED}",
        f"CREATE INDEX items_timed_deadline ON items(deadline) WHERE {TIMED}",
        f"CREATE INDEX items_timed_due_soon ON items(due_soon_at) WHERE {TIMED}",
        f"CREATE INDEX items_timed_snoozed ON items(snoozed_until) WHERE {TIMED} AND snoozed_until IS NOT NULL",
        f"CREATE INDEX items_untimed ON items(id) WHERE {OPEN} AND clock = 0",
        "CREATE INDEX items_priority ON items(rank DESC, deadline, id)",
        "CREATE INDEX items_escalated ON items(escalated_at) WHERE escalated_at IS NOT NULL",
        "CREATE INDEX items_sent ON items(replied_at) WHERE reply IS NOT NULL",
    ]),
    (6, [
        # Issue 16, team mode: who holds a claim on a post and when they last worked on it; who made each change;
        # the agents (each with a token of their own, stored as a hash).
        "ALTER TABLE items ADD COLUMN claimed_by TEXT",
        "ALTER TABLE items ADD COLUMN claimed_at REAL",
        "ALTER TABLE items ADD COLUMN claim_active_at REAL",
        "ALTER TABLE history ADD COLUMN by_agent TEXT",
        """CREATE TABLE agents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            initials TEXT,
            token_hash TEXT NOT NULL UNIQUE,
            supervisor INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            revoked_at REAL
        )""",
        "CREATE INDEX items_replied_by ON items(replied_by) WHERE replied_by IS NOT NULL",
    ]),
    (7, [
        # Issue 16: a team server keeps the packs' version history in the database (server/packs/history_db.py),
        # so every process and every host sees one history; a single agent keeps it in files as before.
        """CREATE TABLE pack_versions (
            id TEXT PRIMARY KEY,
            pack TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX pack_versions_pack ON pack_versions(pack, id)",
        # ... and the agents' triage corrections (server/triage/corrections_db.py), which every process reads.
        """CREATE TABLE triage_corrections (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            pack TEXT NOT NULL,
            text TEXT NOT NULL,
            intent TEXT NOT NULL,
            post_id TEXT,
            at REAL NOT NULL,
            by_agent TEXT,
            UNIQUE (pack, text)
        )""",
        # ... and the console's supervisors (server/admin/auth.py), so a sign-in works on every process and host.
        """CREATE TABLE supervisors (
            name TEXT PRIMARY KEY,
            hash TEXT NOT NULL,
            created TEXT NOT NULL,
            updated TEXT NOT NULL
        )""",
    ]),
]
LATEST = MIGRATIONS[-1][0]


def _pg(sql: str) -> str:
    """A SQLite statement of the baseline in PostgreSQL's words (64-bit floats for instants, identity keys)."""
    return (sql.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
            .replace(" REAL", " DOUBLE PRECISION").replace("REFERENCES items(id)", "REFERENCES items(id)"))


def _pg_baseline() -> list[str]:
    """PostgreSQL starts at the latest schema in one step: every table and index of the SQLite history, with
    the columns that later versions added folded into the CREATE TABLEs (nothing to upgrade in a new database)."""
    out: list[str] = []
    added: dict[str, list[str]] = {}
    for _version, statements in MIGRATIONS:
        for sql in statements:
            words = sql.split()
            if words[:2] == ["ALTER", "TABLE"] and words[3:5] == ["ADD", "COLUMN"]:
                added.setdefault(words[2], []).append(" ".join(words[5:]))
            elif words[:2] == ["DROP", "INDEX"]:
                out = [s for s in out if not s.startswith(f"CREATE INDEX {words[2]} ")]
            elif words[0] != "UPDATE":  # data fixes of old rows: a new database has none
                out.append(sql)
    for i, sql in enumerate(out):
        if sql.startswith("CREATE TABLE"):
            name = sql.split()[2]
            if added.get(name):
                body = sql.rstrip().rstrip(")").rstrip()
                cols = [c for c in added[name] if not c.startswith("UNIQUE")]
                out[i] = body + ",\n            " + ",\n            ".join(cols) + "\n        )"
    # UNIQUE (platform, post_id) must stay the last element of items; move it after the added columns.
    for i, sql in enumerate(out):
        if sql.startswith("CREATE TABLE items"):
            out[i] = sql.replace(",\n            UNIQUE (platform, post_id)", "").rstrip().rstrip(")").rstrip() \
                + ",\n            UNIQUE (platform, post_id)\n        )"
    return [_pg(s) for s in out]


def migrate(conn: Connection, dialect: str = "sqlite", upto: int = LATEST) -> int:
    """Bring the schema to version `upto` inside the caller's write transaction; returns the version found.

    A database written by a newer version is refused rather than misread. PostgreSQL takes a transaction-level
    advisory lock first, so several server processes starting at once migrate once."""
    if dialect == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7316001)"))
    conn.execute(text("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"))
    row = conn.execute(text("SELECT version FROM schema_version")).fetchone()
    found = int(row[0]) if row else 0
    if row is None:
        conn.execute(text("INSERT INTO schema_version (version) VALUES (0)"))
    if found > LATEST:
        raise StoreError(f"the queue database has schema version {found}, newer than this Reply Desk "
                         f"understands ({LATEST}); upgrade Reply Desk or use another data folder")
    if dialect == "postgresql" and found == 0:
        for sql in _pg_baseline():
            conn.execute(text(sql))
        conn.execute(text("UPDATE schema_version SET version = :v"), {"v": LATEST})
        return found
    for version, statements in MIGRATIONS:
        if found < version <= upto:
            for sql in statements:
                conn.execute(text(_pg(sql) if dialect == "postgresql" else sql))
            conn.execute(text("UPDATE schema_version SET version = :v"), {"v": version})
    return found
