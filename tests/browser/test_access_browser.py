"""Access from a real Chromium: a web page on another origin (served on another loopback port) cannot call the API or
open the WebSocket, and a DNS-rebinding page (the attacker's name resolving to 127.0.0.1) is refused on every path."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from tests.support.browser import chromium_args, chromium_path
from tests.support.live import LiveServer, watched_live_server

pytestmark = pytest.mark.browser

POST = {"platform": "x", "post_id": "acc1", "author": {"handle": "kate", "name": "Kate Mink"},
        "text": "@AcmeShop my order 1234 never arrived"}

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
    srv = watched_live_server(tmp_path_factory.mktemp("access"))
    yield srv
    srv.stop()


def serve_page(html: str) -> tuple[ThreadingHTTPServer, int]:
    handler = type("EvilPage", (_Page,), {"page": html.encode()})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, httpd.server_address[1]


def chromium(tmp_path: Path, extra_args: tuple[str, ...] = ()):
    from playwright.sync_api import sync_playwright

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
