"""One-click pairing: the extension asks for the token, the person at the machine approves, the token is handed over.

Pasting the token printed by `python -m server token` always works; this saves the copy and paste without giving
the token to whoever asks. Why each rule:
- Only a browser extension may ask (the Origin check in server.security refuses web pages; a request with no Origin
  is a local program, which can read the token file or keyring itself anyway, so it gets no shortcut: 403).
- Nothing is handed over until someone who already holds the token approves the request's code: `python -m
  server pair CODE` (it reads the token from the keyring like `token` does) or the supervisor console. The code is
  shown both in the extension and in the server's own output, so the person approving can see they match.
- A request lives two minutes, is approved at most once, and its token is delivered once; at most a few wait at a
  time. The poll id is a long random secret that only the asker gets (the code alone is short and only names
  the request to approve): it binds the answer to the asker, since Chromium sends no Origin on an extension's GET.
- State is in memory on the app: a restart cancels pending requests, which is the safe direction.
"""
from __future__ import annotations

import hmac
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request

from server.services import Services, services
from server.web.errors import ApiError, read_json
from server.web.security import is_extension_origin, token_ok

bp = Blueprint("pairing", __name__, url_prefix="/api/pair")

TTL_SECONDS = 120.0
MAX_PENDING = 5
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud or copied by eye


@dataclass
class Request:
    poll_id: str
    code: str
    origin: str
    client: str
    created: float
    state: str = "pending"  # pending | approved | delivered | denied


class Pairings:
    """The pending pairing requests of one app."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._by_poll: dict[str, Request] = {}
        self.clock = clock

    def _expire(self) -> None:
        now = self.clock()
        for key in [k for k, r in self._by_poll.items() if now - r.created > TTL_SECONDS]:
            del self._by_poll[key]

    def ask(self, origin: str, client: str) -> Request:
        with self._lock:
            self._expire()
            waiting = [r for r in self._by_poll.values() if r.state == "pending"]
            if len(waiting) >= MAX_PENDING:
                raise ApiError(429, "too_many_pairings", "Too many pairing requests are waiting; approve or let "
                                                         "them expire (2 minutes), then try again.")
            code = "-".join("".join(secrets.choice(CODE_ALPHABET) for _ in range(3)) for _ in range(2))
            req = Request(secrets.token_urlsafe(24), code, origin, client, self.clock())
            self._by_poll[req.poll_id] = req
            return req

    def approve(self, code: str, approve: bool = True) -> Request:
        wanted = code.strip().upper().replace(" ", "")
        with self._lock:
            self._expire()
            for req in self._by_poll.values():
                if req.state == "pending" and hmac.compare_digest(req.code, wanted):
                    req.state = "approved" if approve else "denied"
                    return req
        raise ApiError(404, "no_such_pairing", f"No pairing request with code '{code[:20]}' is waiting; it may have "
                                               "expired (2 minutes). Press 'Pair' in the extension again.")

    def poll(self, poll_id: str, origin: str | None) -> tuple[Request | None, bool]:
        """(request, deliver the token now?); the token goes out once, to the holder of the poll id (and to the
        origin that asked, when the poll carries one)."""
        with self._lock:
            self._expire()
            req = self._by_poll.get(poll_id)
            if req is None or (origin is not None and req.origin != origin):
                return None, False
            if req.state == "approved":
                req.state = "delivered"
                del self._by_poll[poll_id]
                return req, True
            if req.state == "denied":
                del self._by_poll[poll_id]
            return req, False

    def pending(self) -> list[Request]:
        with self._lock:
            self._expire()
            return [r for r in self._by_poll.values() if r.state == "pending"]


def pairings() -> Pairings:
    found = services().pairings
    assert found is not None, "pairing is wired in create_app"
    return found


def _extension_origin() -> str:
    origin = request.headers.get("Origin") or ""
    if not is_extension_origin(origin):
        raise ApiError(403, "origin_not_allowed", "Only the Reply Desk browser extension can ask to pair. Other "
                                                  "programs read the token with `python -m server token`.")
    return origin


@bp.post("")
def ask() -> Any:
    origin = _extension_origin()
    body = read_json() if request.get_data(cache=True) else {}
    client = body.get("client") if isinstance(body.get("client"), str) else ""
    client = "".join(ch for ch in client[:60] if ch.isprintable()) or "browser extension"
    req = pairings().ask(origin, client)
    print(f"reply-desk: pairing request from {client} ({origin}): code {req.code}. Approve it with "
          f"`python -m server pair {req.code}` if that is the code the extension shows.", file=sys.stderr,
          flush=True)
    return jsonify({"id": req.poll_id, "code": req.code, "expires_in": int(TTL_SECONDS),
                    "approve_with": f"python -m server pair {req.code}"}), 201


@bp.get("/<poll_id>")
def poll(poll_id: str) -> Any:
    # Chromium sends no Origin on an extension's GET (its host permission makes it a same-origin-like fetch), so
    # the poll id, a secret only the asker got, is what binds the answer to it; an Origin, when sent, must match.
    origin = request.headers.get("Origin")
    req, deliver = pairings().poll(poll_id[:100], origin)
    if req is None:
        raise ApiError(404, "no_such_pairing", "This pairing request is unknown or expired; press 'Pair' again.")
    out: dict[str, Any] = {"state": req.state}
    if deliver:
        out["token"] = current_app.config["REPLYDESK_TOKEN"]
    return jsonify(out)


@bp.post("/approve")
def approve() -> Any:
    if not token_ok(request.headers.get("Authorization"), current_app.config["REPLYDESK_TOKEN"]):
        raise ApiError(401, "unauthorized", "Approving a pairing needs the token: run `python -m server pair CODE` "
                                            "as the user who runs the server.")
    body = read_json()
    code = body.get("code")
    if not isinstance(code, str) or not code.strip():
        raise ApiError(400, "invalid_code", "Send {\"code\": \"ABC-DEF\"}, the code the extension shows.")
    req = pairings().approve(code, approve=body.get("approve", True) is not False)
    return jsonify({"code": req.code, "state": req.state, "client": req.client, "origin": req.origin})


def init_app(app: Flask, svc: Services) -> None:
    svc.pairings = Pairings()
    app.register_blueprint(bp)
