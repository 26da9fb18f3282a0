"""The /ws WebSocket: authenticate with the first message, then suggest requests in, events out.

Browsers cannot set headers on a WebSocket and URLs end up in logs, so the token comes as the first message.
Handlers for client message types register in `Services.ws_handlers` (type -> callable), and the
`Services.ws_connect_hooks` send the initial state (e.g. the queue snapshot).
"""
from __future__ import annotations

import hmac
import json
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app
from flask_sock import Sock
from simple_websocket import ConnectionClosed
from wsproto.utilities import RemoteProtocolError

from server.web.errors import ApiError, has_lone_surrogate

if TYPE_CHECKING:
    from server.services import Services

AUTH_TIMEOUT = 5.0
MAX_MESSAGE = 64 * 1024


class Session:
    """One connection: a thread-safe `send` and the app it belongs to."""

    def __init__(self, ws: Any, app: Flask) -> None:
        self.ws, self.app = ws, app
        self._lock = threading.Lock()
        self.closed = False

    def send(self, event: dict[str, Any]) -> None:
        if self.closed:
            return
        data = json.dumps(event, ensure_ascii=False, default=str)
        with self._lock:
            try:
                self.ws.send(data)
            except (ConnectionClosed, OSError):
                self.closed = True

    def error(self, code: str, message: str, req_id: Any = None) -> None:
        event = {"type": "error", "error": code, "message": message}
        if req_id is not None:
            event["id"] = req_id
        self.send(event)


Handler = Callable[[Session, dict[str, Any]], None]


def register(app: Flask, svc: Services) -> None:
    sock = Sock(app)
    app.config.setdefault("SOCK_SERVER_OPTIONS", {"max_message_size": MAX_MESSAGE, "ping_interval": 25})
    # A malformed upgrade (e.g. no Sec-WebSocket-Version) is the client's mistake: 400, not a 500.
    app.register_error_handler(RemoteProtocolError, lambda exc: ApiError(
        400, "bad_handshake", f"Not a valid WebSocket handshake: {exc}.").response())

    @sock.route("/ws")
    def ws_route(ws: Any) -> None:
        app_obj = current_app._get_current_object()  # type: ignore[attr-defined]
        session = Session(ws, app_obj)
        try:
            first = ws.receive(timeout=AUTH_TIMEOUT)
        except ConnectionClosed:
            return
        msg = _parse(first)
        token = app_obj.config["REPLYDESK_TOKEN"]
        given = msg.get("token") if msg and msg.get("type") == "auth" else None
        ok = isinstance(given, str) and (hmac.compare_digest(given.encode(), token.encode())
                                         or (svc.agents is not None and svc.agents.authenticate(given) is not None))
        if not ok:
            session.error("unauthorized", "The first message must be {\"type\": \"auth\", \"token\": ...} "
                                          "with the pairing token.")
            ws.close(reason=1008, message="unauthorized")
            return
        session.send({"type": "hello", "version": app_obj.config["REPLYDESK_VERSION"]})
        hub = svc.hub
        sub = hub.subscribe()
        pump = threading.Thread(target=_pump, args=(session, sub), daemon=True, name="ws-pump")
        for hook in svc.ws_connect_hooks:
            hook(session)
        pump.start()
        try:
            while not session.closed:
                try:
                    raw = ws.receive(timeout=1.0)
                except ConnectionClosed:
                    break
                if raw is None:
                    continue
                msg = _parse(raw)
                if msg is None or not isinstance(msg.get("type"), str):
                    session.error("invalid_message", "Each message must be a JSON object with a 'type'.")
                    continue
                handler = svc.ws_handlers.get(msg["type"])
                if handler is None:
                    session.error("unknown_type", f"Unknown message type '{str(msg['type'])[:40]}'.", msg.get("id"))
                    continue
                try:
                    with app_obj.app_context():
                        handler(session, msg)
                except Exception:  # a handler bug must not kill the connection
                    app_obj.logger.exception("ws handler %s failed", msg["type"])
                    session.error("internal", "The server could not handle that message.", msg.get("id"))
        finally:
            session.closed = True
            hub.unsubscribe(sub)
            sub.put_nowait(None) if not sub.full() else None


def _pump(session: Session, sub: queue.Queue) -> None:
    while not session.closed:
        try:
            event = sub.get(timeout=1.0)
        except queue.Empty:
            continue
        if event is None:
            return
        session.send(event)


def _parse(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        msg = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if has_lone_surrogate(raw, msg):
        return None
    return msg if isinstance(msg, dict) else None
