"""Access: who can reach the server. A web page on another origin (a real Chromium page served on another loopback
port) cannot call the API or open the WebSocket, a DNS-rebinding Host is refused, a wrong or missing token is
refused (compared in constant time), and the agent token opens nothing in the supervisor console."""
from __future__ import annotations

import hmac
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from server.config import REPO_ROOT
from server.web import sockets as ws_mod
from tests.support.live import LiveServer, make_config

POST = {"platform": "x", "post_id": "acc1", "author": {"handle": "kate", "name": "Kate Mink"},
        "text": "@AcmeShop my order 1234 never arrived"}
SUPERVISOR, PASSWORD = "access-sup", "a long supervisor password"

EVIL_PAGE = """<!doctype html><html><body><h1>Totally normal page</h1><script>
window.results = {};
const server = %(server)s, token = %(token)s;
const body = JSON.stringify({post: %(post)s});
async function attempt(name, fn) {
  try { window.results[name] = await fn(); } catch (e) { window.results[name] = 'rejected: ' + e; }
}
(async () => {
  await attempt('fetch_suggest', async () => {
    const r = await fetch(server + '/api/suggest', {method: 'POST', body,
      headers: {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'}});
    return 'status ' + r.status + ' ' + (await r.text()).slice(0, 200);
  });
  await attempt('fetch_queue_simple', async () => {
    const r = await fetch(server + '/api/queue', {method: 'POST', mode: 'no-cors', body,
      headers: {'Content-Type': 'text/plain'}});
    return 'opaque ' + r.type;
  });
  await attempt('fetch_packs', async () => {
    const r = await fetch(server + '/api/packs', {headers: {'Authorization': 'Bearer ' + token}});
    return 'status ' + r.status + ' ' + (await r.text()).slice(0, 200);
  });
  await attempt('fetch_openapi', async () => {
    const r = await fetch(server + '/api/openapi.json');
    return 'status ' + r.status;
  });
  window.results.ws = await new Promise(resolve => {
    const events = [];
    let ws;
    try { ws = new WebSocket(server.replace('http', 'ws') + '/ws'); } catch (e) { resolve('throw ' + e); return; }
    ws.onopen = () => { events.push('open'); ws.send(JSON.stringify({type: 'auth', token})); };
    ws.onmessage = m => events.push('message ' + m.data.slice(0, 100));
    ws.onerror = () => events.push('error');
    ws.onclose = e => { events.push('close ' + e.code); resolve(events.join('|')); };
    setTimeout(() => resolve(events.join('|') + '|timeout'), 10000);
  });
  window.done = true;
})();
</script></body></html>"""


class _Page(BaseHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[LiveServer]:
    srv = LiveServer(_app(tmp_path_factory.mktemp("access")))
    connections: list[str] = []
    srv.app.extensions["test_ws_connections"] = connections
    srv.app.extensions["replydesk"].ws_connect_hooks.append(lambda session: connections.append("authenticated"))
    srv.start()
    yield srv
    srv.stop()


def _app(tmp_path: Path):
    import shutil

    from server.app import create_app

    shutil.copytree(REPO_ROOT / "prompts", tmp_path / "packs")
    return create_app(make_config(tmp_path / "data", packs_dir=tmp_path / "packs"))


def serve_page(html: str) -> tuple[ThreadingHTTPServer, int]:
    handler = type("EvilPage", (_Page,), {"page": html.encode()})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, httpd.server_address[1]


def chromium(tmp_path: Path, extra_args: tuple[str, ...] = ()):
    from playwright.sync_api import sync_playwright

    from tests.support.browser import chromium_args, chromium_path

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                 args=[*chromium_args(False), *extra_args])
    return pw, browser


def queue_count(srv: LiveServer) -> int:
    r = requests.get(f"{srv.url}/api/queue", params={"state": "all"}, headers=srv.headers, timeout=30)
    return r.json()["total"]


def test_web_page_on_another_origin_is_refused(server, tmp_path):
    page_html = EVIL_PAGE % {"server": json.dumps(server.url), "token": json.dumps(server.token),
                             "post": json.dumps(POST)}
    httpd, port = serve_page(page_html)
    before = queue_count(server)
    pw, browser = chromium(tmp_path)
    try:
        for origin in (f"http://127.0.0.1:{port}/", f"http://localhost:{port}/"):
            page = browser.new_page()
            page.goto(origin)
            page.wait_for_function("window.done === true", timeout=30_000)
            results = page.evaluate("window.results")
            page.close()
            # The token-carrying fetch needs a CORS preflight, which the server refuses: the browser rejects it.
            assert results["fetch_suggest"].startswith("rejected"), results
            assert results["fetch_packs"].startswith("rejected"), results
            # A "simple" request goes out without a preflight; the server refuses it (Origin), the page sees nothing.
            assert results["fetch_queue_simple"] in ("opaque opaqueredirect", "opaque opaque") or \
                results["fetch_queue_simple"].startswith("rejected"), results
            assert results["fetch_openapi"].startswith("rejected"), results
            # The WebSocket handshake is refused with 403 before any upgrade: no open, no message.
            assert "open" not in results["ws"] and "message" not in results["ws"], results
            assert "close 1006" in results["ws"], results
    finally:
        browser.close()
        pw.stop()
        httpd.shutdown()
    assert server.app.extensions["test_ws_connections"] == []
    assert queue_count(server) == before, "a cross-site request changed the queue"


def test_dns_rebinding_in_a_real_browser_is_refused(server, tmp_path):
    """The attacker's name now resolves to 127.0.0.1: the page is 'same-origin' with the server, but its Host is
    the attacker's name, which the server refuses on every path."""
    pw, browser = chromium(tmp_path, ("--host-resolver-rules=MAP rebind.attacker.test 127.0.0.1",))
    try:
        page = browser.new_page()
        resp = page.goto(f"http://rebind.attacker.test:{server.port}/healthz")
        assert resp is not None and resp.status == 403
        results = page.evaluate("""async ([token, post]) => {
            const out = {};
            for (const path of ['/api/suggest', '/api/packs', '/api/queue']) {
              const r = await fetch(path, {method: path === '/api/packs' ? 'GET' : 'POST',
                body: path === '/api/packs' ? undefined : JSON.stringify({post}),
                headers: {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'}});
              out[path] = [r.status, (await r.json()).error];
            }
            out.admin = (await fetch('/admin/login')).status;
            out.ws = await new Promise(resolve => {
              const ws = new WebSocket('ws://' + location.host + '/ws'); const ev = [];
              ws.onopen = () => { ev.push('open'); ws.send(JSON.stringify({type: 'auth', token})); };
              ws.onmessage = m => ev.push('message');
              ws.onclose = e => { ev.push('close ' + e.code); resolve(ev.join('|')); };
              setTimeout(() => resolve(ev.join('|') + '|timeout'), 10000);
            });
            return out;
        }""", [server.token, POST])
    finally:
        browser.close()
        pw.stop()
    for path in ("/api/suggest", "/api/packs", "/api/queue"):
        assert results[path] == [403, "host_not_allowed"], results
    assert results["admin"] == 403, results
    assert "open" not in results["ws"] and "message" not in results["ws"], results
    assert server.app.extensions["test_ws_connections"] == []


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
