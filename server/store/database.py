"""A SQLAlchemy engine with the settings each backend needs, and read/write transactions over it.

Why SQLAlchemy Core and not the drivers directly: one dialect of SQL text (named parameters, RETURNING) runs on
both sqlite3 and psycopg 3, the connection pool reconnects after PostgreSQL restarts (pre-ping), and the
backends' transaction quirks are handled in one place:

- SQLite: WAL, synchronous=FULL, busy_timeout, and `BEGIN IMMEDIATE` for every write so a read-then-write cannot
  interleave; writers of one process queue on a lock of their own first (SQLite's busy handler polls with sleeps,
  which gave 3 s p99 writes under load). Reads run in a deferred transaction (a consistent snapshot).
- PostgreSQL: READ COMMITTED transactions; a read-then-write locks its row with `FOR UPDATE` (`db.for_update`),
  and unique constraints with `ON CONFLICT DO NOTHING` settle concurrent inserts, across processes.

A backend that cannot be reached raises `StoreUnavailable` (the API answers 503) instead of a driver error; the
pool drops dead connections, so the server recovers by itself when the database is back.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import QueuePool

from server.core.errors import Unavailable


class StoreError(RuntimeError):
    """The database cannot be used as it is (e.g. written by a newer version)."""


class StoreUnavailable(Unavailable):
    """The database cannot be reached right now; retry later (503).

    `uncertain`: the connection was lost while the change was being committed, so it may have been saved (the
    database can make a commit durable and go down before it says so): the message must not say "nothing was
    changed" then, or a client would be told a saved reply was not sent."""

    def __init__(self, detail: str = "", uncertain: bool = False) -> None:
        what = ("the connection was lost while this change was being saved, so it may or may not have been "
                "saved; check before trying again." if uncertain else
                "nothing was changed. Try again in a few seconds.")
        super().__init__("database_unavailable", "The Reply Desk database cannot be reached right now; " + what
                         + (f" ({detail})" if detail else ""))


def is_unreachable(exc: BaseException) -> bool:
    """True for the errors of a database that is down or restarting (not for a bad query)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None)
    if orig is None or not type(orig).__module__.startswith("psycopg"):
        return False  # SQLite's OperationalError is a bad statement or a full disk, not a server that is down
    import psycopg  # only on the PostgreSQL path: the embedded default never loads the driver

    return isinstance(orig, psycopg.OperationalError | psycopg.InterfaceError) or isinstance(exc, OperationalError)


def sqlite_url(path: Path | str) -> str:
    return f"sqlite:///{Path(path)}"


class Database:
    """One engine and its transactions. `url` is `sqlite:///file` or `postgresql://...` (psycopg 3)."""

    def __init__(self, url: str | Path, pool_size: int = 8) -> None:
        if isinstance(url, Path) or "://" not in str(url):
            url = sqlite_url(url)
        parsed = make_url(str(url))
        self.dialect = "postgresql" if parsed.get_backend_name() in ("postgresql", "postgres") else "sqlite"
        self._write_lock: threading.Lock | None = None
        if self.dialect == "sqlite":
            path = Path(parsed.database or "")
            path.parent.mkdir(parents=True, exist_ok=True)
            self.path: Path | None = path
            self.engine = self._sqlite_engine(path, pool_size)
            self._write_lock = threading.Lock()
        else:
            self.path = None
            self.engine = create_engine(parsed.set(drivername="postgresql+psycopg"), pool_size=pool_size,
                                        max_overflow=pool_size * 2, pool_pre_ping=True, pool_timeout=10,
                                        pool_recycle=1800,
                                        connect_args={"connect_timeout": 5, "application_name": "reply-desk"})
        self.url = str(url)

    @staticmethod
    def _sqlite_engine(path: Path, pool_size: int) -> Engine:
        engine = create_engine(f"sqlite:///{path}", poolclass=QueuePool, pool_size=pool_size, max_overflow=64,
                               connect_args={"timeout": 30.0, "check_same_thread": False, "isolation_level": None})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            for pragma in ("busy_timeout = 30000", "journal_mode = WAL", "synchronous = FULL",
                           "foreign_keys = ON"):
                cur.execute(f"PRAGMA {pragma}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")

        return engine

    # -- SQL that differs between the backends ------------------------------------------------------------------
    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def hint(self, index: str) -> str:
        """`INDEXED BY` on SQLite (its planner picks badly for the queue's partial indexes); nothing elsewhere."""
        return f" INDEXED BY {index}" if self.is_sqlite else ""

    @property
    def for_update(self) -> str:
        """Row lock of a read-then-write on PostgreSQL; SQLite's write transaction already holds the lock."""
        return "" if self.is_sqlite else " FOR UPDATE"

    # -- transactions -------------------------------------------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
                conn.rollback()
        except DBAPIError as exc:
            if is_unreachable(exc):
                raise StoreUnavailable() from exc
            raise

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction, committed when the block ends without an error (then it is durable)."""
        lock = self._write_lock if self._write_lock is not None else nullcontext()
        committing = False
        try:
            with lock, self.engine.connect() as conn:
                conn.info["write"] = True
                try:
                    with conn.begin():
                        yield conn
                        committing = True  # from here on a lost connection leaves the outcome unknown
                finally:
                    conn.info["write"] = False
        except DBAPIError as exc:
            if is_unreachable(exc):
                raise StoreUnavailable(uncertain=committing) from exc
            raise

    def describe(self) -> str:
        """Where the data lives, for people: the file, or the database URL without its password."""
        if self.path is not None:
            return str(self.path)
        return make_url(self.url).render_as_string(hide_password=True)

    def ping(self) -> bool:
        try:
            with self.read() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except StoreUnavailable:
            return False

    def close(self) -> None:
        if self.is_sqlite:
            try:
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            except DBAPIError:
                pass
        self.engine.dispose()
