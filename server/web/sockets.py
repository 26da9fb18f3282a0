"""The /ws WebSocket: authenticate with the first message, then suggest requests in, events out.

Browsers cannot set headers on a WebSocket and URLs end up in logs, so the token comes as the first message.
Handlers for client message types register in `Services.ws_handlers` (type -> callable), and the
`Services.ws_connect_hooks` send the initial state (e.g. the queue snapshot).

A socket acts as the agent whose token signed it in (`Session.agent`; the pairing token is the desk's own agent,
a supervisor), so its claims, replies and suggestions record that agent exactly as the same calls over HTTP do.
An agent's token is checked again before every message and about once a second while idle: once it has been
revoked (at once on this process, within the token cache's few seconds on the others) the socket gets an
"unauthorized" error and is closed. Wrong first-message tokens count against the per-address sign-in limit
that HTTP uses (server/web/ratelimit.py); a limited address gets "rate_limited" and its token is not checked.
"""
from __future__ import annotations

import hmac
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, g, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed
from wsproto.utilities import RemoteProtocolError

from server.team.agents import CACHE_SECONDS, Agent
from server.web import ratelimit, security
from server.web.errors import ApiError, has_lone_surrogate

if TYPE_CHECKING:
    from server.services import Services

AUTH_TIMEOUT = 5.0
MAX_MESSAGE = 64 * 1024
RECHECK_SECONDS = 1.0  # an idle agent socket re-checks its token this often (mostly a cache hit: no database read)
POLICY_VIOLATION = 1008
log = logging.getLogger(__name__)


class Session:
    """One connection: a thread-safe `send`, the app it belongs to and the agent it acts as.

    `agent` is set once the first message has authenticated (before any handler runs); `token` is kept only for
    a team agent's socket, to notice a revocation, and is None for the pairing token (which cannot be revoked)."""

    def __init__(self, ws: Any, app: Flask, environ: dict[str, Any] | None = None) -> None:
        self.ws, self.app = ws, app
        self._lock = threading.Lock()
        self.closed = False
        self.agent: Agent | None = None
        self.token: str | None = None
        self._environ = environ if environ is not None else {}
        self._next_check = 0.0

    @contextmanager
    def context(self) -> Iterator[None]:
        """The upgrade request's context with `g.agent` set to this socket's agent, for handlers and their worker
        threads: code that asks `current_agent()` (tracking a suggested post, renewing its claim) then finds the
        socket's agent the way it finds an HTTP caller's."""
        with self.app.request_context(self._environ) if self._environ else self.app.app_context():
            g.agent = self.agent
            yield

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
        session = Session(ws, app_obj, dict(request.environ))
        try:
            first = ws.receive(timeout=AUTH_TIMEOUT)
        except ConnectionClosed:
            return
        if not _sign_in(session, svc, _parse(first), request.remote_addr):
            return
        hello: dict[str, Any] = {"type": "hello", "version": app_obj.config["REPLYDESK_VERSION"]}
        if session.agent is not None:  # who this socket acts as: clients leave their own claims unmarked
            hello["agent"] = {"name": session.agent.name, "initials": session.agent.initials,
                              "supervisor": session.agent.supervisor}
        session.send(hello)
        hub = svc.hub
        sub = hub.subscribe()
        pump = threading.Thread(target=_pump, args=(session, sub), daemon=True, name="ws-pump")
        for hook in svc.ws_connect_hooks:
            hook(session)
        pump.start()
        try:
            while not session.closed:
                try:
                    raw = ws.receive(timeout=RECHECK_SECONDS)
                except ConnectionClosed:
                    break
                if not _still_signed_in(session, svc, idle=raw is None):
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
                    with session.context():
                        handler(session, msg)
                except Exception:  # a handler bug must not kill the connection
                    app_obj.logger.exception("ws handler %s failed", msg["type"])
                    session.error("internal", "The server could not handle that message.", msg.get("id"))
        finally:
            session.closed = True
            hub.unsubscribe(sub)
            sub.put_nowait(None) if not sub.full() else None


def _sign_in(session: Session, svc: Services, msg: dict[str, Any] | None, addr: str | None) -> bool:
    """Authenticate the first message and set `session.agent`; on refusal send the error, close, return False.

    As on HTTP: an address over the failed sign-in limit waits (its token is not even checked), and only a token
    that was tried and was wrong counts as a failure (no auth message at all guesses nothing)."""
    wait = security.client_limited(addr)
    if wait > 0:
        secs = ratelimit.retry_seconds(wait)
        session.send({"type": "error", "error": "rate_limited", "retry_after": secs,
                      "message": f"Too many failed sign-ins from this address; try again in {secs} s."})
        session.ws.close(reason=POLICY_VIOLATION, message="rate_limited")
        return False
    auth = msg if msg is not None and msg.get("type") == "auth" else None
    given = auth.get("token") if auth is not None else None
    pairing = session.app.config["REPLYDESK_TOKEN"]
    if isinstance(given, str) and given and hmac.compare_digest(given.encode(), pairing.encode()):
        cfg = session.app.config["REPLYDESK"]
        session.agent = Agent(cfg.agent_name, "", supervisor=True)
    elif isinstance(given, str) and given and svc.agents is not None:
        session.agent = svc.agents.authenticate(given)
        session.token = given if session.agent is not None else None
    if session.agent is None:
        if auth is not None and "token" in auth:
            security.count_failure(addr)
        session.error("unauthorized", "The first message must be {\"type\": \"auth\", \"token\": ...} "
                                      "with the pairing token or an agent's token.")
        session.ws.close(reason=POLICY_VIOLATION, message="unauthorized")
        return False
    session._next_check = time.monotonic() + RECHECK_SECONDS
    return True


def _still_signed_in(session: Session, svc: Services, idle: bool) -> bool:
    """False (after telling the client and closing) once the socket's agent token has been revoked. Checked before
    every message and, while idle, every RECHECK_SECONDS; the agents' cache keeps most checks off the database."""
    if session.token is None or svc.agents is None:
        return True  # the pairing token: valid for as long as the server runs
    now = time.monotonic()
    if idle and now < session._next_check:
        return True
    try:
        agent = svc.agents.authenticate(session.token)
    except Exception:  # the database is away: writes fail on their own; look again once the cache would have
        log.warning("could not re-check a /ws agent token", exc_info=True)
        session._next_check = now + CACHE_SECONDS
        return True
    session._next_check = now + RECHECK_SECONDS
    if agent is not None:
        session.agent = agent
        return True
    session.error("unauthorized", "This agent's token has been revoked; ask a supervisor for a new one "
                                  "(`python -m server add-agent`).")
    session.ws.close(reason=POLICY_VIOLATION, message="revoked")
    session.closed = True
    return False


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
