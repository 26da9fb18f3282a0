"""The supervisor console through Flask's test client: sign-in, CSRF, saves, conflicts, history, preview, CLI.

Each test works on its own copy of the repository's packs, so saves never touch `prompts/`.
"""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from markupsafe import escape

from server.admin.auth import load_users, verify
from server.app import create_app
from server.config import REPO_ROOT
from server.packs.store import parse_pack, read_files
from tests.support.admin import PASSWORD, example_count, make_admin_app, set_value, signature
from tests.support.live import make_config


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "page has no CSRF field"
    return m.group(1)


def field(html: str, name: str) -> str:
    m = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert m, f"no field {name}"
    return m.group(1)


class Console:
    """A signed-in supervisor's browser, as far as the server can tell."""

    def __init__(self, app, name: str | None = "alice") -> None:
        self.app, self.c = app, app.test_client()
        if name:
            resp = self.login(name, PASSWORD)
            assert resp.status_code == 302, resp.text

    def login(self, name: str, password: str):
        token = csrf_of(self.c.get("/admin/login").text)
        return self.c.post("/admin/login", data={"name": name, "password": password, "csrf_token": token})

    def open(self, pack: str = "default") -> tuple[str, str, str]:
        resp = self.c.get(f"/admin/packs/{pack}")
        assert resp.status_code == 200
        return resp.text, csrf_of(resp.text), field(resp.text, "base")

    def submit(self, files: dict[str, str], action: str, base: str, token: str, pack: str = "default", **extra):
        data = {f"file:{k}": v for k, v in files.items()}
        return self.c.post(f"/admin/packs/{pack}", data={**data, "action": action, "base": base,
                                                          "csrf_token": token, **extra})


@pytest.fixture
def admin_app(tmp_path: Path):
    app = make_admin_app(tmp_path)
    yield app
    stop = app.extensions["replydesk"].close
    if stop:
        stop()


def live_files(app, pack: str = "default") -> dict[str, str]:
    return read_files(app.extensions["replydesk"].config.packs_dir / pack)


def numbered(files: dict[str, str], version: str) -> dict[str, str]:
    """The files as saved: every save moves [pack].version on (only that line differs)."""
    return {**files, "pack.toml": re.sub(r'^version = ".*"$', f'version = "{version}"', files["pack.toml"],
                                         count=1, flags=re.M)}


def live_version(app, pack: str = "default") -> str:
    return app.extensions["replydesk"].packs.get(pack, fresh=True).version



def suggest_reply(app) -> str:
    c = app.test_client()
    resp = c.post("/api/suggest", headers={"Authorization": f"Bearer {app.config['REPLYDESK_TOKEN']}"},
                  json={"post": {"platform": "x", "post_id": "1", "text": "My kettle arrived broken!",
                                 "author": {"handle": "kate", "name": "Kate Mink"}}})
    assert resp.status_code == 200, resp.text
    return resp.get_json()["reply"]


# ---- sign-in and protection -----------------------------------------------------------------------------------------

def test_pages_need_a_supervisor_and_the_agent_token_is_not_one(admin_app) -> None:
    c = admin_app.test_client()
    bearer = {"Authorization": f"Bearer {admin_app.config['REPLYDESK_TOKEN']}"}
    for path in ("/admin/", "/admin/dashboard", "/admin/packs", "/admin/packs/default",
                 "/admin/packs/default/history"):
        resp = c.get(path, headers=bearer)
        assert resp.status_code == 302 and "/admin/login" in resp.headers["Location"], path
    # a POST with the token but no session: refused before anything is read
    files = live_files(admin_app)
    resp = c.post("/admin/packs/default", headers=bearer,
                  data={**{f"file:{k}": v for k, v in set_value(files, "signature.default", '"^ZZ"')[0].items()},
                        "action": "save"})
    assert resp.status_code == 400
    assert live_files(admin_app) == files


def test_agents_have_no_way_to_write_packs(admin_app) -> None:
    c = admin_app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {admin_app.config['REPLYDESK_TOKEN']}"
    for method in ("put", "post", "patch", "delete"):
        resp = getattr(c, method)("/api/packs/default", json={"files": {"pack.toml": ""}})
        assert resp.status_code in (404, 405), method
    assert c.get("/api/packs/default").status_code == 200


def test_login_sets_a_strict_httponly_cookie_and_wrong_password_fails(admin_app) -> None:
    con = Console(admin_app, name=None)
    bad = con.login("alice", "nope nope nope")
    assert bad.status_code == 401 and "Wrong name or password" in bad.text
    assert con.c.get("/admin/packs").status_code == 302
    unknown = con.login("mallory", PASSWORD)
    assert unknown.status_code == 401
    ok = con.login("alice", PASSWORD)
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/admin/dashboard")
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert PASSWORD not in cookie
    page = con.c.get("/admin/packs")
    assert page.status_code == 200 and "alice" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_session_token_changes_at_login(admin_app) -> None:
    con = Console(admin_app, name=None)
    before = csrf_of(con.c.get("/admin/login").text)
    con.login("alice", PASSWORD)
    after = csrf_of(con.c.get("/admin/packs").text)
    assert before != after


def test_every_post_needs_the_csrf_token(admin_app) -> None:
    con = Console(admin_app)
    _html, token, base = con.open()
    files = live_files(admin_app)
    changed = set_value(files, "signature.default", '"^ZZ"')[0]
    data = {**{f"file:{k}": v for k, v in changed.items()}, "action": "save", "base": base}
    assert con.c.post("/admin/packs/default", data=data).status_code == 400
    assert con.c.post("/admin/packs/default", data={**data, "csrf_token": "forged"}).status_code == 400
    assert con.c.post("/admin/packs/default/check", json={"files": changed}).status_code == 400
    assert con.c.post("/admin/logout").status_code == 400
    assert live_files(admin_app) == files
    # the login form too (login CSRF)
    fresh = admin_app.test_client()
    assert fresh.post("/admin/login", data={"name": "alice", "password": PASSWORD}).status_code == 400
    # and with it, the same request works
    ok = con.c.post("/admin/packs/default/check", json={"files": changed}, headers={"X-CSRF-Token": token})
    assert ok.status_code == 200 and ok.get_json() == {"ok": True, "error": None}


def test_cross_site_form_posts_are_refused(admin_app) -> None:
    con = Console(admin_app)
    _html, token, base = con.open()
    resp = con.c.post("/admin/logout", data={"csrf_token": token}, headers={"Origin": "https://evil.example"})
    assert resp.status_code == 403
    assert con.c.get("/admin/packs").status_code == 200  # still signed in


def test_login_is_rate_limited(admin_app) -> None:
    con = Console(admin_app, name=None)
    for _ in range(5):
        assert con.login("alice", "wrong password").status_code == 401
    blocked = con.login("alice", PASSWORD)
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
    assert con.c.get("/admin/packs").status_code == 302
    # another supervisor is not locked out by alice's failures
    assert con.login("bob", PASSWORD).status_code == 302


def test_next_only_stays_inside_the_console(admin_app) -> None:
    con = Console(admin_app, name=None)
    token = csrf_of(con.c.get("/admin/login?next=//evil.example/x").text)
    resp = con.c.post("/admin/login", data={"name": "alice", "password": PASSWORD, "csrf_token": token,
                                            "next": "//evil.example/x"})
    assert resp.headers["Location"].endswith("/admin/dashboard")
    con2 = Console(admin_app, name=None)
    token = csrf_of(con2.c.get("/admin/login").text)
    resp = con2.c.post("/admin/login", data={"name": "alice", "password": PASSWORD, "csrf_token": token,
                                             "next": "/admin/packs/default/history"})
    assert resp.headers["Location"].endswith("/admin/packs/default/history")


def test_logout_ends_the_session(admin_app) -> None:
    con = Console(admin_app)
    token = csrf_of(con.c.get("/admin/packs").text)
    assert con.c.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    assert con.c.get("/admin/packs").status_code == 302


# ---- editing --------------------------------------------------------------------------------------------------------

def test_invalid_save_shows_file_line_and_never_reaches_disk(admin_app) -> None:
    con = Console(admin_app)
    _html, token, base = con.open()
    files = live_files(admin_app)
    broken, fname, line = set_value(files, "channels.x.limit", '"lots"')
    resp = con.submit(broken, "save", base, token)
    assert resp.status_code == 422
    assert f"{fname} line {line}" in resp.text and "channels.x.limit" in resp.text
    assert f'data-error-line="{line}"' in resp.text  # the editor marks that line
    assert "&#39;lots&#39; is not of type" in resp.text  # escaped, and the edit is kept for fixing
    assert live_files(admin_app) == files
    syntax = con.submit({**files, fname: files[fname] + "\n[unclosed\n"}, "save", base, token)
    assert syntax.status_code == 422 and "TOML syntax error" in syntax.text
    assert live_files(admin_app) == files
    hist = con.c.get("/admin/packs/default/history").text
    assert hist.count("data-version=") == 1  # only the original


def test_check_and_preview_save_nothing(admin_app) -> None:
    con = Console(admin_app)
    _html, token, base = con.open()
    files = live_files(admin_app)
    old_sig = signature(files)
    changed = set_value(files, "signature.default", '"^QA"')[0]
    ok = con.submit(changed, "check", base, token)
    assert ok.status_code == 200 and "The pack is valid" in ok.text
    prev = con.submit(changed, "preview", base, token, samples="Dana: my toaster caught fire!!\nwhere is my order",
                      sample_platform="facebook")
    assert prev.status_code == 200
    assert "Preview of your unsaved edits" in prev.text
    assert "my toaster caught fire!!" in prev.text and "where is my order" in prev.text
    examples = parse_pack("default", files).data["llm"]["examples"]
    assert examples and all(str(escape(ex["post"])) in prev.text for ex in examples)  # the pack's own examples
    assert prev.text.count("changed-tag") == len(examples) + 2  # every reply now carries the new signature
    assert "^QA" in prev.text and old_sig in prev.text
    assert "tone ok" in prev.text or "tone warn" in prev.text or "tone block" in prev.text
    assert live_files(admin_app) == files


def test_preview_uses_the_engine_agents_get(tmp_path: Path) -> None:
    from tests.support.fake_llm import FakeLLM

    with FakeLLM() as llm:
        app = make_admin_app(tmp_path, llm_base_url=llm.url, llm_model="fake-model", llm_timeout=10)
        try:
            assert app.extensions["replydesk"].llm is not None
            con = Console(app)
            _html, token, base = con.open()
            files = live_files(app)
            live_brand = parse_pack("default", files).data["pack"]["brand"]
            changed = set_value(files, "pack.brand", '"Zed Care"')[0]
            resp = con.submit(changed, "preview", base, token, samples="my kettle arrived broken")
            assert resp.status_code == 200
            rows = example_count(files) + 1
            prompts = [json.dumps(r["body"].get("messages", "")) for r in llm.requests]
            assert len(prompts) >= 2 * rows
            assert sum("Zed Care" in p for p in prompts) >= rows  # the unsaved pack went to the model
            assert sum(live_brand in p and "Zed Care" not in p for p in prompts) >= rows  # and the live one
            assert resp.text.count("openai") >= 2 * rows
            assert live_files(app) == files
        finally:
            app.extensions["replydesk"].close()


def test_valid_save_goes_live_at_once_and_is_recorded(admin_app) -> None:
    files = live_files(admin_app)
    old_sig = signature(files)
    assert old_sig in suggest_reply(admin_app)
    con = Console(admin_app)
    _html, token, base = con.open()
    changed = set_value(files, "signature.default", '"^QA"')[0]
    resp = con.submit({k: v.replace("\n", "\r\n") for k, v in changed.items()}, "save", base, token,
                      note="new team signature")
    assert resp.status_code == 302
    assert live_files(admin_app) == numbered(changed, "2")  # CRLF from the browser stored as LF; version moved
    page = con.c.get(resp.headers["Location"]).text
    assert "version 2 is live for agents now" in page and "Default signature: " in page  # changed, by field
    reply = suggest_reply(admin_app)
    assert "^QA" in reply and old_sig not in reply
    versions = admin_app.extensions["replydesk"].admin.history.versions("default")
    assert [v.author for v in versions] == ["alice", "(original files)"]
    assert versions[0].note == "new team signature" and versions[0].files == numbered(changed, "2")
    assert versions[0].pack_version == "2" and versions[1].pack_version == "1"
    assert versions[1].files == files
    packs = con.c.get("/admin/packs").text
    assert "alice" in packs and "live" in packs


def test_second_save_from_an_old_version_is_told_and_shown_the_diff(admin_app) -> None:
    alice, bob = Console(admin_app, "alice"), Console(admin_app, "bob")
    _h, a_token, a_base = alice.open()
    _h, b_token, b_base = bob.open()
    assert a_base == b_base
    files = live_files(admin_app)
    mine = set_value(files, "pack.brand", '"Acme Alice"')[0]
    theirs = set_value(files, "tone.min_score", "70")[0]
    assert alice.submit(mine, "save", a_base, a_token).status_code == 302
    resp = bob.submit(theirs, "save", b_base, b_token)
    assert resp.status_code == 409
    assert "the pack changed since you opened it" in resp.text and "alice saved" in resp.text
    assert "brand = &#34;Acme Alice&#34;" in resp.text  # what alice changed, in the diff
    assert "min_score = 70" in resp.text  # and bob's own edit
    assert live_files(admin_app) == numbered(mine, "2")
    # bob reviews his edit against the live version, then saves on top of it knowingly
    review_base = field(resp.text.split('id="conflict"')[1], "base")
    merged = set_value(numbered(mine, "2"), "tone.min_score", "70")[0]
    assert bob.submit(merged, "save", review_base, b_token).status_code == 302
    assert live_files(admin_app) == numbered(merged, "3")


def test_history_diff_and_rollback(admin_app) -> None:
    con = Console(admin_app)
    _html, token, base = con.open()
    files = live_files(admin_app)
    old_sig = signature(files)
    v2 = set_value(files, "signature.default", '"^QA"')[0]
    assert con.submit(v2, "save", base, token).status_code == 302
    hist = con.c.get("/admin/packs/default/history").text
    ids = re.findall(r'data-version="([^"]+)"', hist)
    assert len(ids) == 2
    original = ids[1]
    diff = con.c.get(f"/admin/packs/default/diff?a={original}&b=live").text
    assert "d-del" in diff and "d-add" in diff and "^QA" in diff and old_sig in diff
    swapped = con.c.get(f"/admin/packs/default/diff?a={ids[0]}&b={original}").text
    # shown old -> new whichever way round
    assert swapped.index(f'default = &#34;{old_sig}') < swapped.index('default = &#34;^QA')
    assert con.c.get("/admin/packs/default/diff?a=../../etc&b=live").status_code == 404
    live_digest = field(hist, "base")
    resp = con.c.post("/admin/packs/default/rollback", data={"csrf_token": token, "version": original,
                                                             "base": live_digest})
    assert resp.status_code == 302
    assert live_files(admin_app) == numbered(files, "3")  # the old content, as a new version number
    assert old_sig in suggest_reply(admin_app)
    versions = admin_app.extensions["replydesk"].admin.history.versions("default")
    assert versions[0].action == "rollback" and versions[0].author == "alice" and len(versions) == 3
    assert "Rolled back to the version saved by (original files)" in versions[0].note
    # a rollback from a page that is out of date is refused like any stale save
    stale = con.c.post("/admin/packs/default/rollback", data={"csrf_token": token, "version": ids[0],
                                                              "base": live_digest})
    assert stale.status_code == 409
    assert live_files(admin_app) == numbered(files, "3")


def test_a_pack_larger_than_the_api_body_limit_still_saves(admin_app) -> None:
    con = Console(admin_app)
    _html, token, base = con.open()
    files = live_files(admin_app)
    big = {**files, "pack.toml": files["pack.toml"] + "".join(f"# note {i}: {'x' * 90}\n" for i in range(900))}
    resp = con.submit(big, "save", base, token)
    assert resp.status_code == 302, resp.text[:300]
    assert live_files(admin_app) == numbered(big, "2")
    assert len(big["pack.toml"]) > 80_000


def test_unknown_pack_and_version(admin_app) -> None:
    con = Console(admin_app)
    missing = con.c.get("/admin/packs/nope")
    assert missing.status_code == 404 and "no such pack" in missing.text
    assert con.c.get("/admin/packs/..%2F..").status_code == 404
    token = csrf_of(con.c.get("/admin/packs").text)
    resp = con.c.post("/admin/packs/default/rollback", data={"csrf_token": token, "version": "x", "base": "y"})
    assert resp.status_code == 404


def test_edit_on_disk_is_recorded_as_external(admin_app) -> None:
    con = Console(admin_app)
    con.open()
    folder = admin_app.extensions["replydesk"].config.packs_dir / "default"
    changed, fname, _line = set_value(live_files(admin_app), "pack.brand", '"Disk"')
    (folder / fname).write_text(changed[fname])
    os.utime(folder / fname, ns=(1, 1))  # a different stamp even within one clock tick
    hist = con.c.get("/admin/packs/default/history").text
    assert "Changed outside the console" in hist and hist.count("data-version=") == 2


# ---- dashboard ------------------------------------------------------------------------------------------------------

def test_dashboard_without_data(admin_app) -> None:
    con = Console(admin_app)
    resp = con.c.get("/admin/dashboard")
    assert resp.status_code == 200 and "Response times" in resp.text
    assert "Nothing is overdue" in resp.text


def test_dashboard_charts_and_overdue_list(admin_app) -> None:
    from datetime import UTC, datetime, timedelta

    api = admin_app.test_client()
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {admin_app.config['REPLYDESK_TOKEN']}"
    now = datetime.now(UTC)  # the open post is 30 h old: overdue at any hour despite the pack's business hours
    for i, (platform, minutes_ago, reply) in enumerate([("x", 20, True), ("x", 60 * 26, True),
                                                        ("facebook", 60 * 50, True), ("x", 60 * 30, False)]):
        post = {"platform": platform, "post_id": f"p{i}", "text": f"where is my order {i}?",
                "url": f"https://x.com/u/status/{i}", "author": {"handle": f"user{i}", "name": f"User {i}"},
                "created_at": (now - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        item = api.post("/api/queue", json={"post": post}).get_json()
        if reply:
            assert api.post(f"/api/queue/{item['id']}/replied", json={}).status_code == 200
    con = Console(admin_app)
    page = con.c.get("/admin/dashboard").text
    assert page.count('<svg class="chart"') == 3
    assert 'id="kpi-median"' in page and "where is my order 3?" in page
    assert 'href="https://x.com/u/status/3"' in page


def test_dashboard_view_builds_charts_from_stats() -> None:
    from server.admin.dashboard import dashboard_view

    stats = {"overall": {"count": 3, "answered": 2, "median_seconds": 600, "p90_seconds": 5400,
                         "within_target_share": 0.5},
             "by_channel": {"x": {"median_seconds": 600, "p90_seconds": 900, "within_target_share": 1.0},
                            "facebook": {"median_seconds": None, "p90_seconds": None, "within_target_share": None}},
             "by_day": [{"date": "2026-11-23", "median_seconds": 60, "p90_seconds": 120, "within_target_share": 1},
                        {"date": "2026-11-24", "median_seconds": 3600, "p90_seconds": 7200,
                         "within_target_share": 0.25}],
             "overdue_now": 1}
    view = dashboard_view(stats)
    assert "11-23" in view["day_chart"] and "<title>11-24: median 60m</title>" in view["day_chart"]
    assert "25%" not in view["day_chart"] and "<title>11-24: share within target 25%</title>" in view["share_chart"]
    assert "facebook" in view["channel_chart"] and "no data" in view["meters"]["facebook"]
    assert "100% within target" in view["meters"]["x"]
    hostile = dashboard_view({"by_day": [{"date": "<script>", "median_seconds": 1}], "by_channel": {}})
    assert "<script>" not in hostile["day_chart"]


# ---- CLI and secrets ------------------------------------------------------------------------------------------------

def run_cli(*args: str, stdin: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    return subprocess.run([sys.executable, "-m", "server", *args, "--data-dir", str(data_dir)], input=stdin,
                          capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=60)


def test_add_supervisor_command_stores_a_hash_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = run_cli("add-supervisor", "carol", stdin="a long secret pw\n", data_dir=data)
    assert done.returncode == 0, done.stderr
    assert "Supervisor added carol" in done.stdout
    path = data / "supervisors.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "a long secret pw" not in path.read_text()
    assert verify(data, "carol", "a long secret pw") and not verify(data, "carol", "wrong")
    again = run_cli("add-supervisor", "carol", stdin="another password\n", data_dir=data)
    assert again.returncode == 0 and "password changed" in again.stdout
    assert verify(data, "carol", "another password") and not verify(data, "carol", "a long secret pw")
    short = run_cli("add-supervisor", "dave", stdin="short\n", data_dir=data)
    assert short.returncode == 2 and "at least 8" in short.stderr
    bad_name = run_cli("add-supervisor", "../x", stdin="long enough pw\n", data_dir=data)
    assert bad_name.returncode == 2
    assert set(load_users(data)) == {"carol"}


def test_session_secret_is_private_and_stable(tmp_path: Path) -> None:
    app = make_admin_app(tmp_path)
    try:
        secret_file = tmp_path / "data" / "admin-session-secret"
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        assert app.secret_key == secret_file.read_text().strip() and len(app.secret_key) >= 40
        # a restarted server keeps sessions valid
        again = create_app(make_config(tmp_path / "data", packs_dir=tmp_path / "prompts"))
        assert again.secret_key == app.secret_key
        stop = again.extensions["replydesk"].close
        if stop:
            stop()
    finally:
        stop = app.extensions["replydesk"].close
        if stop:
            stop()
