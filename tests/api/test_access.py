"""Access: who can reach the server over HTTP and /ws. A DNS-rebinding Host is refused, a wrong or missing token is
refused (compared in constant time), and the agent token opens nothing in the supervisor console. What a web page
on another origin can do in a real Chromium is tests/browser/test_access_browser.py."""
from __future__ import annotations

import hmac
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from server.config import REPO_ROOT
from server.web import sockets as ws_mod
from tests.support.live import LiveServer, watched_live_server

POST = {"platform": "x", "post_id": "acc1", "author": {"handle": "kate", "name": "Kate Mink"},
        "text": "@AcmeShop my order 1234 never arrived"}
SUPERVISOR, PASSWORD = "access-sup", "a long supervisor password"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[LiveServer]:
    srv = watched_live_server(tmp_path_factory.mktemp("access"))
    yield srv
    srv.stop()


@pytest.mark.parametrize("host", ["rebind.attacker.example", "rebind.attacker.example:80", "127.0.0.1.nip.io",
                                  "localhost.attacker.example", "127.0.0.2", "0.0.0.0", "[::ffff:127.0.0.1]",
                                  "2130706433", "localhost:80@evil.example", "", "evil.example\r\nX-Injected: 1"])
def test_rebinding_host_headers_are_refused_on_every_path(server, host):
    import http.client

    for method, path in (("GET", "/healthz"), ("POST", "/api/suggest"), ("GET", "/api/queue"), ("GET", "/ws"),
                         ("GET", "/admin/login"), ("GET", "/api/openapi.json")):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            conn.putrequest(method, path, skip_host=True)
            conn.putheader("Host", host.replace("\r\n", " ")) if host else conn.putheader("Host", "")
            conn.putheader("Authorization", f"Bearer {server.token}")
            body = json.dumps({"post": POST}).encode() if method == "POST" else b""
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        assert resp.status in (400, 403), (host, path, resp.status, data[:200])
        if resp.status == 403:
            assert json.loads(data)["error"] == "host_not_allowed"


TOKENS = {
    "missing": None, "empty": "", "bearer only": "Bearer", "bearer space": "Bearer ", "lower-case scheme": "bearer {t}",
    "basic": "Basic {t}", "wrong same length": "Bearer {w}", "prefix": "Bearer {p}", "longer": "Bearer {t}x",
    "shorter": "Bearer {s}", "two tokens": "Bearer {t}, Bearer {t}", "token twice": "Bearer {t}{t}",
    "nul inside": "Bearer {s}\x00x", "unicode": "Bearer {s}é", "very long": "Bearer " + "a" * 8000,
}


@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_wrong_or_missing_tokens_are_refused(server, kind):
    template = TOKENS[kind]
    t = server.token
    wrong = "".join("A" if c != "A" else "B" for c in t)
    headers = {}
    if template is not None:
        value = template.format(t=t, w=wrong, p=t[: len(t) // 2], s=t[:-1])
        headers["Authorization"] = value
    for method, path in (("POST", "/api/suggest"), ("POST", "/api/tone"), ("GET", "/api/queue"),
                         ("POST", "/api/queue"), ("GET", "/api/stats"), ("GET", "/api/packs")):
        try:
            r = requests.request(method, server.url + path, json={"post": POST, "text": "hi"}, headers=headers,
                                 timeout=30)
        except (ValueError, requests.exceptions.InvalidHeader):
            continue  # the client library itself refuses to send a header this broken
        assert r.status_code == 401 and r.json()["error"] == "unauthorized", (kind, path, r.status_code, r.text)
    # The token anywhere but the Authorization header counts for nothing.
    r = requests.get(f"{server.url}/api/queue", params={"token": t}, headers={"Cookie": f"token={t}"}, timeout=30)
    assert r.status_code == 401


def test_wrong_tokens_on_the_websocket_are_refused(server):
    from simple_websocket import Client, ConnectionClosed

    t = server.token
    for token in ("", t[:-1], t + "x", "".join(reversed(t)), t.upper() if t.upper() != t else t.lower(), 12, None):
        ws = Client.connect(server.ws_url)
        try:
            ws.send(json.dumps({"type": "auth", "token": token}))
            msgs = []
            try:
                while (raw := ws.receive(timeout=10)) is not None:
                    msgs.append(json.loads(raw))
            except ConnectionClosed:
                pass
            assert msgs and msgs[0]["type"] == "error" and msgs[0]["error"] == "unauthorized", (token, msgs)
            assert not any(m.get("type") in ("hello", "queue") for m in msgs)
        finally:
            try:
                ws.close()
            except ConnectionClosed:
                pass
    assert server.app.extensions["test_ws_connections"] == []


def test_tokens_are_compared_in_constant_time(app, monkeypatch):
    """Both the HTTP check and the WebSocket check go through hmac.compare_digest, whatever the length."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    token = app.config["REPLYDESK_TOKEN"]
    c = app.test_client()
    for value in (token, token[:-1], token + "zz", "x" * len(token), "y"):
        r = c.get("/api/packs", headers={"Authorization": f"Bearer {value}"})
        assert r.status_code == (200 if value == token else 401)
    assert len(calls) == 5, calls
    assert all(b == token.encode() for _a, b in calls)
    # The WebSocket's first-message check uses the same primitive.
    import inspect

    assert "hmac.compare_digest" in inspect.getsource(ws_mod)


def test_agent_token_opens_nothing_in_the_console(server, tmp_path):
    data_dir = server.app.extensions["replydesk"].config.data_dir
    r = subprocess.run([sys.executable, "-m", "server", "add-supervisor", SUPERVISOR, "--data-dir", str(data_dir)],
                       input=PASSWORD + "\n", text=True, capture_output=True, cwd=REPO_ROOT, timeout=60,
                       env={**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    assert r.returncode == 0, r.stderr
    bearer = {"Authorization": f"Bearer {server.token}"}
    for path in ("/admin/", "/admin/dashboard", "/admin/packs", "/admin/packs/default", "/admin/packs/default/history"):
        r = requests.get(server.url + path, headers=bearer, allow_redirects=False, timeout=30)
        assert r.status_code in (302, 303) and "/admin/login" in r.headers["Location"], (path, r.status_code)
    pack_file = server.app.extensions["replydesk"].packs.packs_dir / "default" / "pack.toml"
    before = pack_file.read_text()
    for headers in (bearer, {**bearer, "X-CSRF-Token": server.token}):
        r = requests.post(f"{server.url}/admin/packs/default", headers=headers, allow_redirects=False, timeout=30,
                          data={"action": "save", "csrf_token": server.token, "file:pack.toml": "x"})
        assert r.status_code in (302, 303, 400, 401, 403), r.status_code
        r = requests.post(f"{server.url}/admin/packs/default/check", headers={**headers, "Content-Type":
                          "application/json"}, data=json.dumps({"files": {}}), allow_redirects=False, timeout=30)
        assert r.status_code in (302, 303, 400, 401, 403), r.status_code
    assert pack_file.read_text() == before
    # The token is not a supervisor password either, for any name.
    s = requests.Session()
    import re

    page = s.get(f"{server.url}/admin/login", timeout=30)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    for name in (SUPERVISOR, "admin", "agent"):
        r = s.post(f"{server.url}/admin/login", data={"name": name, "password": server.token, "csrf_token": csrf},
                   allow_redirects=False, timeout=30)
        assert r.status_code == 401, (name, r.status_code)
    # And a supervisor's console session opens nothing in the agent API.
    r = s.post(f"{server.url}/admin/login", data={"name": SUPERVISOR, "password": PASSWORD, "csrf_token": csrf},
               allow_redirects=False, timeout=30)
    assert r.status_code in (302, 303)
    assert s.get(f"{server.url}/admin/dashboard", timeout=30).status_code == 200
    assert s.get(f"{server.url}/api/queue", timeout=30).status_code == 401
