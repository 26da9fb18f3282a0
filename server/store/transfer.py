"""Moving a single agent's SQLite file into a team database (`python -m server migrate --from-sqlite FILE`).

Rows keep their ids, so history, thread links (prev_id) and "reply:<id>" sources stay valid; the team database's
id sequences then continue after the highest copied id. The copy is one transaction on the target: it lands
whole or not at all. The target must hold no posts yet (merging two desks' histories is not a move).
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from server.store.database import Database, StoreError

TABLES = ("items", "history", "agents")  # parents first: history and items.prev_id point at items
BATCH = 1000


def _columns(conn: Connection, table: str) -> list[str]:
    return [r[1] for r in conn.exec_driver_sql(f"PRAGMA table_info({table})")]


def _batches(conn: Connection, table: str, cols: list[str]) -> Iterator[list[dict[str, Any]]]:
    last = 0
    while True:
        rows = [dict(r) for r in conn.execute(
            text(f"SELECT {', '.join(cols)} FROM {table} WHERE id > :last ORDER BY id LIMIT {BATCH}"),
            {"last": last}).mappings()]
        if not rows:
            return
        yield rows
        last = rows[-1]["id"]


def copy_sqlite(source: Path, target: Database) -> dict[str, int]:
    """Copy every row of `source` (a Reply Desk SQLite file, already at the latest schema) into `target`."""
    if not Path(source).is_file():
        raise StoreError(f"there is no SQLite file at {source}")
    src = Database(Path(source))
    copied = dict.fromkeys(TABLES, 0)
    try:
        with src.read() as rconn, target.write() as wconn:
            held = int(wconn.execute(text("SELECT count(*) FROM items")).scalar_one())
            if held:
                raise StoreError(f"the team database already holds {held} posts; move a desk into an empty "
                                 "database only")
            for table in TABLES:
                cols = _columns(rconn, table)
                insert = text(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})")
                for rows in _batches(rconn, table, cols):
                    wconn.execute(insert, rows)
                    copied[table] += len(rows)
                if target.dialect == "postgresql":
                    wconn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                       f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"))
    finally:
        src.close()
    return copied
