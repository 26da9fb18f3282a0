"""The queue's memory for the reply engine: the replies the team sent and a customer's earlier posts.

Sent replies are the brand's data: stored with the queue (the `reply` column), exported with it, never sent
anywhere else. A mixin of QueueService, kept apart so that the service's file stays about the queue's rules.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from server.core import sla
from server.core.vocab import PLATFORMS
from server.queue.evaluation import _dt
from server.queue.store import QueueStore, Row


class QueueMemory:
    """sent_replies, history and export over the service's store (QueueService provides the attributes)."""

    store: QueueStore
    clock: Callable[[], float]

    def item_json(self, row: Row, now: float | None = None, batch: Any = None) -> dict[str, Any]:
        raise NotImplementedError  # QueueService's

    def sent_replies(self, pack: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Replies the team sent (the text kept by POST /api/queue/<id>/replied), newest first: each
        {"id", "platform", "pack", "lang", "text" (the customer's post), "intent", "reply", "replied_at",
        "handle", "name" (the customer's, so that a reply drawn on for another customer can be depersonalised)}."""
        rows = self.store.sent(pack, max(1, min(int(limit), 100_000)))
        return [{**r, "replied_at": sla.iso(_dt(r["replied_at"]))} for r in rows]

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
