"""Who may talk to the server: loopback Host names, extension origins, and the pairing token.

A web page in the agent's browser can reach 127.0.0.1 too; the Host check stops DNS rebinding and the Origin
check stops cross-site requests, so only the extension (and non-browser clients such as the tray) get through.
"""
from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request

from server.config import LOOPBACK_NAMES
from server.web.errors import ApiError

EXTENSION_SCHEMES = ("chrome-extension://", "moz-extension://", "safari-web-extension://")


def host_name(host_header: str) -> str:
    """The name part of a Host header, lower-cased, without the port ("[::1]:8765" -> "[::1]")."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def host_allowed(host_header: str, extra: tuple[str, ...] = ()) -> bool:
    name = host_name(host_header)
    return name in LOOPBACK_NAMES or name in {h.lower() for h in extra}


def is_extension_origin(origin: str) -> bool:
    return origin.startswith(EXTENSION_SCHEMES)


def same_origin(origin: str, host_header: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host_header.strip().lower()


def token_ok(header: str | None, token: str) -> bool:
    """Constant-time comparison of `Authorization: Bearer <token>`."""
    if not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), token.encode())


def caller(header: str | None) -> Any:
    """Who a bearer token belongs to: the desk's own agent for the pairing token (a supervisor), a team agent for
    an agent token, None for anything else."""
    from server.services import services
    from server.team.agents import Agent

    cfg = current_app.config["REPLYDESK"]
    if token_ok(header, current_app.config["REPLYDESK_TOKEN"]):
        return Agent(cfg.agent_name, "", supervisor=True)
    agents = services().agents
    if agents is None or not header or not header.startswith("Bearer "):
        return None
    return agents.authenticate(header[7:].strip())


def check_request() -> Response | None:
    """Runs before every request; raises ApiError to refuse."""
    cfg = current_app.config["REPLYDESK"]
    if not host_allowed(request.host or "", cfg.allowed_hosts):
        raise ApiError(403, "host_not_allowed",
                       f"Host '{host_name(request.host or '')}' is not allowed; use 127.0.0.1 or localhost.")
    origin = request.headers.get("Origin")
    path = request.path
    agent_path = path.startswith("/api/") or path == "/api" or path == "/ws"
    if origin and origin != "null":
        if agent_path and not is_extension_origin(origin):
            raise ApiError(403, "origin_not_allowed",
                           "Requests from web pages are refused; only the Reply Desk extension may call the API.")
        if not agent_path and not (is_extension_origin(origin) or same_origin(origin, request.host or "")):
            raise ApiError(403, "origin_not_allowed", "Cross-site requests are refused.")
    elif origin == "null" and agent_path:
        raise ApiError(403, "origin_not_allowed", "Requests from sandboxed pages are refused.")
    if request.method == "OPTIONS" and agent_path:
        return _preflight()
    # The spec is public; pairing requests come from an extension that has no token yet (server.pairing makes
    # them wait for approval, and its approve call checks the token itself).
    open_path = path == "/api/openapi.json" or path == "/api/pair" or path.startswith("/api/pair/")
    if path.startswith("/api/") and not open_path:
        g.agent = caller(request.headers.get("Authorization"))
        if g.agent is None:
            raise ApiError(401, "unauthorized",
                           "Missing or wrong token: send 'Authorization: Bearer <token>' "
                           "(print it with `python -m server token`, or an agent's with `add-agent`).")
    g.origin = origin
    return None


def _preflight() -> Response:
    resp = Response(status=204)
    return resp


def add_cors(resp: Response) -> Response:
    origin = request.headers.get("Origin")
    if origin and is_extension_origin(origin):
        resp.headers["Access-Control-Allow-Origin"] = origin
        resp.headers["Vary"] = "Origin"
        resp.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        resp.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE, OPTIONS"
        resp.headers["Access-Control-Max-Age"] = "600"
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "no-referrer")
    return resp


def register(app: Flask) -> None:
    app.before_request(check_request)
    app.after_request(add_cors)
