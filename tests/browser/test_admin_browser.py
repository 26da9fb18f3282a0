"""The supervisor console in real headless Chromium against a real threaded server.

Sign in, break a pack and see the error beside its line, preview and save a good edit, see the agent's next
suggestion change, roll back, lose a race to another supervisor without losing anything, read the dashboard.
Every page is screenshotted to tests/artifacts/admin-*.png.
"""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from server.packs.store import read_files
from tests.support.admin import PASSWORD, example_count, make_admin_app, set_value, signature
from tests.support.browser import headless_chromium
from tests.support.live import LiveServer
from tests.support.paths import ARTIFACTS

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    srv = LiveServer(make_admin_app(tmp_path_factory.mktemp("admin"))).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with headless_chromium() as b:
        yield b


@pytest.fixture
def new_page(browser) -> Iterator:
    contexts = []

    def make():
        ctx = browser.new_context(viewport={"width": 1360, "height": 900})
        ctx.set_default_timeout(TIMEOUT_MS)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=True)


def sign_in(page, server: LiveServer, name: str = "alice", path: str = "/admin/packs") -> None:
    page.goto(server.url + path)
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(path) + "$"))


def packs_dir(server: LiveServer) -> Path:
    return server.app.extensions["replydesk"].config.packs_dir / "default"


def agent_reply(server: LiveServer) -> str:
    resp = requests.post(server.url + "/api/suggest", headers=server.headers, timeout=30,
                         json={"post": {"platform": "x", "post_id": "42", "text": "My kettle arrived broken!",
                                        "author": {"handle": "kate", "name": "Kate Mink"}}})
    assert resp.status_code == 200, resp.text
    return resp.json()["reply"]


def unnumbered(files: dict[str, str]) -> dict[str, str]:
    """The files without [pack].version, which every save moves on."""
    return {k: re.sub(r'^version = ".*"$', "", v, count=1, flags=re.M) for k, v in files.items()}


def open_file(page, fname: str):
    if not page.locator("#panel-toml").is_visible():  # the raw TOML is one click from the form
        page.click("#tab-toml")
    page.click(f".tab[data-file='{fname}']")
    area = page.locator(f"textarea[name='file:{fname}']")
    area.wait_for(state="visible")
    return area


def test_sign_in(server, new_page) -> None:
    page = new_page()
    page.goto(server.url + "/admin/packs")
    page.wait_for_url(re.compile(r"/admin/login"))
    shot(page, "login")
    page.fill("input[name=name]", "alice")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert "Wrong name or password" in page.locator(".flash.error").inner_text()
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/packs$"))  # back to the page asked for
    assert page.locator(".who").inner_text() == "alice"
    assert page.locator("table.table a.strong", has_text="default").is_visible()
    shot(page, "packs")
    # the agents' token opens nothing here
    resp = requests.get(server.url + "/admin/packs", headers=server.headers, allow_redirects=False, timeout=10)
    assert resp.status_code == 302 and "/admin/login" in resp.headers["Location"]


def test_edit_error_preview_save_and_agent_sees_it(server, new_page) -> None:
    before_disk = read_files(packs_dir(server))
    old_sig = signature(before_disk)
    assert old_sig in agent_reply(server)
    page = new_page()
    sign_in(page, server)
    page.click("table.table a.strong:has-text('default')")
    page.wait_for_url(re.compile(r"/admin/packs/default$"))
    page.click("#tab-toml")
    page.locator(".code-editor .gutter .ln").first.wait_for()
    shot(page, "editor")

    broken, fname, line = set_value(before_disk, "channels.x.limit", '"lots"')
    area = open_file(page, fname)
    assert area.input_value() == before_disk[fname]
    area.fill(broken[fname])
    # the live check (fetch with the CSRF header) flags it while typing
    expect(page.locator("#live-status")).to_contain_text("✗", timeout=TIMEOUT_MS)
    page.click("#editor-form button[value=save]")
    error = page.locator("#pack-error")
    error.wait_for()
    assert f"{fname} line {line}" in error.inner_text()
    pane = page.locator(f".file-pane[data-file='{fname}']")
    assert pane.is_visible()
    assert pane.locator(".gutter .ln.err").inner_text() == str(line)
    note = pane.locator(".note")
    assert note.is_visible() and "channels.x.limit" in note.inner_text()
    # the note sits level with the broken line
    ln_box = pane.locator(".gutter .ln.err").bounding_box()
    note_box = note.bounding_box()
    assert ln_box and note_box and abs(note_box["y"] - ln_box["y"]) < 4
    assert page.locator(f"textarea[name='file:{fname}']").input_value() == broken[fname]  # the edit survives
    shot(page, "editor-error")
    assert read_files(packs_dir(server)) == before_disk  # never saved over the live pack

    good, sig_file, _line = set_value(before_disk, "signature.default", '"^QA"')
    if sig_file != fname:  # put the broken file back as it was, then edit the signature's file
        page.locator(f"textarea[name='file:{fname}']").fill(before_disk[fname])
    area = open_file(page, sig_file)
    area.fill(good[sig_file])
    expect(page.locator("#live-status")).to_contain_text("valid", timeout=TIMEOUT_MS)
    page.click("#editor-form details.samples summary")
    page.fill("#raw-samples", "Dana: my toaster arrived with a cracked lid\nwhere is my refund??")
    page.click("#editor-form button[value=preview]")
    page.locator("#preview").wait_for()
    rows = page.locator("#preview tbody tr")
    queued = len(server.app.extensions["replydesk"].queue.listing(None, None, 10, 0)["items"])
    assert rows.count() == example_count(before_disk) + queued + 2  # examples, the real queue, pasted
    assert "my toaster arrived" in page.locator("#preview").inner_text()
    first = rows.nth(0)
    assert old_sig in first.locator("td.live .reply").inner_text()
    assert "^QA" in first.locator("td.edited .reply").inner_text()
    assert first.locator("td.edited .tone-line .badge").inner_text().startswith("tone ")
    assert page.locator(".changed-tag").count() == rows.count()
    shot(page, "preview")
    assert read_files(packs_dir(server)) == before_disk  # preview saves nothing

    page.fill("#raw-note", "Team signature for the new shift")
    page.click("#editor-form button[value=save]")
    page.locator(".flash.ok").wait_for()
    assert "is live for agents now" in page.locator(".flash.ok").inner_text()
    assert page.locator(f"textarea[name='file:{sig_file}']").is_visible()  # still on the file just edited
    shot(page, "saved")
    assert unnumbered(read_files(packs_dir(server))) == unnumbered(good)
    reply = agent_reply(server)  # no restart: the agent's very next suggestion uses the new pack
    assert "^QA" in reply and old_sig not in reply


def test_history_diff_and_one_click_rollback(server, new_page) -> None:
    page = new_page()
    sign_in(page, server, path="/admin/packs/default")
    before = read_files(packs_dir(server))
    changed, fname, _line = set_value(before, "signature.default", '"^RB"')
    area = open_file(page, fname)
    assert area.input_value() == before[fname]
    area.fill(changed[fname])
    page.fill("#raw-note", "trying a new signature")
    page.click("#editor-form button[value=save]")
    page.locator(".flash.ok").wait_for()
    assert "^RB" in agent_reply(server)

    page.click("text=History & rollback")
    page.wait_for_url(re.compile(r"/history$"))
    rows = page.locator("table.history tbody tr")
    assert rows.count() >= 2
    assert "trying a new signature" in rows.nth(0).inner_text() and "alice" in rows.nth(0).inner_text()
    shot(page, "history")
    rows.nth(1).locator("a", has_text="Diff with live").click()
    page.wait_for_url(re.compile(r"/diff\?"))
    assert page.locator("tr.d-add", has_text='"^RB"').count() == 1
    assert "Default signature" in page.locator("#field-changes").inner_text()  # and by field, for people
    assert page.locator("tr.d-del").count() >= 1
    shot(page, "diff")
    page.go_back()
    page.locator("table.history tbody tr").nth(1).locator("button", has_text="Roll back to this").click()
    page.locator(".flash.ok").wait_for()
    assert "Rolled back" in page.locator(".flash.ok").inner_text()
    assert page.locator("table.history tbody tr").nth(0).locator(".tag").inner_text() == "rollback"
    assert unnumbered(read_files(packs_dir(server))) == unnumbered(before)  # old content, new number
    reply = agent_reply(server)
    assert "^RB" not in reply


def test_two_supervisors_cannot_overwrite_each_other(server, new_page) -> None:
    alice, bob = new_page(), new_page()
    sign_in(alice, server, "alice", "/admin/packs/default")
    sign_in(bob, server, "bob", "/admin/packs/default")
    start = read_files(packs_dir(server))
    alices, a_file, _ = set_value(start, "pack.brand", '"AcmeShop Care"')
    bobs, b_file, _ = set_value(start, "tone.min_score", "75")
    a_area, b_area = open_file(alice, a_file), open_file(bob, b_file)
    assert a_area.input_value() == start[a_file] and b_area.input_value() == start[b_file]
    a_area.fill(alices[a_file])
    alice.click("#editor-form button[value=save]")
    alice.locator(".flash.ok").wait_for()
    b_area.fill(bobs[b_file])
    bob.click("#editor-form button[value=save]")
    conflict = bob.locator("#conflict")
    conflict.wait_for()
    assert "changed since you opened it" in conflict.inner_text() and "alice" in conflict.inner_text()
    theirs = bob.locator("section.card").nth(0)
    assert theirs.locator("tr.d-add", has_text='"AcmeShop Care"').count() == 1
    yours = bob.locator("section.card").nth(1)
    assert "min_score = 75" in yours.inner_text()
    shot(bob, "conflict")
    assert unnumbered(read_files(packs_dir(server))) == unnumbered(alices)  # alice's save stands


def test_dashboard(server, new_page) -> None:
    now = datetime.now(UTC)
    api = requests.Session()
    api.headers.update(server.headers)
    seeds = [("x", 25, True), ("x", 60 * 24 + 40, True), ("facebook", 60 * 48 + 90, True),
             ("facebook", 60 * 72 + 200, True), ("x", 60 * 30, False), ("facebook", 60 * 34, False)]
    # The open two are late at any hour: 30 h always hold more business time (pack hours) than either target.
    for i, (platform, minutes_ago, replied) in enumerate(seeds):
        post = {"platform": platform, "post_id": f"dash-{i}", "url": f"https://x.com/c{i}/status/{1000 + i}",
                "text": f"Still waiting on my order #{4410 + i}, nobody answers!",
                "author": {"handle": f"cust{i}", "name": f"Customer {i}"},
                "created_at": (now - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        resp = api.post(server.url + "/api/queue", json={"post": post}, timeout=10)
        assert resp.status_code in (200, 201), resp.text
        if replied:
            assert api.post(f"{server.url}/api/queue/{resp.json()['id']}/replied", json={}, timeout=10).ok
    deadline = time.monotonic() + 20  # the scheduler marks the old open posts overdue
    while time.monotonic() < deadline:
        items = api.get(server.url + "/api/queue?state=overdue", timeout=10).json()["items"]
        if len(items) >= 2:
            break
        time.sleep(0.1)
    page = new_page()
    sign_in(page, server, path="/admin/dashboard")
    assert page.locator("svg.chart").count() == 3
    assert page.locator("#kpi-median").inner_text() not in ("", "–")
    assert page.locator("#kpi-overdue").inner_text() == "2"
    overdue = page.locator("#overdue tbody tr")
    assert overdue.count() == 2
    assert "Still waiting on my order" in overdue.first.inner_text()
    assert page.locator("svg.chart rect.bar").count() > 4
    shot(page, "dashboard")

