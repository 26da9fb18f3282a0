"""The queue view (the extension's side panel): every tracked post by priority with its clock, keyboard-first.

A real server holds three posts of different severities; the side panel's page (the same page Chromium shows in
its side panel and Firefox in its sidebar) must list them in the server's priority order, move with j/k and the
arrows, mark one replied with r, and with s open a post on its site (a saved page at its real URL) with the reply
panel open, then i inserts that panel's reply.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from server.app import create_app
from tests.support.browser import FIXTURES, BrowserSession, configure_quietly, launch_chromium, serve_files, wait_until
from tests.support.live import LiveServer, make_config

pytestmark = pytest.mark.browser

SAVED = (FIXTURES / "mine" / "x-search.html").read_text(encoding="utf-8")
POSTS = [
    {"platform": "x", "post_id": "1851000000000000009", "url": "https://x.com/ana_lucia/status/1851000000000000009",
     "author": {"handle": "ana_lucia", "name": "Ana Lucía Gómez"},
     "text": "@AcmeShop do you ship to Canada? and how long does it usually take?"},
    {"platform": "x", "post_id": "1999000000000000101", "url": "https://x.com/kettle_k/status/1999000000000000101",
     "author": {"handle": "kettle_k", "name": "Kim Kettle"},
     "text": "@AcmeShop the kettle I bought sparked and burned my hand, I'm calling my lawyer"},
    {"platform": "x", "post_id": "1999000000000000102", "url": "https://x.com/happy_h/status/1999000000000000102",
     "author": {"handle": "happy_h", "name": "Hal Happy"}, "text": "@AcmeShop thanks, the mixer is lovely"},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    srv = LiveServer(create_app(make_config(tmp_path_factory.mktemp("queue-view-server") / "data"))).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserSession]:
    with launch_chromium(tmp_path_factory.mktemp("queue-view-browser"), extension=True) as session:
        configure_quietly(session, server)
        yield session


def on_site(page: Any) -> Any:
    """A tab the extension opened: Playwright's routes may attach after its first load, so the saved page is
    served to it from the tab's own route, and a failed first load is loaded again."""
    page.route("https://x.com/**", serve_files({"/ana_lucia/status/1851000000000000009": SAVED}))
    page.wait_for_load_state()
    if not page.url.startswith("https://x.com/"):
        page.reload()
    page.wait_for_selector("html[data-replydesk=ready]", timeout=20_000)
    return page


def server_queue(server: LiveServer) -> list[dict[str, Any]]:
    resp = requests.get(f"{server.url}/api/queue", headers=server.headers, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def test_queue_view_by_priority_and_keyboard_first(browser: BrowserSession, server: LiveServer) -> None:
    for post in POSTS:
        r = requests.post(f"{server.url}/api/queue", headers=server.headers, json={"post": post}, timeout=10)
        assert r.status_code in (200, 201), r.text
    order = [it["post_id"] for it in server_queue(server)]
    assert order[0] == "1999000000000000101"  # the burned hand and the lawyer come first

    view = browser.context.new_page()
    view.goto(f"chrome-extension://{browser.extension_id}/sidepanel/sidepanel.html")
    rows = view.locator("#items button")
    wait_until(lambda: rows.count() == len(POSTS), what="every tracked post in the queue view")
    assert [rows.nth(i).get_attribute("data-id") for i in range(rows.count())] == [
        str(it["id"]) for it in server_queue(server)]
    assert "Kim Kettle" in rows.first.inner_text()
    label = rows.first.get_attribute("aria-label") or ""
    assert "Kim Kettle" in label and ("left" in label or "overdue" in label)  # the clock, in words

    # Keyboard: j moves down, k back up; r marks the selected post (Hal's) replied on the server.
    wait_until(lambda: view.evaluate("() => document.activeElement?.dataset?.id") == rows.first.get_attribute(
        "data-id"), what="the first post selected")
    hal = next(i for i in range(rows.count()) if "Hal Happy" in rows.nth(i).inner_text())
    for _ in range(hal):
        view.keyboard.press("j")
    view.keyboard.press("ArrowDown")  # past the end: stays on the last
    view.keyboard.press("k")
    view.keyboard.press("ArrowDown") if hal == rows.count() - 1 else view.keyboard.press("j")
    if hal < rows.count() - 1:
        view.keyboard.press("k")
    assert rows.nth(hal).get_attribute("aria-current") == "true"
    hal_id = rows.nth(hal).get_attribute("data-id")
    view.keyboard.press("r")
    wait_until(lambda: all(str(it["id"]) != hal_id for it in server_queue(server)), what="r to mark it replied")
    wait_until(lambda: rows.count() == len(POSTS) - 1, what="the replied post gone from the view")

    # s opens Ana's post on X with its reply panel; i inserts that panel's reply.
    ana = next(i for i in range(rows.count()) if "Ana" in rows.nth(i).inner_text())
    with browser.context.expect_page() as clicked:
        rows.nth(ana).click()  # one click opens it on its site (and selects it)
    assert "ana_lucia/status/1851000000000000009" in on_site(clicked.value).url
    clicked.value.close()
    view.bring_to_front()
    rows.nth(ana).focus()
    with browser.context.expect_page() as opened:
        view.keyboard.press("s")
    site = on_site(opened.value)
    panel = site.locator("replydesk-panel")
    wait_until(lambda: panel.count() == 1, timeout=20, what="the reply panel open on the site")
    assert "Ana" in panel.locator(".name").inner_text()
    wait_until(lambda: "panel open" in view.locator("#note").inner_text(), what="the view saying so")
    view.keyboard.press("i")
    wait_until(lambda: "No reply panel" not in view.locator("#note").inner_text()
               and "Inserted" in view.locator("#note").inner_text()
               or panel.locator(".error").is_visible(), what="i to insert the panel's reply")
    view.close()
