"""Who may talk to the server: Host names, TLS off loopback, extension origins, tokens and their rate limit.

A web page in the agent's browser can reach 127.0.0.1 too; the Host check stops DNS rebinding and the Origin
check stops cross-site requests, so only the extension (and non-browser clients such as the tray) get through.
A team server is reached over the network as well: only the names in `allowed_hosts` (besides loopback) are
served, a request from another machine must have come over TLS (directly, or through `trusted_proxies` reverse
proxies that say so in X-Forwarded-Proto) unless `insecure_http` is set on purpose, and wrong tokens from one
address are rate-limited (server/web/ratelimit.py).
"""
from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from server.config import LOOPBACK_NAMES, Config
from server.web import ratelimit
from server.web.errors import ApiError

EXTENSION_SCHEMES = ("chrome-extension://", "moz-extension://", "safari-web-extension://")


def host_name(host_header: str) -> str:
    """The name part of a Host header, lower-cased, without the port ("[::1]:8765" -> "[::1]")."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def host_allowed(host_header: str, extra: tuple[str, ...] = ()) -> bool:
    """Loopback names always; `extra` (cfg.allowed_hosts, written with or without a port) as well."""
    name = host_name(host_header)
    return name in LOOPBACK_NAMES or name in {host_name(h) for h in extra if h.strip()}


def is_loopback_address(addr: str | None) -> bool:
    """127.0.0.0/8, ::1 (and IPv4-mapped loopback); anything unparsable is not loopback."""
    if not addr:
        return False
    try:
        ip = ipaddress.ip_address(addr.strip("[]").split("%", 1)[0])
    except ValueError:
        return addr.lower() == "localhost"
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def check_listen(cfg: Config) -> str | None:
    """Why the server must not start with these settings (None: it may). Binding anything but loopback puts the
    server on the network, where it answers only the Host names an admin listed; with none listed every request
    would be refused, so say so at start-up instead."""
    if is_loopback_address(cfg.host) or cfg.host.lower() in LOOPBACK_NAMES:
        return None
    if not any(h.strip() for h in cfg.allowed_hosts):
        return (f"Refusing to listen on {cfg.host}: a server reachable from the network needs the names it is "
                "reached by. Set REPLYDESK_ALLOWED_HOSTS=desk.example.com (comma-separated), or bind "
                "--host 127.0.0.1 behind a TLS reverse proxy (see docs/team-server.md).")
    return None


@dataclass(frozen=True)
class Caller:
    """Who sent a request (flask.g.agent). The pairing token is the desk's own agent, a supervisor; a team
    agent's token gives server/team/agents.py's Agent, which has the same attributes."""
    name: str
    initials: str = ""
    supervisor: bool = False


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

    cfg = current_app.config["REPLYDESK"]
    if token_ok(header, current_app.config["REPLYDESK_TOKEN"]):
        return Caller(cfg.agent_name, "", supervisor=True)
    agents = getattr(services(), "agents", None)
    if agents is None or not header or not header.startswith("Bearer "):
        return None
    given = header[7:].strip()
    return agents.authenticate(given) if given else None


def client_limited(addr: str | None) -> float:
    """Seconds this address must still wait after too many failed sign-ins (0: go ahead). Loopback is the desk's
    own machine (its tray, extension and tools; the token there is unguessable anyway), so only other
    addresses are counted."""
    if is_loopback_address(addr):
        return 0.0
    return ratelimit.limiter().retry_after(addr or "?")


def count_failure(addr: str | None) -> None:
    if not is_loopback_address(addr):
        ratelimit.limiter().failed(addr or "?")


class RateLimited(ApiError):
    """429 with the wait both in the body (retry_after) and in the Retry-After header."""

    def __init__(self, wait: float) -> None:
        secs = ratelimit.retry_seconds(wait)
        super().__init__(429, "rate_limited",
                         f"Too many failed sign-ins from this address; try again in {secs} s.", retry_after=secs)

    def response(self) -> Response:
        resp = super().response()
        resp.headers["Retry-After"] = str(self.extra["retry_after"])
        return resp


def _check_host(cfg: Config) -> None:
    if not host_allowed(request.host or "", cfg.allowed_hosts):
        name = host_name(request.host or "")
        raise ApiError(403, "host_not_allowed",
                       f"Host '{name}' is not allowed; use 127.0.0.1 or localhost, or add the name to the "
                       f"server's REPLYDESK_ALLOWED_HOSTS (comma-separated, e.g. REPLYDESK_ALLOWED_HOSTS={name}).")


def _check_tls(cfg: Config) -> None:
    """Tokens and passwords must not cross a network in clear: off loopback, plain HTTP is refused."""
    if request.scheme == "https" or cfg.insecure_http or is_loopback_address(request.remote_addr):
        return
    if request.path == "/healthz":  # says nothing but "up"; a proxy's or load balancer's probe may be plain
        return
    raise ApiError(403, "https_required",
                   "This server only accepts HTTPS from other machines: put a TLS reverse proxy in front of it "
                   "(see docs/team-server.md; with REPLYDESK_TRUSTED_PROXIES=1 its X-Forwarded-Proto is trusted) "
                   "or, on a network you trust, set REPLYDESK_INSECURE_HTTP=1.")


def _authenticate() -> None:
    addr = request.remote_addr
    wait = client_limited(addr)
    if wait > 0:
        raise RateLimited(wait)
    header = request.headers.get("Authorization")
    g.agent = caller(header)
    if g.agent is None:
        if header:  # a token was tried and was wrong (no header at all guesses nothing)
            count_failure(addr)
        raise ApiError(401, "unauthorized",
                       "Missing or wrong token: send 'Authorization: Bearer <token>' "
                       "(print it with `python -m server token`, or an agent's with `add-agent`).")


def check_request() -> Response | None:
    """Runs before every request; raises ApiError to refuse."""
    cfg = current_app.config["REPLYDESK"]
    _check_host(cfg)
    _check_tls(cfg)
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
        _authenticate()
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
    """Installs the checks; behind `trusted_proxies` reverse proxies their X-Forwarded-For/-Proto/-Host headers
    become the request's client address, scheme and host (never trusted without that setting)."""
    cfg = app.config["REPLYDESK"]
    if cfg.trusted_proxies > 0:
        n = cfg.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    ratelimit.attach(app)
    app.before_request(check_request)
    app.after_request(add_cors)
