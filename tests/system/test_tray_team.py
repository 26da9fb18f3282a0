"""The real tray against a team server (issue 16): an agent's own token, the server's address, and "Dana is
replying" when another agent holds the most urgent post.

A real `python -m server run` on SQLite with two agents made by `python -m server add-agent` (agents and claims
work on SQLite too), the real tray (gtk backend, its own venv) under Xvfb with trayer and a notification daemon.
What the tray says is read where the desktop reads it: the icon's title (GTK hands it to the tray host and
accessibility tools; the app sets the hover tooltip to the same words), and the notifications that reached the
session bus. Claims lapse after a few seconds here (REPLYDESK_CLAIM_IDLE_SECONDS), so the test can watch one lapse:
the server sends no event for that, the tray has to notice by itself.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.support.desktop import VirtualDesktop
from tests.support.packs import short_sla_packs
from tests.support.paths import REPO
from tests.support.servers import ServerProcess, server_env
from tests.support.waiting import wait_until

pytestmark = pytest.mark.tray

TRAY_PY = REPO / ".venv-tray" / "bin" / "python"
SERVER_PY = REPO / ".venv" / "bin" / "python"
IDLE = 6.0  # seconds without the holder's activity before a claim lapses (120 in production)
REFUSED = "Reply Desk: the server refused this token"


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Team:
    """One team server with agents Alex (whose tray runs) and Dana, and the desktop the trays run on."""

    tmp: Path
    server: ServerProcess
    desktop: VirtualDesktop
    tokens: dict[str, str]
    trays: list[subprocess.Popen] = field(default_factory=list)

    def call(self, who: str, method: str, path: str, **kw) -> requests.Response:
        return requests.request(method, self.server.url + path, headers={"Authorization": f"Bearer {self.tokens[who]}"},
                                timeout=10, **kw)

    def track(self, post_id: str, name: str, platform: str, started: datetime) -> dict:
        post = {"platform": platform, "post_id": post_id, "author": {"handle": name.split()[0].lower(), "name": name},
                "url": f"https://{'x.com/c/status' if platform == 'x' else 'facebook.com/p'}/{post_id}",
                "text": "Where is my order? It was due yesterday.", "created_at": iso(started)}
        resp = self.call("Alex", "POST", "/api/queue", json={"post": post})
        assert resp.status_code == 201, resp.text
        return resp.json()

    def start_tray(self, token: str, name: str) -> subprocess.Popen:
        env = dict(self.desktop.env, PYSTRAY_BACKEND="gtk", REPLYDESK_TRAY_NOTIFY_LOG=str(self.tmp / f"{name}.jsonl"),
                   PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", BROWSER="true")
        env.pop("REPLYDESK_TOKEN", None)
        tray = subprocess.Popen([str(TRAY_PY), "-m", "tray", "--server", self.server.url, "--token", token], cwd=REPO,
                                env=env, stdin=subprocess.DEVNULL, stdout=open(self.tmp / f"{name}.log", "wb"),
                                stderr=subprocess.STDOUT)
        self.trays.append(tray)
        return tray

    def stop_tray(self, tray: subprocess.Popen) -> None:
        if tray.poll() is None:
            tray.terminate()
            try:
                tray.wait(timeout=10)
            except subprocess.TimeoutExpired:
                tray.kill()
                tray.wait(timeout=5)

    def titles(self) -> list[str]:
        """The titles of the tray icons on the desktop that are ours ("Reply Desk: ...")."""
        found = self.desktop.run("xdotool", "search", "--name", "^Reply Desk")
        names = [self.desktop.run("xdotool", "getwindowname", w).stdout.strip() for w in found.stdout.split()]
        return [n for n in names if n.startswith("Reply Desk")]

    def wait_title(self, check, what: str, timeout: float = 10.0) -> str:
        def one() -> str | None:
            for tray in self.trays:
                assert tray.poll() is None, f"the tray exited: {tray.returncode}"
            titles = self.titles()
            return titles[0] if len(titles) == 1 and check(titles[0]) else None

        try:
            return wait_until(one, timeout, 0.1, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\ntitles: {self.titles()}") from None


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    assert TRAY_PY.exists(), "the tray's venv is missing: run `make tray-venv` (make test does)"
    tmp = tmp_path_factory.mktemp("tray-team")
    data = tmp / "data"
    tokens = {}
    for name in ("Alex", "Dana"):
        out = subprocess.run([sys.executable, "-m", "server", "add-agent", name, "--data-dir", str(data)], cwd=REPO,
                             capture_output=True, text=True, timeout=60, env={**os.environ, **server_env(data)})
        assert out.returncode == 0, out.stderr
        tokens[name] = out.stdout.strip().splitlines()[-1]
    packs = short_sla_packs(REPO / "prompts", tmp / "packs", x_minutes=10, facebook_minutes=60)
    server = ServerProcess(data, packs, log_path=tmp / "server.log", python=SERVER_PY,
                           env={"REPLYDESK_CLAIM_IDLE_SECONDS": str(IDLE)}).start()
    try:
        with VirtualDesktop(tmp / "desktop", width=800, height=600) as desktop:
            t = Team(tmp, server, desktop, tokens)
            try:
                yield t
            finally:
                for tray in t.trays:
                    t.stop_tray(tray)
    finally:
        server.stop()


class KeepsClaiming(threading.Thread):
    """Dana's extension while she writes: it renews her claim (here every 1.5 s; the extension's is 45 s)."""

    def __init__(self, team: Team, item_id: int) -> None:
        super().__init__(daemon=True)
        self.team, self.item_id, self.done = team, item_id, threading.Event()

    def run(self) -> None:
        while not self.done.wait(1.5):
            self.team.call("Dana", "POST", f"/api/queue/{self.item_id}/claim")


def test_the_tray_says_who_is_replying_and_follows_release_lapse_and_reply(team: Team):
    tray = team.start_tray(team.tokens["Alex"], "alex")
    team.wait_title(lambda t: t == "Reply Desk: no posts waiting", "Alex's tray connected with his token")
    ann = team.track("fb-ann", "Ann Lee", "facebook", datetime.now(UTC))
    # Kate's post is due soon (the last quarter of 10 minutes) 5 s after it is tracked: the most urgent post.
    kate = team.track("x-kate", "Kate Mink", "x", datetime.now(UTC) - timedelta(minutes=7.5) + timedelta(seconds=5))
    assert kate["state"] == "waiting" and kate["claimed_by"] is None
    path = f"/api/queue/{kate['id']}/claim"

    # Dana opens Kate's post: her claim. Alex's tray names her next to the most urgent post.
    claimed = team.call("Dana", "POST", path)
    assert claimed.status_code == 200 and claimed.json()["claimed_by"] == "Dana", claimed.text
    keeper = KeepsClaiming(team, kate["id"])
    keeper.start()
    try:
        title = team.wait_title(lambda t: "Dana is replying" in t, "Dana's claim in the title")
        assert title.startswith("Reply Desk: 2 posts waiting. Kate Mink on X"), title
        # Alex's own claim on it is refused, naming the holder (the contract the tray's words follow).
        mine = team.call("Alex", "POST", path)
        assert mine.status_code == 409 and mine.json()["message"] == "Dana is replying"
        # The post crosses into due soon while Dana holds it: the notification still comes (the customer still
        # waits) and says who is on it, on the desktop's notification service too.
        notes = wait_until(lambda: [n for n in notes_of(team, "alex") if n["level"] == "due_soon"], 15, 0.1,
                           "the due-soon notification")
        assert notes[0]["title"] == "Due soon: Kate Mink" and notes[0]["message"].endswith("; Dana is replying")
        calls = wait_until(lambda: [c for c in team.desktop.notify_calls() if c[2:3] == ["Due soon: Kate Mink"]],
                           15, 0.1, "the Notify call on the bus")
        assert calls[0][3].endswith("; Dana is replying"), calls
    finally:
        keeper.done.set()
        keeper.join(5)

    # Dana releases it: the tray drops her name.
    assert team.call("Dana", "DELETE", path).status_code == 200
    title = team.wait_title(lambda t: "is replying" not in t and "Kate Mink" in t, "the released claim")
    assert "is due soon" in title

    # Dana claims it again and goes quiet: her claim lapses after IDLE seconds, with no event from the server.
    assert team.call("Dana", "POST", path).json()["claimed_by"] == "Dana"
    claimed_at = time.monotonic()
    team.wait_title(lambda t: "Dana is replying" in t, "the new claim")
    team.wait_title(lambda t: "is replying" not in t and "Kate Mink" in t, "the lapsed claim", timeout=IDLE + 6)
    assert time.monotonic() - claimed_at >= IDLE - 1.0, "the tray dropped a live claim"
    assert team.call("Alex", "GET", f"/api/queue/{kate['id']}").json()["claimed_by"] is None

    # Dana claims it once more and answers: the post leaves Alex's tray, Ann is next, nobody is replying.
    assert team.call("Dana", "POST", path).status_code == 200
    team.wait_title(lambda t: "Dana is replying" in t, "the third claim")
    replied = team.call("Dana", "POST", f"/api/queue/{kate['id']}/replied", json={})
    assert replied.status_code == 200 and replied.json()["state"] == "replied", replied.text
    title = team.wait_title(lambda t: "Kate Mink" not in t, "Kate's post gone")
    assert title.startswith("Reply Desk: 1 post waiting. Ann Lee on Facebook") and "replying" not in title, title
    assert ann["state"] == "waiting"
    assert [n["level"] for n in notes_of(team, "alex")] == ["due_soon"]
    team.stop_tray(tray)
    team.trays.remove(tray)


def test_a_refused_token_is_said_plainly_and_the_tray_keeps_running(team: Team):
    tray = team.start_tray("not-a-token-" + "x" * 30, "wrong")
    title = team.wait_title(lambda t: t.startswith(REFUSED), "the refused token in the title")
    assert "mistyped or revoked" in title
    time.sleep(2.0)  # room for a (wrong) second message or an exit
    assert tray.poll() is None, "the tray should stay up (grey) and keep trying now and then, not vanish"
    team.stop_tray(tray)
    team.trays.remove(tray)
    log = (team.tmp / "wrong.log").read_text()
    assert log.count("the server refused this token") == 1, log
    assert "Traceback" not in log, log


def test_plain_http_to_another_machine_is_refused_unless_allowed():
    """The address check comes before anything else (no display needed, nothing is contacted)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "REPLYDESK_SERVER")}

    def tray(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(SERVER_PY), "-m", "tray", *args], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=60)

    refused = tray("--server", "http://desk.example.com:8765", "--token", "t")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip() == (
        "reply-desk tray: http://desk.example.com:8765 is plain HTTP to another machine: the token would cross the "
        "network unencrypted; use the team server's https:// address (or --allow-plain-http on a private network)")
    allowed = tray("--server", "http://desk.example.com:8765", "--token", "t", "--allow-plain-http")
    # Past the address check, the tray stops at the next one: there is no desktop in this environment.
    assert allowed.returncode == 2 and "plain HTTP" not in allowed.stderr and "no display" in allowed.stderr


def notes_of(team: Team, name: str) -> list[dict]:
    path = team.tmp / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
