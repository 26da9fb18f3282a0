"""Suggest over the /ws WebSocket: the reply streams to the agent as the model writes it.

Client: {"type": "suggest", "id": "r1", "post": {...}, "pack"?: "...", "options"?: {...}}
Server: {"type": "delta", "id": "r1", "text": "<chunk>"} zero or more times, then
        {"type": "done", "id": "r1", ...the same answer as POST /api/suggest...}
        or {"type": "error", "id": "r1", "error": code, "message": text} for a bad request.

`done.reply` is always authoritative: when the LLM path falls back or repairs after text was streamed, no reset
event is sent and the client replaces the streamed text with done.reply (see server/llm.py). Each request runs in
its own worker thread so the socket keeps receiving; a new suggest with the id of one still running supersedes it
(the older one sends nothing more), and a connection may have a few requests in flight at most.
"""
from __future__ import annotations

import socket
import threading
from typing import Any

from flask import Flask

from server.core.errors import DomainError
from server.services import Services, services
from server.suggest import service as suggest_mod
from server.web.errors import ApiError
from server.web.sockets import Session

MAX_IN_FLIGHT = 4


class _Request:
    """One suggest in flight on one connection; `superseded` silences it."""

    def __init__(self, req_id: Any) -> None:
        self.id = req_id
        self.superseded = threading.Event()


def _inflight(session: Session) -> tuple[threading.Lock, dict[Any, _Request]]:
    state = getattr(session, "_suggest_state", None)
    if state is None:
        state = (threading.Lock(), {})
        session._suggest_state = state  # type: ignore[attr-defined]
    return state


def _key(req_id: Any) -> Any:
    return req_id if isinstance(req_id, str | int) and not isinstance(req_id, bool) else repr(req_id)


def _no_delay(session: Session) -> None:
    """Deltas are many small frames: without TCP_NODELAY, Nagle's algorithm holds each one back until the
    previous is acknowledged, which on loopback adds up to tens of milliseconds per reply."""
    if getattr(session, "_nodelay", False):
        return
    session._nodelay = True  # type: ignore[attr-defined]
    sock = getattr(session.ws, "sock", None)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[union-attr]
    except (AttributeError, OSError):  # not a TCP socket (e.g. a test double): nothing to tune
        pass


def handle_suggest(session: Session, msg: dict[str, Any]) -> None:
    """Validate now (errors answer at once), then generate in a worker thread."""
    app: Flask = session.app
    _no_delay(session)
    req_id = msg.get("id")
    svc = services(app)
    if req_id is None or not isinstance(req_id, str | int) or isinstance(req_id, bool) or len(str(req_id)) > 100:
        session.error("invalid_id", "A suggest message needs an 'id' (text or number, at most 100 characters) "
                                    "to match the events it gets back.", req_id if isinstance(req_id, str) else None)
        return
    try:
        post, pack, options = suggest_mod.parse_request(msg, svc.packs, svc.config.default_pack)
    except (ApiError, DomainError) as exc:
        session.error(exc.code, exc.message, req_id)
        return
    lock, running = _inflight(session)
    request = _Request(req_id)
    with lock:
        old = running.get(_key(req_id))
        if old is not None:
            old.superseded.set()
        elif len(running) >= MAX_IN_FLIGHT:
            session.error("busy", f"At most {MAX_IN_FLIGHT} suggest requests may run at once on one connection.",
                          req_id)
            return
        running[_key(req_id)] = request
    worker = threading.Thread(target=_run, args=(session, request, post, pack, options), daemon=True,
                              name=f"ws-suggest-{str(req_id)[:20]}")
    worker.start()


def _run(session: Session, request: _Request, post: dict[str, Any], pack: Any, options: dict[str, Any]) -> None:
    app: Flask = session.app
    svc = services(app)

    def on_delta(text: str) -> None:
        if text and not request.superseded.is_set() and not session.closed:
            session.send({"type": "delta", "id": request.id, "text": text})

    try:
        with session.context():  # as the socket's agent: tracking the post and renewing a claim record them
            answer = suggest_mod.suggest(post, pack, options, llm=svc.llm, on_delta=on_delta,
                                         queue=svc.queue)
            for hook in svc.after_suggest:
                hook(post, pack, answer)
        if not request.superseded.is_set():
            session.send({"type": "done", "id": request.id, **answer})
    except (ApiError, DomainError) as exc:
        session.error(exc.code, exc.message, request.id)
    except Exception:  # never leave the agent waiting: say so, and log the bug
        app.logger.exception("ws suggest failed")
        session.error("internal", "The server could not produce a suggestion; it has been logged.", request.id)
    finally:
        lock, running = _inflight(session)
        with lock:
            if running.get(_key(request.id)) is request:
                del running[_key(request.id)]


def init_app(svc: Services) -> None:
    svc.ws_handlers["suggest"] = handle_suggest
