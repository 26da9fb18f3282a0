"""Claims in the extension on a team desk: a real server process (SQLite) with two agents, Avery and Dana, and real
Chromium whose extension is paired with Avery's own token.

- Dana claims a post over the API; Avery opens it on its site: the panel says "Dana is replying" (Avery's claim got
  the server's 409), Insert warns first, the popup names Dana too. Dana releasing it, or replying, reaches Avery's
  open panel over /ws within seconds, without a reload.
- Avery opening a free post claims it, renews the claim while active on the page, lets it lapse when idle (the
  server's idle time is short here, 5 s), claims it again on coming back, and lets go when the page navigates away
  in place (X is a single-page app) or the tab closes.
- The options page takes a team server's address: plain HTTP to another host is refused until allowed, and the
  host permission asked for at run time is exactly that host's (also for a loopback address the manifest's fixed
  hosts do not cover). Chromium's permission prompt cannot be answered from Playwright, so the test checks that the
  request is made inside the click (it stays pending on the prompt instead of failing for want of a gesture) and
  for which origin; the connection itself works regardless, since the server allows extension origins (CORS).
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from scripts.build_extension import firefox_manifest
from server.config import REPO_ROOT
from tests.support.browser import (
    ARTIFACTS,
    EXTENSION_DIR,
    FIXTURES,
    BrowserSession,
    configure_quietly,
    launch_chromium,
    serve_files,
    wait_until,
)
from tests.support.servers import ServerProcess, server_env

pytestmark = pytest.mark.browser

IDLE = 5  # the desk's claim_idle_seconds: short, so renewals and lapses happen within the test
TEAM_HOST = "desk.localhost"  # a name that is not "this machine" to the extension; Chromium resolves it to loopback

SAMPLE = ("https://x.com/TestUser123/status/1981398750557065646", FIXTURES / "x" / "x-tweet-sample.html",
          {"platform": "x", "post_id": "1981398750557065646", "author": {"handle": "TestUser123", "name": "Test User"},
           "url": "https://x.com/TestUser123/status/1981398750557065646",
           "text": "Democrat Shutdown Jeopardizes America's Skies"})
QUOTE = ("https://x.com/TestQuoter/status/1983130065320780162", FIXTURES / "x" / "x-tweet-quote.html",
         {"platform": "x", "post_id": "1983130065320780162", "author": {"handle": "TestQuoter", "name": "Test Quoter"},
          "url": "https://x.com/TestQuoter/status/1983130065320780162",
          "text": "This is a quote tweet with additional commentary"})
THREAD = ("https://x.com/tom_h/status/1851000000000000011", FIXTURES / "mine" / "x-thread.html")

# Every claim request the service worker makes, with the server's status: the worker's own fetch, observed.
SPY_CLAIMS = """() => {
  if (self.__claims) return;
  self.__claims = [];
  const real = self.fetch.bind(self);
  self.fetch = async (input, init) => {
    const resp = await real(input, init);
    if (String(input).includes('/claim')) self.__claims.push({method: (init && init.method) || 'GET',
                                                              url: String(input), status: resp.status});
    return resp;
  };
}"""
# The options page's permission requests (passed on to the real API) and how each ended.
SPY_PERMISSIONS = """() => {
  window.__asked = [];
  const real = chrome.permissions.request.bind(chrome.permissions);
  chrome.permissions.request = (query) => {
    const entry = {query, outcome: 'pending'};
    window.__asked.push(entry);
    const answer = real(query);
    answer.then((granted) => (entry.outcome = String(granted)), (err) => (entry.outcome = 'error: ' + err.message));
    return answer;
  };
}"""


def add_agent(data: Path, name: str) -> str:
    out = subprocess.run([sys.executable, "-m", "server", "add-agent", name, "--data-dir", str(data)], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=60, env={**os.environ, **server_env(data)})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


class Desk:
    """The team desk's server process and its agents' tokens."""

    def __init__(self, tmp: Path) -> None:
        data = tmp / "data"
        self.tokens = {name: add_agent(data, name) for name in ("Avery", "Dana")}
        self.proc = ServerProcess(data, env={"REPLYDESK_CLAIM_IDLE_SECONDS": str(IDLE),
                                             "REPLYDESK_ALLOWED_HOSTS": TEAM_HOST}).start()
        self.url = self.proc.url

    def call(self, who: str, method: str, path: str, json: Any = None) -> requests.Response:
        return requests.request(method, self.url + path, json=json, timeout=10,
                                headers={"Authorization": f"Bearer {self.tokens[who]}"})

    def item(self, item_id: int) -> dict[str, Any]:
        items = self.call("Dana", "GET", "/api/queue?state=all").json()["items"]
        return next(it for it in items if it["id"] == item_id)

    def holder(self, item_id: int) -> str | None:
        return self.item(item_id)["claimed_by"]

    def item_for(self, post_id: str) -> dict[str, Any] | None:
        items = self.call("Dana", "GET", "/api/queue?state=all").json()["items"]
        return next((it for it in items if str(it["post_id"]) == post_id), None)


class AtWork:
    """Dana working on some posts: her claims on them are renewed every second (the desk's idle time is 5 s)."""

    def __init__(self, desk: Desk, who: str) -> None:
        self.desk, self.who = desk, who
        self.ids: set[int] = set()
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def claim(self, post: dict[str, Any]) -> int:
        tracked = self.desk.call(self.who, "POST", "/api/queue", {"post": post})
        assert tracked.status_code in (200, 201), tracked.text
        item_id = tracked.json()["id"]
        got = self.desk.call(self.who, "POST", f"/api/queue/{item_id}/claim", {})
        assert got.status_code == 200 and got.json()["claimed_by"] == self.who, got.text
        with self.lock:
            self.ids.add(item_id)
        return item_id

    def leave(self, item_id: int) -> None:
        with self.lock:
            self.ids.discard(item_id)

    def _run(self) -> None:
        while not self.done.wait(1.0):
            with self.lock:
                ids = list(self.ids)
            for item_id in ids:
                try:
                    self.desk.call(self.who, "POST", f"/api/queue/{item_id}/claim", {})
                except requests.RequestException:
                    pass

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    d = Desk(tmp_path_factory.mktemp("claims-desk"))
    yield d
    d.proc.stop()


@pytest.fixture(scope="module")
def browser(desk: Desk, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserSession]:
    with launch_chromium(tmp_path_factory.mktemp("claims-browser"), extension=True) as session:
        configure_quietly(session, desk.proc, token=desk.tokens["Avery"])
        session.service_worker().evaluate(SPY_CLAIMS)
        yield session


@pytest.fixture
def dana(desk: Desk) -> Iterator[AtWork]:
    worker = AtWork(desk, "Dana")
    yield worker
    worker.stop()


def open_post(browser: BrowserSession, url: str, fixture: Path) -> Any:
    from urllib.parse import urlsplit

    page = browser.context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    page.route("https://x.com/**", serve_files({urlsplit(url).path: fixture.read_text(encoding="utf-8")}))
    page.goto(url)
    page.wait_for_selector("html[data-replydesk=ready]", timeout=20_000)
    page.evaluate("window.__sameDocument = true")  # gone if the page ever reloads
    return page


def suggest_on(page: Any, article: Any) -> Any:
    article.get_by_role("button", name="Suggest reply").click()
    panel = page.locator("replydesk-panel")
    reply = panel.get_by_role("textbox", name="Reply")
    wait_until(lambda: reply.input_value().strip() and reply.get_attribute("readonly") is None, timeout=30,
               what="the suggested reply")
    return panel


def claim_note(panel: Any) -> str:
    box = panel.locator(".claim")
    return box.inner_text().strip() if box.is_visible() else ""


def claims_seen(browser: BrowserSession, item_id: int) -> list[tuple[str, int]]:
    log = browser.service_worker().evaluate("() => self.__claims")
    return [(c["method"], c["status"]) for c in log if f"/api/queue/{item_id}/claim" in c["url"]]


def test_another_agents_claim_shows_everywhere_and_clears_live(browser: BrowserSession, desk: Desk,
                                                               dana: AtWork) -> None:
    first = dana.claim(SAMPLE[2])
    page = open_post(browser, SAMPLE[0], SAMPLE[1])
    panel = suggest_on(page, page.locator('article[data-testid="tweet"]'))
    wait_until(lambda: claim_note(panel) == "Dana is replying", timeout=10, what="the panel naming the holder")
    assert panel.locator(".panel").get_attribute("data-claimed-by") == "Dana"
    assert ("POST", 409) in claims_seen(browser, first)  # Avery's own claim was refused
    assert desk.holder(first) == "Dana"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "panel-claimed-by-dana.png"))
    # Insert says so first; a second press would insert all the same.
    panel.get_by_role("button", name="Insert").click()
    assert "Dana is replying to this post" in claim_note(panel)

    popup = browser.context.new_page()
    popup.goto(f"chrome-extension://{browser.extension_id}/popup/popup.html")
    row = popup.locator('#items button[data-claimed-by="Dana"]')
    wait_until(lambda: row.count() == 1, what="the popup naming who is replying")
    assert row.locator(".claimed").inner_text() == "Dana is replying"
    assert "Test User" in row.inner_text() and "Dana is replying" in (row.get_attribute("aria-label") or "")
    popup.close()

    # Dana lets go: Avery's open panel hears it over /ws, drops the note and takes the post.
    dana.leave(first)
    assert desk.call("Dana", "DELETE", f"/api/queue/{first}/claim").status_code == 200
    wait_until(lambda: claim_note(panel) == "", timeout=5, what="the note gone once Dana released the post")
    wait_until(lambda: desk.holder(first) == "Avery", timeout=5, what="Avery's panel claiming the freed post")
    assert page.evaluate("window.__sameDocument") is True  # no reload
    assert ("POST", 200) in claims_seen(browser, first)

    # Closing the tab lets go of Avery's claim (the worker releases what the tab's port held).
    page.close()
    wait_until(lambda: desk.holder(first) is None, timeout=5, what="closing the tab to release the claim")

    # Dana replies to a post Avery has open: the panel says so at once and stops the clock.
    second = dana.claim(QUOTE[2])
    page = open_post(browser, QUOTE[0], QUOTE[1])
    panel = suggest_on(page, page.locator('article[data-testid="tweet"]').first)
    wait_until(lambda: claim_note(panel) == "Dana is replying", timeout=10, what="the second post's holder")
    dana.leave(second)
    answered = desk.call("Dana", "POST", f"/api/queue/{second}/replied", {"reply": "Thanks, we are on it. ^DK"})
    assert answered.status_code == 200, answered.text
    wait_until(lambda: claim_note(panel) == "Dana replied to this post", timeout=5,
               what="the panel saying Dana replied")
    assert panel.locator(".clock").get_attribute("data-state") == "replied"
    assert panel.get_by_role("button", name="Replied by Dana").is_disabled()
    panel.get_by_role("button", name="Insert").click()
    assert "Dana already replied to this post" in claim_note(panel)
    assert page.evaluate("window.__sameDocument") is True
    assert page.errors == []
    page.close()


def test_own_claim_renewed_while_active_lapses_when_idle_released_on_leaving(browser: BrowserSession,
                                                                            desk: Desk) -> None:
    page = open_post(browser, THREAD[0], THREAD[1])
    panel = suggest_on(page, page.locator('article[data-testid="tweet"]').nth(2))
    item = wait_until(lambda: desk.item_for("1851000000000000011"), what="the opened post tracked")
    wait_until(lambda: desk.holder(item["id"]) == "Avery", timeout=5, what="opening the post to claim it")
    assert claim_note(panel) == ""
    first_expiry = desk.item(item["id"])["claim_expires_at"]

    # Active for longer than the idle time: the claim is renewed and holds.
    box = page.locator('article[data-testid="tweet"]').nth(2).bounding_box()
    assert box
    for i in range(int(IDLE * 1.6 / 0.4)):
        page.mouse.move(box["x"] + 10 + i % 20, box["y"] + 10)
        page.wait_for_timeout(400)
    now = desk.item(item["id"])
    assert now["claimed_by"] == "Avery" and now["claim_expires_at"] > first_expiry

    # Idle: no renewals, so the claim lapses on the server; the panel stays open.
    wait_until(lambda: desk.holder(item["id"]) is None, timeout=IDLE * 3, what="the idle agent's claim to lapse")
    assert panel.count() == 1
    # Back at it: the panel claims the post again.
    page.mouse.move(box["x"] + 40, box["y"] + 20)
    wait_until(lambda: desk.holder(item["id"]) == "Avery", timeout=5, what="activity claiming the post again")

    # X navigates in place: the post leaves the page with its panel, and the claim is released.
    page.evaluate("""() => { history.pushState({}, '', '/home');
                             document.querySelectorAll('article').forEach((a) => a.remove()); }""")
    wait_until(lambda: panel.count() == 0, timeout=5, what="the panel closing with its post")
    wait_until(lambda: desk.holder(item["id"]) is None, timeout=5, what="navigating away to release the claim")
    assert page.errors == []
    page.close()


def test_team_server_address_and_its_host_permission(browser: BrowserSession, desk: Desk) -> None:
    sw = browser.service_worker()
    team_url = f"http://{TEAM_HOST}:{desk.proc.port}"
    page = browser.context.new_page()
    page.goto(f"chrome-extension://{browser.extension_id}/options/options.html")
    wait_until(lambda: page.locator("#serverUrl").input_value() == desk.url, what="the options loaded")
    page.evaluate(SPY_PERMISSIONS)
    has = f"chrome.permissions.contains({{origins: ['http://{TEAM_HOST}/*']}})"
    assert page.evaluate(has) is False

    # Plain HTTP to a host that is not this machine: refused, saying why, and nothing saved or asked.
    page.fill("#serverUrl", team_url)
    page.click("#save-conn")
    error = page.locator("#addr-error")
    wait_until(lambda: error.is_visible(), what="the refusal")
    assert "plain HTTP to another machine" in error.inner_text() and "Allow plain HTTP" in error.inner_text()
    assert page.locator("#saved").inner_text() == "Not saved"
    assert sw.evaluate("() => chrome.storage.local.get('serverUrl')")["serverUrl"] == desk.url
    assert page.evaluate("window.__asked") == []

    # Allowed: saved, and that host's permission is asked for, inside the click (the request waits on
    # Chromium's prompt instead of failing for want of a user gesture).
    page.check("#allowPlainHttp")
    page.click("#save-conn")
    wait_until(lambda: sw.evaluate("() => chrome.storage.local.get(null)").get("serverUrl") == team_url,
               what="the team address saved")
    assert error.is_hidden()
    asked = page.evaluate("window.__asked")
    assert [a["query"] for a in asked] == [{"origins": [f"http://{TEAM_HOST}/*"]}]
    page.wait_for_timeout(500)
    assert page.evaluate("window.__asked")[0]["outcome"] == "pending"
    assert page.evaluate(has) is False  # not granted until the agent answers the prompt
    wait_until(lambda: page.locator("#grant").is_visible(), what="the box offering to allow access")
    # The extension now talks to the team server under its own name.
    state = page.locator("#state")
    wait_until(lambda: state.get_attribute("data-state") == "ok", timeout=10, what="connected to the team address")

    # Another loopback address is this machine (no plain-HTTP warning) but not one of the manifest's fixed hosts.
    page.reload()
    wait_until(lambda: page.locator("#serverUrl").input_value() == team_url, what="the options loaded again")
    page.evaluate(SPY_PERMISSIONS)
    page.uncheck("#allowPlainHttp")
    page.fill("#serverUrl", f"http://127.0.0.2:{desk.proc.port}")
    page.click("#save-conn")
    wait_until(lambda: page.evaluate("window.__asked"), what="the permission request for 127.0.0.2")
    assert [a["query"] for a in page.evaluate("window.__asked")] == [{"origins": ["http://127.0.0.2/*"]}]
    assert error.is_hidden()

    # The fixed host needs no asking: granted at install.
    page.reload()
    page.evaluate(SPY_PERMISSIONS)
    page.fill("#serverUrl", desk.url)
    page.click("#save-conn")
    wait_until(lambda: sw.evaluate("() => chrome.storage.local.get('serverUrl')")["serverUrl"] == desk.url,
               what="the local address saved again")
    assert page.evaluate("window.__asked") == []
    assert page.evaluate("chrome.permissions.contains({origins: ['http://127.0.0.1/*']})") is True
    wait_until(lambda: state.get_attribute("data-state") == "ok", timeout=10, what="connected again")
    page.close()


def test_firefox_build_asks_for_the_version_with_optional_host_permissions() -> None:
    """Firefox reads optional_host_permissions from version 128 on: the Firefox zip must not claim less."""
    import json

    manifest = json.loads((EXTENSION_DIR / "manifest.json").read_text(encoding="utf-8"))
    fox = firefox_manifest(manifest)
    assert fox["optional_host_permissions"] == manifest["optional_host_permissions"]
    major = int(fox["browser_specific_settings"]["gecko"]["strict_min_version"].split(".")[0])
    assert major >= 128
