"""The extension on every saved page, with its fast selectors and with the structural fallback alone.

Each saved page (the real ones from other projects' tests and Reply Desk's own) is loaded at its real URL in
Chromium with the unpacked extension and a real server (the default pack: the brand is @AcmeShop / @AcmeBank).
The content script's health line (posts found, read, not readable, the brand's own) must be the same in both
modes; every readable customer post gets a "Suggest reply" control, the brand's own posts and replies none. The
popup shows the health line of the tab, and "Report this page" downloads a skeleton with no text of the page.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from server.app import create_app
from tests.support.browser import FIXTURES, BrowserSession, configure_quietly, launch_chromium, serve_files, wait_until
from tests.support.live import LiveServer, make_config

pytestmark = pytest.mark.browser

# page, its URL, then what the adapters see on it: units found, read, not readable, the brand's own.
PAGES = [
    ("x/x-tweet-sample.html", "https://x.com/TestUser123/status/1981398750557065646", (1, 1, 0, 0)),
    ("x/x-tweet-quote.html", "https://x.com/TestQuoter/status/1983130065320780162", (1, 1, 0, 0)),
    ("x-more/x-tweet-quote-video.html", "https://x.com/QuotingUser/status/1983128852952998358", (1, 1, 0, 0)),
    ("mine/x-thread.html", "https://x.com/tom_h/status/1851000000000000011", (4, 4, 0, 1)),
    ("mine/x-timeline.html", "https://x.com/notifications/mentions", (6, 4, 2, 1)),
    ("mine/x-search.html", "https://x.com/search?q=acmeshop&f=live", (4, 4, 0, 1)),
    ("facebook/timeline.html", "https://www.facebook.com/", (1, 1, 0, 0)),
    ("facebook/sisi-timeline-ad.html", "https://www.facebook.com/", (1, 1, 0, 0)),
    ("facebook/lkw-timeline-ad.html", "https://www.facebook.com/", (1, 1, 0, 0)),
    ("mine/fb-page.html", "https://www.facebook.com/AcmeShop", (6, 6, 0, 2)),
]
MODES = {"fast": {"fast": True, "structural": True}, "structural": {"fast": False, "structural": True}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    srv = LiveServer(create_app(make_config(tmp_path_factory.mktemp("pages-server") / "data"))).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserSession]:
    with launch_chromium(tmp_path_factory.mktemp("pages-browser"), extension=True) as session:
        # No monitoring here: these tests look at what the page shows, not at what gets tracked.
        configure_quietly(session, server)
        yield session


def set_mode(browser: BrowserSession, mode: dict[str, bool]) -> None:
    browser.service_worker().evaluate("m => chrome.storage.local.set({adapters: m})", mode)


def open_page(browser: BrowserSession, url: str, fixture: Path) -> Any:
    page = browser.context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    handler = serve_files({urlsplit(url).path: fixture.read_text(encoding="utf-8")})
    page.route("https://x.com/**", handler)
    page.route("https://www.facebook.com/**", handler)
    page.goto(url)
    page.wait_for_selector("html[data-replydesk=ready]", timeout=20_000)
    return page


def health(page: Any) -> dict[str, Any]:
    raw = page.locator("html").get_attribute("data-replydesk-health")
    return json.loads(raw) if raw else {}


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize(("name", "url", "expected"), PAGES, ids=[p[0] for p in PAGES])
def test_every_saved_page_in_both_modes(browser: BrowserSession, mode: str, name: str, url: str,
                                        expected: tuple[int, int, int, int]) -> None:
    set_mode(browser, MODES[mode])
    page = open_page(browser, url, FIXTURES / name)
    reading = "fast structural" if mode == "fast" else "structural"
    assert page.locator("html").get_attribute("data-replydesk-reading") == reading
    found, read, unreadable, brand = expected
    want = {"found": found, "read": read, "unreadable": unreadable, "brand": brand}
    wait_until(lambda: {k: health(page).get(k) for k in want} == want, timeout=15,
               what=f"the health line of {name} ({mode}): {health(page)}")
    controls = page.locator("replydesk-control")
    wait_until(lambda: controls.count() == read - brand, timeout=10, what="one control per customer post")
    for control in controls.all():
        assert control.get_by_role("button", name="Suggest reply").is_visible()
    assert page.errors == []
    page.close()


def test_no_control_on_the_brands_own_posts_and_replies(browser: BrowserSession) -> None:
    set_mode(browser, MODES["fast"])
    page = open_page(browser, "https://x.com/tom_h/status/1851000000000000011", FIXTURES / "mine" / "x-thread.html")
    wait_until(lambda: page.locator("replydesk-control").count() == 3, what="controls on the customers' tweets")
    brand_reply = page.locator("article", has_text="So sorry Tom!")
    assert brand_reply.locator("replydesk-control").count() == 0
    page.close()
    page = open_page(browser, "https://www.facebook.com/AcmeShop", FIXTURES / "mine" / "fb-page.html")
    wait_until(lambda: page.locator("replydesk-control").count() == 4, what="controls on the customers' comments")
    brand_comment = page.locator('[role="article"]', has_text="we're so sorry about Saturday").last
    assert brand_comment.locator("replydesk-control").count() == 0
    page.close()


@pytest.mark.parametrize("mode", sorted(MODES))
def test_demo_post_with_a_dotted_handle_gets_its_control(browser: BrowserSession, server: LiveServer,
                                                         mode: str) -> None:
    """The demo's most urgent post (a burned hand, a lawyer) has a handle X would not allow: it is read anyway,
    and every other post of the demo is read too, by either reader."""
    set_mode(browser, MODES[mode])
    page = browser.context.new_page()
    page.goto(f"{server.url}/demo")
    page.wait_for_selector("html[data-replydesk=ready]", timeout=20_000)
    lauren = page.locator('[data-demo-site="x"] article', has_text="burned my hand")
    wait_until(lambda: lauren.locator("replydesk-control").count() == 1, what="Suggest reply on Lauren's post")
    h = health(page)
    assert h["unreadable"] == 0 and h["found"] >= 20, h
    assert page.locator("replydesk-control").count() == h["read"] - h["brand"]
    page.close()


def newest_tab(browser: BrowserSession) -> int:
    """The id of the tab opened last (tab ids only grow; the extension has no "tabs" permission to match URLs)."""
    newest = "() => chrome.tabs.query({}).then(t => Math.max(...t.map(x => x.id)))"
    return int(browser.service_worker().evaluate(newest))


def page_texts(page: Any) -> list[str]:
    return page.evaluate("""() => { const out = []; const w = document.createTreeWalker(document.body, 4);
      for (let n = w.nextNode(); n; n = w.nextNode()) if (n.data.trim()) out.push(n.data.trim()); return out; }""")


@pytest.mark.parametrize(("name", "url", "people"), [
    ("x/x-tweet-quote.html", "https://x.com/TestQuoter/status/1983130065320780162",
     ["TestQuoter", "Test Quoter", "OriginalAuthor", "Original Author", "1983130065320780162"]),
    ("mine/fb-page.html", "https://www.facebook.com/AcmeShop",
     ["maria.santos", "Maria Santos", "Kevin O", "linda.wu", "Linda Wu", "55102", "987654321"]),
])
def test_popup_health_line_and_page_report(browser: BrowserSession, name: str, url: str, people: list[str]) -> None:
    set_mode(browser, MODES["fast"])
    page = open_page(browser, url, FIXTURES / name)
    wait_until(lambda: health(page).get("found"), what="the page scanned")
    h = health(page)
    tab = newest_tab(browser)
    popup = browser.context.new_page()
    popup.goto(f"chrome-extension://{browser.extension_id}/popup/popup.html?tab={tab}")
    line = popup.locator("#health-line")
    wait_until(lambda: "found" in line.inner_text(), what="the popup's health line")
    assert line.inner_text().startswith(f"{h['found']} post{'s' if h['found'] != 1 else ''} found · {h['read']} read · "
                                        f"{h['unreadable']} could not be read")
    with popup.expect_download() as info:
        popup.get_by_role("button", name="Report this page").click()
    report_text = Path(info.value.path()).read_text(encoding="utf-8")
    report = json.loads(report_text)
    assert report["kind"] == "replydesk-page-report" and report["health"]["found"] == h["found"]
    assert report["nodes"] > 50 and not report["truncated"]
    # Nothing the page says is in the report: no sentence, no name, no handle, no id.
    lowered = report_text.lower()
    texts = page_texts(page)
    for text in texts:
        if len(text) >= 12 or (" " in text and len(text) >= 8):
            assert text.lower() not in lowered, text
    for who in people:
        assert who.lower() not in lowered, who
    # ...but its structure is: every text's length, the roles and the test ids.
    lengths: list[int] = []

    def walk(node: dict[str, Any]) -> None:
        for child in node.get("c", []):
            if isinstance(child, int):
                lengths.append(child)
            else:
                walk(child)

    walk(report["skeleton"])
    assert sorted(lengths) == sorted(len(t) for t in texts)
    assert re.search(r'"role": ?"article"', report_text)
    assert "saved" in popup.locator("#report-note").inner_text().lower()
    stored = browser.service_worker().evaluate("() => chrome.storage.local.get('reports').then(r => r.reports.length)")
    assert stored >= 1
    popup.close()
    page.close()


def test_dots_follow_the_queue_and_say_their_state(browser: BrowserSession, server: LiveServer) -> None:
    """A post the server says is overdue shows it in words and in its accessible name, live, and opening the post
    does not turn it back to waiting."""
    set_mode(browser, MODES["fast"])
    page = open_page(browser, "https://x.com/search?q=acmeshop&f=live", FIXTURES / "mine" / "x-search.html")
    post = {"platform": "x", "post_id": "1851000000000000009", "url": "https://x.com/ana_lucia/status/1851000000000000009",
            "author": {"handle": "ana_lucia", "name": "Ana Lucía Gómez"},
            "text": "@AcmeShop do you ship to Canada? and how long does it usually take?",
            "created_at": "2020-01-01T00:00:00Z"}
    r = requests.post(f"{server.url}/api/queue", headers=server.headers, json={"post": post}, timeout=10)
    assert r.status_code in (200, 201), r.text
    ana = page.locator("article", has_text="ship to Canada")
    button = ana.get_by_role("button", name="Suggest reply")
    wait_until(lambda: ana.locator("replydesk-control").get_attribute("data-state") == "overdue", timeout=15,
               what="the queue's overdue state on the control")
    assert button.get_attribute("aria-label") == "Suggest reply, overdue"
    assert ana.locator("replydesk-control .state").inner_text() == "Overdue"
    button.click()
    page.wait_for_timeout(500)
    assert ana.locator("replydesk-control").get_attribute("data-state") == "overdue"
    item = r.json()
    requests.post(f"{server.url}/api/queue/{item['id']}/replied", headers=server.headers, json={}, timeout=10)
    wait_until(lambda: ana.locator("replydesk-control").get_attribute("data-state") in ("closed", "replied"),
               timeout=15, what="the reply elsewhere closing the dot")
    page.close()


BLOCKED = "Please calm down. Your card number 4111 1111 1111 1111 is fine. Stupid question."


def open_panel(page: Any, post: Any) -> Any:
    post.get_by_role("button", name="Suggest reply").click()
    panel = page.locator("replydesk-panel")
    reply = panel.get_by_role("textbox", name="Reply")
    wait_until(lambda: reply.input_value().strip() and reply.get_attribute("readonly") is None, timeout=30,
               what="the suggested reply to stream in")
    return panel


def test_block_verdict_turns_insert_into_insert_anyway(browser: BrowserSession) -> None:
    """A draft the tone check blocks is not inserted on the first click: that click shows why. Findings come most
    severe first, each reachable by keyboard, and a long suggested fix is shown whole."""
    set_mode(browser, MODES["fast"])
    page = open_page(browser, "https://x.com/tom_h/status/1851000000000000011", FIXTURES / "mine" / "x-thread.html")
    focal = page.locator("article", has_text="still waiting on that refund")
    panel = open_panel(page, focal)
    reply = panel.get_by_role("textbox", name="Reply")
    reply.fill(BLOCKED)
    insert = panel.locator("button.insert")
    wait_until(lambda: insert.inner_text().strip() == "Insert anyway", timeout=15, what="Insert anyway")
    items = panel.locator(".findings li")
    classes = [c.split()[0] for c in (items.nth(i).get_attribute("class") or "" for i in range(items.count()))]
    assert classes[0] == "sev-block" and "sev-warn" in classes
    assert classes == sorted(classes, key=["sev-block", "sev-warn", "sev-info"].index)
    assert all(items.nth(i).get_attribute("tabindex") == "0" for i in range(items.count()))
    hints = [h for h in panel.locator(".findings .hint").all_inner_texts() if len(h) > 85]
    assert hints, "a suggested fix over 80 characters is shown"
    assert items.first.inner_text().startswith("Block:")

    box = page.locator('[data-testid="tweetTextarea_0"]').first
    insert.click()
    why = panel.locator(".why")
    wait_until(lambda: why.is_visible(), what="the reasons shown")
    assert "Do not send as is" in why.inner_text() and "Insert anyway" in why.inner_text()
    page.wait_for_timeout(300)
    assert BLOCKED not in (box.inner_text() or "")  # the first click inserted nothing
    insert.click()
    wait_until(lambda: "calm down" in (box.inner_text() or ""), what="the second click to insert")
    # Fixing the draft gives Insert back.
    reply.fill("Hi Tom, so sorry for the wait. I've chased the refund now. ^KM")
    wait_until(lambda: insert.inner_text().strip() == "Insert", timeout=15, what="Insert again once fixed")
    assert why.is_hidden()
    page.close()
