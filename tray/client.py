"""Talking to the local server: the /ws event stream (with reconnects) and the REST calls of the menu.

The token is read the way the server reads it (`server.keystore`: OS keyring, else the user-only file in the
data folder), and read again before each reconnect so a re-paired server is picked up without a restart.
"""
from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit


def _import_simple_websocket() -> Any:
    """`simple_websocket`, without importing its asyncio half until someone asks for it.

    The package's `__init__` also imports `simple_websocket.aiows`, i.e. all of asyncio (about 2 MB resident
    for the tray's whole life) for classes the tray never uses. When the package is not loaded yet, this sets it
    up the way its `__init__` does, from the threaded `ws` and `errors` modules only, and resolves `AioServer` /
    `AioClient` on first access (PEP 562), so other code in the same process still sees the whole package.
    """
    if "simple_websocket" in sys.modules:
        return sys.modules["simple_websocket"]
    spec = importlib.util.find_spec("simple_websocket")
    if spec is None or not spec.submodule_search_locations:
        import simple_websocket  # unusual install: let the import system report it

        return simple_websocket
    pkg = importlib.util.module_from_spec(spec)  # the package object, its __init__ not run
    sys.modules["simple_websocket"] = pkg
    try:
        from simple_websocket import errors, ws
    except BaseException:
        del sys.modules["simple_websocket"]
        raise
    pkg.Server, pkg.Client = ws.Server, ws.Client
    pkg.ConnectionError, pkg.ConnectionClosed = errors.ConnectionError, errors.ConnectionClosed

    def __getattr__(name: str) -> Any:
        if name in ("AioServer", "AioClient"):
            from simple_websocket import aiows

            return getattr(aiows, name)
        raise AttributeError(f"module 'simple_websocket' has no attribute {name!r}")

    pkg.__getattr__ = __getattr__  # type: ignore[method-assign]
    return pkg


_sw = _import_simple_websocket()
Client, ConnectionClosed = _sw.Client, _sw.ConnectionClosed

DEFAULT_SERVER = "http://127.0.0.1:8765"
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 15.0
HTTP_TIMEOUT = 10.0
#: After a token the server refused for good, try again this seldom: every try is a failed sign-in that a team
#: server counts per address (server/web/ratelimit.py), and colleagues behind the same address share that limit.
REFUSED_RETRY = 60.0
#: The longest wait a server's "rate_limited" retry_after is taken for (a bogus value must not park the tray).
LIMITED_MAX = 600.0


def read_token(data_dir: Path | None = None) -> str:
    """The pairing token shared with the server: `python -m server token`, i.e. server.keystore's lookup
    (OS keyring, else the user-only file in the data folder), run in a short-lived child process.

    Why a child: keyring's import graph (importlib_metadata, jaraco, urllib.request, email...) would stay
    resident for the tray's whole life (about 5 MB) to be used once per connection.
    """
    cmd = [sys.executable, "-m", "server", "token"]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)  # the checkout that holds tray/ and server/
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise TokenError(f"could not read the pairing token: {detail.strip()[-300:]}") from exc
    token = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    if not token:
        raise TokenError("`python -m server token` printed no token")
    return token


class TokenError(RuntimeError):
    pass


LOOPBACK_HOSTS = ("localhost", "localhost.")


def is_loopback_host(host: str) -> bool:
    """localhost, 127.0.0.0/8, ::1 and IPv4-mapped loopback: what the server itself counts as this machine."""
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def limited_wait(retry_after: Any) -> float:
    """How long to wait after the server's "rate_limited" error: its retry_after, within [1 s, LIMITED_MAX]."""
    if isinstance(retry_after, bool) or not isinstance(retry_after, int | float) or retry_after != retry_after:
        return REFUSED_RETRY
    return min(LIMITED_MAX, max(1.0, float(retry_after)))


def server_problem(server: str, allow_plain_http: bool = False) -> str:
    """Why the tray should not use this server address, or '' when it may: an http(s) URL with a host, and plain
    HTTP only to this machine unless allowed (a team server sits behind TLS; the token must not cross a network in
    clear)."""
    parts = urlsplit(server.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{server!r} is not a server address; use one like https://desk.example.com or http://127.0.0.1:8765"
    if parts.scheme == "http" and not is_loopback_host(parts.hostname) and not allow_plain_http:
        return (f"{server} is plain HTTP to another machine: the token would cross the network unencrypted; use "
                "the team server's https:// address (or --allow-plain-http on a private network)")
    return ""


def ws_url(server: str) -> str:
    parts = urlsplit(server.rstrip("/"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path + "/ws", "", ""))


def next_backoff(current: float) -> float:
    """Exponential backoff with a little jitter, so several trays do not hammer a restarting server in step."""
    return min(BACKOFF_MAX, max(BACKOFF_FIRST, current * 2)) * random.uniform(0.85, 1.0)


class Api:
    """The queue's REST calls (each raises `ApiFailure` with the server's message on failure)."""

    def __init__(self, server: str, token: Callable[[bool], str]) -> None:
        self.server = server.rstrip("/")
        self._token = token
        self._http: Any = None

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        import requests  # on first use: an idle tray need not carry it (about 12 MB resident)

        if self._http is None:
            self._http = requests.Session()
        for fresh in (False, True):  # a 401 may mean a re-paired server: read the token again, once
            try:
                resp = self._http.request(method, self.server + path, json=body, timeout=HTTP_TIMEOUT,
                                          headers={"Authorization": f"Bearer {self._token(fresh)}"})
            except requests.RequestException as exc:
                raise ApiFailure("unreachable", f"The server is not reachable ({type(exc).__name__}).") from exc
            except TokenError as exc:
                raise ApiFailure("no_token", str(exc)) from exc
            if resp.status_code != 401:
                break
        try:
            data = resp.json()
        except ValueError:
            data = {}
        if resp.status_code >= 400:
            raise ApiFailure(str(data.get("error", resp.status_code)), str(data.get("message", resp.reason)))
        return data if isinstance(data, dict) else {"data": data}

    def queue(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/api/queue?limit=1000").get("items", []))

    def replied(self, item_id: str) -> dict[str, Any]:
        return self._call("POST", f"/api/queue/{quote(item_id, safe='')}/replied", {})

    def dismiss(self, item_id: str) -> dict[str, Any]:
        return self._call("POST", f"/api/queue/{quote(item_id, safe='')}/dismiss", {})

    def snooze(self, item_id: str, minutes: float) -> dict[str, Any]:
        return self._call("POST", f"/api/queue/{quote(item_id, safe='')}/snooze", {"minutes": minutes})


class ApiFailure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class EventStream(threading.Thread):
    """Keeps a /ws connection open and hands every event to `on_event`; `on_status(connected)` on changes.

    Blocking reads (no polling), so an idle tray uses no CPU; reconnects with backoff when the server goes away.
    A "resync" event (the server dropped events for us) is answered by asking for a fresh snapshot.
    When the server refuses the token, `on_refused(fresh)` is asked whether that is final (`fresh`: the token had
    just been read again); a final refusal is retried only every REFUSED_RETRY seconds. A "rate_limited" error (too
    many failed sign-ins from this address) is waited out as the server asks, and told to `on_limited(seconds)`.
    """

    def __init__(self, server: str, token: Callable[[bool], str], on_event: Callable[[dict[str, Any]], None],
                 on_status: Callable[[bool], None], api: Api | None = None,
                 on_refused: Callable[[bool], bool] | None = None,
                 on_limited: Callable[[float], None] | None = None) -> None:
        super().__init__(name="tray-ws", daemon=True)
        self.url = ws_url(server)
        self._token = token
        self.on_event, self.on_status = on_event, on_status
        self.on_refused, self.on_limited = on_refused, on_limited
        self.hold = 0.0  # the least wait before the next try, set by a final refusal or a rate limit
        self.api = api
        self._halt = threading.Event()  # not `_stop`: that name is threading.Thread's own (join() calls it)
        self._ws: Client | None = None
        self._token_stale = False
        self.connects = 0

    def stop(self) -> None:
        self._halt.set()
        ws = self._ws
        if ws is not None:
            try:
                ws.close()
            except (ConnectionClosed, OSError):
                pass

    def run(self) -> None:
        delay = 0.0
        while not self._halt.is_set():
            if delay:
                self._halt.wait(delay)
                if self._halt.is_set():
                    break
            if self._session():
                delay = BACKOFF_FIRST * random.uniform(0.5, 1.0)  # it worked: retry soon after a loss
            else:
                delay = max(next_backoff(delay), self.hold)
            self.hold = 0.0

    def _session(self) -> bool:
        """One connection, until it ends. True when it got as far as the server's hello."""
        greeted = False
        try:
            ws = Client.connect(self.url)
        except Exception:  # refused, reset, handshake rejected: all mean "not now, try again later"
            return False
        self._ws = ws
        try:
            fresh = self._token_stale
            try:
                token = self._token(fresh)
            except TokenError as exc:
                print(f"reply-desk tray: {exc}", file=sys.stderr)
                return False
            self._token_stale = False
            ws.send(json.dumps({"type": "auth", "token": token}))
            while not self._halt.is_set():
                raw = ws.receive()  # blocks until a message or the close
                if raw is None:
                    continue
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(event, dict):
                    continue
                kind = event.get("type")
                if kind == "hello":
                    greeted = True
                    self.connects += 1
                    self.on_event(event)  # who the tray signed in as
                    self.on_status(True)
                elif kind == "error" and event.get("error") == "unauthorized":
                    self._token_stale = True  # read it again before the next try
                    final = self.on_refused(fresh) if self.on_refused is not None else fresh
                    self.hold = REFUSED_RETRY if final else 0.0
                    break
                elif kind == "error" and event.get("error") == "rate_limited" and not greeted:
                    self.hold = limited_wait(event.get("retry_after"))
                    if self.on_limited is not None:
                        self.on_limited(self.hold)
                    break
                elif kind == "resync":  # events were dropped for us: ask for a fresh snapshot
                    ws.send(json.dumps({"type": "queue_snapshot"}))
                else:
                    self.on_event(event)
        except (ConnectionClosed, OSError):
            pass
        finally:
            self._ws = None
            try:
                ws.close()
            except Exception:  # already closed by the other side
                pass
            if greeted:
                self.on_status(False)
        return greeted
