"""A real WebSocket client for the API tier's live servers: it signs in with a token (the server's pairing token
when none is given) and keeps every event it has read, for tests that wait for one event and look at the rest."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from simple_websocket import Client, ConnectionClosed

from tests.support.live import LiveServer

Event = dict[str, Any]


class Ws:
    """A real WebSocket client that signs in with `token` and keeps every event it reads."""

    def __init__(self, srv: LiveServer, token: str | None = None, headers: dict[str, str] | None = None) -> None:
        self.ws = Client.connect(srv.ws_url, headers=headers)
        self.ws.send(json.dumps({"type": "auth", "token": token or srv.token}))
        self.seen: list[Event] = []

    def next(self, pred: Callable[[Event], bool], timeout: float = 20.0) -> Event:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            raw = self.ws.receive(timeout=max(0.05, deadline - time.monotonic()))
            if raw is None:
                continue
            event = json.loads(raw)
            self.seen.append(event)
            if pred(event):
                return event
        raise AssertionError(f"no matching event within {timeout} s; saw {[e.get('type') for e in self.seen]}")

    def closed(self, timeout: float = 10.0) -> ConnectionClosed:
        """Read until the server closes the socket; the close (code in .reason) is returned."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                raw = self.ws.receive(timeout=0.2)
            except ConnectionClosed as closed:
                return closed
            if raw is not None:
                self.seen.append(json.loads(raw))
        raise AssertionError(f"the socket is still open after {timeout} s")

    def send(self, msg: dict[str, Any]) -> None:
        self.ws.send(json.dumps(msg))

    def errors(self) -> list[str]:
        return [e["error"] for e in self.seen if e.get("type") == "error"]

    def act(self, item: int, action: str, **body: Any) -> Event:
        """A queue_action: its queue_action_done, or the error event about it."""
        self.ws.send(json.dumps({"type": "queue_action", "id": item, "action": action, **body}))
        return self.next(lambda e: e.get("id") == item and e["type"] in ("queue_action_done", "error"))

    def close(self) -> None:
        try:
            self.ws.close()
        except ConnectionClosed:
            pass
