"""The console for leads through the app: the pack form, version numbers, export and import, knowledge articles,
packs in the data folder, clock labels and empty charts, and add-supervisor's password rule (through a real tty)."""
from __future__ import annotations

import calendar
import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from server.admin import formedit
from server.admin.charts import bar_chart, humanize
from server.app import create_app
from server.config import REPO_ROOT, Config
from server.packs.store import parse_pack, read_files
from tests.support.admin import PASSWORD, make_admin_app

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class Lead:
    """A signed-in supervisor using the form (as far as the server can tell)."""

    def __init__(self, app) -> None:
        self.app, self.c = app, app.test_client()
        token = CSRF_RE.search(self.c.get("/admin/login").text).group(1)
        assert self.c.post("/admin/login", data={"name": "alice", "password": PASSWORD,
                                                 "csrf_token": token}).status_code == 302
        page = self.c.get("/admin/packs/default").text
        self.csrf = CSRF_RE.search(page).group(1)

    @property
    def live(self):
        return self.app.extensions["replydesk"].packs.get("default", fresh=True)

    def form(self, action: str = "save", **changes: str):
        values = {**formedit.form_values(self.live), **changes}
        return self.c.post("/admin/packs/default/form", data={**values, "csrf_token": self.csrf, "action": action,
                                                              "base": self.live.digest, "note": "per policy"})


@pytest.fixture
def app(tmp_path: Path):
    app = make_admin_app(tmp_path)
    yield app
    app.extensions["replydesk"].close()


def test_form_save_moves_the_version_and_agents_see_it(app) -> None:
    lead = Lead(app)
    assert lead.live.version == "1"
    resp = lead.form(**{"signature.default": "^QA"})
    assert resp.status_code == 302
    assert lead.live.version == "2" and lead.live.data["signature"]["default"] == "^QA"
    api = app.test_client().post("/api/suggest", headers={"Authorization": f"Bearer {app.config['REPLYDESK_TOKEN']}"},
                                 json={"post": {"platform": "x", "text": "My kettle arrived broken!"}})
    assert api.get_json()["pack"] == {"name": "default", "version": "2"} and "^QA" in api.get_json()["reply"]
    latest = app.extensions["replydesk"].admin.history.latest("default")
    assert latest.author == "alice" and latest.note == "per policy" and latest.pack_version == "2"
    assert latest.extra["changes"] == ["Default signature: \u201c^AC\u201d \u2192 \u201c^QA\u201d"]
    page = lead.c.get("/admin/packs/default").text
    assert 'id="live-version">2<' in page


def test_an_invalid_form_is_refused_field_by_field_and_writes_nothing(app) -> None:
    lead = Lead(app)
    before = read_files(app.extensions["replydesk"].config.packs_dir / "default")
    resp = lead.form(**{"tone.banned_phrases": "a\nb\nA", "sla.facebook.default_minutes": "-5"})
    assert resp.status_code == 422
    assert "listed twice" in resp.text and "more than 0" in resp.text and 'aria-invalid="true"' in resp.text
    assert read_files(app.extensions["replydesk"].config.packs_dir / "default") == before
    check = lead.c.post("/admin/packs/default/form/check", headers={"X-CSRF-Token": lead.csrf},
                        data={**formedit.form_values(lead.live), "pack.formality": "rude"})
    assert check.status_code == 200 and check.get_json()["ok"] is False
    assert "Choose one of" in check.get_json()["errors"]["pack.formality"]


def test_export_then_import_as_a_new_pack_and_as_a_new_version(app) -> None:
    lead = Lead(app)
    exported = lead.c.get("/admin/packs/default/export")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    doc = json.loads(exported.data)
    assert doc["format"] == "replydesk-pack" and doc["files"] == lead.live.files
    up = lead.c.post("/admin/packs/import", content_type="multipart/form-data",
                     data={"csrf_token": lead.csrf, "name": "copy",
                           "pack_file": (io.BytesIO(exported.data), "default.replydesk-pack.json")})
    assert up.status_code == 302
    copy = app.extensions["replydesk"].packs.get("copy", fresh=True)
    assert copy.data["pack"]["name"] == "copy" and copy.data["tone"] == lead.live.data["tone"]
    same = lead.c.post("/admin/packs/import", content_type="multipart/form-data",
                       data={"csrf_token": lead.csrf, "pack_file": (io.BytesIO(exported.data), "x.json")})
    assert same.status_code == 302 and lead.live.version == "1"  # the same texts: nothing to save
    doc["files"]["pack.toml"] = doc["files"]["pack.toml"].replace('brand = "AcmeShop"', 'brand = "Imported"')
    again = lead.c.post("/admin/packs/import", content_type="multipart/form-data",
                        data={"csrf_token": lead.csrf, "pack_file": (io.BytesIO(json.dumps(doc).encode()), "x.json")})
    assert again.status_code == 302 and lead.live.version == "2"  # a new version of default, numbered on
    assert lead.live.data["pack"]["brand"] == "Imported"
    assert app.extensions["replydesk"].admin.history.latest("default").action == "import"
    bad = lead.c.post("/admin/packs/import", content_type="multipart/form-data",
                      data={"csrf_token": lead.csrf, "pack_file": (io.BytesIO(b"[1, 2]"), "x.json")})
    assert bad.status_code == 422 and "not a pack file" in bad.text


def test_knowledge_article_rules_and_retire(app) -> None:
    lead = Lead(app)
    base = {"csrf_token": lead.csrf, "base": lead.live.digest, "new": "1", "title": "Gift wrap",
            "keywords": "wrap", "url": "", "body": "We wrap gifts for £3.", "action": "save"}
    for change, words in (({"id": "Bad Id!"}, "lower-case letters"), ({"id": "returns-policy"}, "already has"),
                          ({"title": ""}, "needs a title"), ({"body": " "}, "write the answer"),
                          ({"url": "https://evil.example/x"}, "allowed domains"),
                          ({"keywords": "wrap\nWRAP"}, "listed twice")):
        resp = lead.c.post("/admin/packs/default/knowledge", data={**base, **change})
        assert resp.status_code == 422 and words in resp.text, change
    assert lead.c.post("/admin/packs/default/knowledge", data=base).status_code == 302
    text = lead.live.files["knowledge/gift-wrap.md"]
    assert text.startswith("---\nkeywords: [\"wrap\"]\n---\n# Gift wrap\n")
    assert any(a["id"] == "gift-wrap" for a in lead.live.data["knowledge"])
    resp = lead.c.post("/admin/packs/default/knowledge/gift-wrap/retire",
                       data={"csrf_token": lead.csrf, "base": lead.live.digest})
    assert resp.status_code == 302 and "knowledge/gift-wrap.md" not in lead.live.files
    assert lead.live.version == "3"


def test_packs_default_to_the_data_folder_seeded_from_the_shipped_ones(tmp_path: Path) -> None:
    shipped = read_files(REPO_ROOT / "prompts" / "default")
    cfg = Config.from_env(env={"REPLYDESK_DATA_DIR": str(tmp_path / "data")})
    assert cfg.packs_dir == (tmp_path / "data" / "packs").resolve() and cfg.seed_packs_from is not None
    app = create_app(cfg.with_(testing=True))
    try:
        assert read_files(cfg.packs_dir / "default") == shipped
        lead = Lead(_with_supervisor(app, tmp_path / "data"))
        assert lead.form(**{"pack.brand": "Seeded Shop"}).status_code == 302
        assert "Seeded Shop" in read_files(cfg.packs_dir / "default")["pack.toml"]
        assert read_files(REPO_ROOT / "prompts" / "default") == shipped  # the checkout is never written
    finally:
        app.extensions["replydesk"].close()
    again = create_app(cfg.with_(testing=True))  # a second start keeps the lead's edit
    try:
        assert again.extensions["replydesk"].packs.get("default").data["pack"]["brand"] == "Seeded Shop"
    finally:
        again.extensions["replydesk"].close()
    explicit = Config.from_env(env={"REPLYDESK_DATA_DIR": str(tmp_path / "d2"),
                                    "REPLYDESK_PACKS_DIR": str(tmp_path / "mine")})
    assert explicit.packs_dir == (tmp_path / "mine").resolve() and explicit.seed_packs_from is None


def _with_supervisor(app, data_dir: Path):
    from server.admin.auth import add_supervisor

    add_supervisor(data_dir, "alice", PASSWORD)
    return app


def test_dashboard_says_which_clock_and_empty_charts_say_no_data(app) -> None:
    from server.admin.dashboard import dashboard_view, late_by

    page = Lead(app).c.get("/admin/dashboard").text
    assert "wall clock" in page and "business time" in page
    chart = bar_chart(["11-23"], [{"label": "share", "values": [None], "cls": "s3"}], unit="%", title="Share")
    assert "no data" in chart and "<rect class=\"bar" not in chart
    zero = bar_chart(["11-23"], [{"label": "share", "values": [0.0], "cls": "s3"}], unit="%", title="Share",
                     max_value=100)
    assert ">0%</text>" in zero  # a real 0% is written, not an empty frame
    view = dashboard_view({"overall": {}, "by_day": [{"date": "2026-11-23", "within_target_share": None}],
                           "by_channel": {}})
    assert "no data" in view["share_chart"]
    item = late_by({"deadline": "2026-11-22T08:00:00Z", "seconds_left": -3600.0, "business_hours": True},
                   now=calendar.timegm((2026, 11, 25, 8, 0, 0)))
    assert humanize(item["wall_late"]) == "3d 0h" and humanize(item["business_late"]) == "1h 00m"
    assert [humanize(s) for s in (35, 720, 3900, 9 * 86400 + 4 * 3600)] == ["35s", "12m", "1h 05m", "9d 4h"]


def test_add_supervisor_states_the_password_rule_before_asking(tmp_path: Path) -> None:
    """Through a real terminal, as an operator types it: the rule comes before the first password prompt."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI on the terminal
        os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
        os.chdir(REPO_ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "server", "add-supervisor", "lead",
                                  "--data-dir", str(tmp_path)])
    seen = b""

    def read_until(marker: bytes) -> None:
        nonlocal seen
        deadline = time.monotonic() + 30
        while marker not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    break
        assert marker in seen, seen

    read_until(b"(not shown): ")
    first_prompt = seen.index(b"Password for supervisor")
    assert b"Password rule: at least 8" in seen[:first_prompt]
    os.write(fd, b"short\n")  # refused at once, not after typing it twice
    read_until(b"Nothing stored.")
    assert b"Repeat the password" not in seen
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 2
    os.close(fd)
    r = subprocess.run([sys.executable, "-m", "server", "add-supervisor", "bad name!", "--data-dir", str(tmp_path)],
                       input="", capture_output=True, text=True, cwd=REPO_ROOT, timeout=60,
                       env={**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    assert r.returncode == 2 and "supervisor name" in r.stderr


def test_parse_of_a_saved_form_is_the_pack_the_store_serves(app) -> None:
    lead = Lead(app)
    assert lead.form(**{"sla.x.intent.praise": "90"}).status_code == 302
    on_disk = read_files(app.extensions["replydesk"].config.packs_dir / "default")
    assert parse_pack("default", on_disk).data["sla"]["x"]["intent"]["praise"] == 90
