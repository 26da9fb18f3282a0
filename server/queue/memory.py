"""The queue's memory for the reply engine: the replies the team sent and a customer's earlier posts.

Sent replies are the brand's data: stored with the queue (the `reply` column), exported with it, never sent
anywhere else. A mixin of QueueService, kept apart so that the service's file stays about the queue's rules.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from server.core import sla
from server.core.vocab import PLATFORMS
from server.queue.evaluation import _dt
from server.queue.store import QueueStore, Row

# The reply memory is rebuilt from the sent replies (~30 ms for 1,000); a team sends replies all the time, so a
# process re-reads them at most this often for other processes' replies (its own are drawn on at once)...
SENT_REFRESH_SECONDS = 2.0
# ... and, when no newer reply exists, at least this often (a reply text added to an older item shows then).
SENT_RECHECK_SECONDS = 10.0


class QueueMemory:
    """sent_replies, history and export over the service's store (QueueService provides the attributes)."""

    store: QueueStore
    clock: Callable[[], float]
    # The recent sent replies per pack as last read: (newest (id, replied_at), read at, rows, sent_version then).
    _recent: dict[str, tuple[tuple, float, list[dict[str, Any]], int]]
    _recent_lock: threading.Lock
    # The replies this process kept lately, numbered (sent_version is the newest number): recent_sent adds them
    # to its copy at once, so a desk always draws on what it just sent; other processes' join within
    # SENT_REFRESH_SECONDS.
    _kept: deque[tuple[int, dict[str, Any]]]
    sent_version: int

    def item_json(self, row: Row, now: float | None = None, batch: Any = None) -> dict[str, Any]:
        raise NotImplementedError  # QueueService's

    def sent_replies(self, pack: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Replies the team sent (the text kept by POST /api/queue/<id>/replied), newest first: each
        {"id", "platform", "pack", "lang", "text" (the customer's post), "intent", "reply", "replied_at",
        "handle", "name" (the customer's, so that a reply drawn on for another customer can be depersonalised)}."""
        return [_sent_row(r) for r in self.store.sent(pack, max(1, min(int(limit), 100_000)))]

    def kept_reply(self, row: Row) -> None:
        """This process has just kept a sent reply's text (`row`, the item after the change): the reply memory
        draws on it from the next suggestion, without a read."""
        with self._recent_lock:
            self.sent_version += 1
            self._kept.append((self.sent_version, _sent_row({**row, "handle": row.get("author_handle"),
                                                              "name": row.get("author_name")})))

    def recent_sent(self, pack: str, limit: int) -> list[dict[str, Any]]:
        """The pack's `limit` newest sent replies for the reply memory: the same list object (which the memory's
        cache recognises without a look) until it changes. Replies this process kept are added at once; the
        store is read again when a newer reply exists (asking for the newest costs ~0.1 ms, reading 1,000 ~30 ms)
        but never within SENT_REFRESH_SECONDS of the last read, and at least every SENT_RECHECK_SECONDS."""
        now = time.monotonic()
        with self._recent_lock:
            found, version, kept = self._recent.get(pack), self.sent_version, list(self._kept)
        if found is not None and now - found[1] < SENT_REFRESH_SECONDS:
            if found[3] == version:
                return found[2]
            new = [r for v, r in kept if v > found[3] and r.get("pack") == pack]
            if kept and kept[0][0] <= found[3] + 1:  # every reply kept since the read is still in `kept`
                ids = {r["id"] for r in new}
                rows = (new[::-1] + [r for r in found[2] if r["id"] not in ids])[:limit] if new else found[2]
                with self._recent_lock:
                    self._recent[pack] = (found[0], found[1], rows, version)
                return rows
        newest = self.sent_replies(pack=pack, limit=1)
        key = tuple((r.get("id"), r.get("replied_at")) for r in newest)
        if found is not None and found[0] == key and found[3] == version and now - found[1] < SENT_RECHECK_SECONDS:
            with self._recent_lock:
                self._recent[pack] = (key, now, found[2], version)
            return found[2]
        rows = self.sent_replies(pack=pack, limit=limit)
        with self._recent_lock:
            self._recent[pack] = (key, now, rows, version)
        return rows

    def history(self, platform: str, handle: str, limit: int = 5, exclude_id: int | None = None) -> list[dict]:
        """This customer's earlier tracked posts (same platform and handle), newest first, as QueueItems with
        the team's replies (`reply`, `replied_at`); `exclude_id` leaves out the post being answered."""
        handle = (handle or "").strip().lstrip("@").lower()
        if not handle or platform not in PLATFORMS:
            return []
        now = self.clock()
        rows = self.store.thread(f"{platform}:{handle}", max(1, min(int(limit), 100)), exclude_id)
        return [self.item_json(r, now) for r in rows]

    def export(self) -> Iterator[dict[str, Any]]:
        """Every tracked post as a QueueItem (sent replies included: they are the brand's data), oldest first."""
        now = self.clock()
        for row in self.store.all_rows():
            yield self.item_json(row, now)


def _sent_row(row: Row) -> dict[str, Any]:
    """A stored item as a sent reply (sent_replies' shape)."""
    return {k: row.get(k) for k in ("id", "platform", "pack", "lang", "text", "intent", "reply", "handle", "name")} \
        | {"replied_at": sla.iso(_dt(row["replied_at"]))}
