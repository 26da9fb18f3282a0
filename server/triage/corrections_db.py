"""Agents' triage corrections in the team database: the `CorrectionStore` interface for several processes.

A file per data folder would lose corrections with two processes (each rewrites the file from its own memory);
here each correction is one upsert on UNIQUE(pack, text) (a later correction of the same text replaces it), and
readers cache a pack's corrections for a moment, since analysis asks for them on every post.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import text

from server.store.database import Database
from server.triage.corrections import MAX_PER_PACK

CACHE_SECONDS = 2.0  # a correction made through another process shows in this one within this long


class DbCorrectionStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, dict[str, tuple[str, ...]]]] = {}

    def add(self, pack: str, text_: str, intent: str, post_id: str | None = None, by: str | None = None) -> int:
        """Store one correction; returns the pack's count (the newest MAX_PER_PACK are kept)."""
        params: dict[str, Any] = {"pack": pack, "text": text_, "intent": intent, "post": post_id,
                                  "at": time.time(), "by": by}
        with self.db.write() as conn:
            conn.execute(text("INSERT INTO triage_corrections (pack, text, intent, post_id, at, by_agent) "
                              "VALUES (:pack, :text, :intent, :post, :at, :by) ON CONFLICT (pack, text) DO UPDATE "
                              "SET intent = excluded.intent, post_id = excluded.post_id, at = excluded.at, "
                              "by_agent = excluded.by_agent"), params)
            conn.execute(text("DELETE FROM triage_corrections WHERE pack = :pack AND id NOT IN (SELECT id FROM "
                              "triage_corrections WHERE pack = :pack ORDER BY at DESC, id DESC LIMIT :n)"),
                         {"pack": pack, "n": MAX_PER_PACK})
            count = int(conn.execute(text("SELECT count(*) FROM triage_corrections WHERE pack = :pack"),
                                     {"pack": pack}).scalar_one())
        with self._lock:
            self._cache.pop(pack, None)
        return count

    def examples(self, pack: str) -> dict[str, tuple[str, ...]]:
        """The pack's corrections as {intent: texts}, oldest first (the shape of a pack's [analysis] examples)."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(pack)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        out: dict[str, tuple[str, ...]] = {}
        with self.db.read() as conn:
            for row in conn.execute(text("SELECT intent, text FROM triage_corrections WHERE pack = :pack "
                                         "ORDER BY at, id"), {"pack": pack}):
                out[row[0]] = out.get(row[0], ()) + (row[1],)
        with self._lock:
            self._cache[pack] = (now, out)
        return out
