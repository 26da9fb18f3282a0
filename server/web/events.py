"""A small publish/subscribe hub: the queue publishes changes, every /ws connection subscribes.

One process on its own (the embedded SQLite desk) fans events out in-process. A team server runs several
processes on one PostgreSQL database: there a `bridge` (server/web/notify.py) also carries every event to the
other processes, which hand it to their own subscribers with `deliver`.
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Protocol


class Bridge(Protocol):
    """Carries this process's events to the other processes of a team server."""

    def send(self, event: dict[str, Any]) -> None: ...


class EventHub:
    """Fan-out of JSON-able events to subscribers, each with its own bounded queue.

    A slow subscriber never blocks publishers: when its queue is full its oldest events are dropped and it is
    sent a fresh snapshot instead (flagged with `resync`).
    """

    def __init__(self, maxsize: int = 1000) -> None:
        self._subs: set[queue.Queue] = set()
        self._lock = threading.Lock()
        self.maxsize = maxsize
        self.bridge: Bridge | None = None

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
        """An event of this process: its own subscribers get it at once, the other processes (if any) through
        the bridge. The bridge never hands an event back to the process that sent it, so nobody gets it twice."""
        self.deliver(event)
        bridge = self.bridge
        if bridge is not None:
            bridge.send(event)

    def deliver(self, event: dict[str, Any]) -> None:
        """Hand an event to this process's subscribers only (the bridge calls this for other processes' events)."""
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
