"""A small in-process publish/subscribe hub: the queue publishes changes, every /ws connection subscribes."""
from __future__ import annotations

import queue
import threading
from typing import Any


class EventHub:
    """Fan-out of JSON-able events to subscribers, each with its own bounded queue.

    A slow subscriber never blocks publishers: when its queue is full its oldest events are dropped and it is
    sent a fresh snapshot instead (flagged with `resync`).
    """

    def __init__(self, maxsize: int = 1000) -> None:
        self._subs: set[queue.Queue] = set()
        self._lock = threading.Lock()
        self.maxsize = maxsize

    def subscribe(self) -> queue.Queue:
        q: queue.Queue = queue.Queue(self.maxsize)
        with self._lock:
            self._subs.add(q)
        return q

    def unsubscribe(self, q: queue.Queue) -> None:
        with self._lock:
            self._subs.discard(q)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subs)

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._subs)
        for q in subs:
            try:
                q.put_nowait(event)
            except queue.Full:
                try:
                    while True:
                        q.get_nowait()
                except queue.Empty:
                    pass
                q.put_nowait({"type": "resync"})
