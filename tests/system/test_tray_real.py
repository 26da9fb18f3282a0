"""The real tray (pystray's gtk backend, in its own venv with Debian's python3-gi) under Xvfb with a real tray host
(trayer), a D-Bus session with a notification daemon, against a real `python -m server run`.

The pack used has fixed targets (X 10 min, Facebook 60 min, due soon at the last quarter) and the posts carry
`created_at` times in the past, so each post crosses into "due soon" or "overdue" a few seconds after it is
tracked while the tray is watching. The icon is checked on screenshots, by its pixels' colors.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.support.desktop import VirtualDesktop, color_pixels
from tests.support.packs import short_sla_packs
from tests.support.paths import ARTIFACTS, REPO
from tests.support.servers import ServerProcess
from tests.support.waiting import wait_until
from tray.icon import BADGE, COLORS, TEXT

pytestmark = pytest.mark.tray

TRAY_PY = REPO / ".venv-tray" / "bin" / "python"
SERVER_PY = REPO / ".venv" / "bin" / "python"
STRIP = (0, 0, 400, 40)  # where trayer (top edge, 200 px wide, 32 px high) shows the icons


def wait_for(check, timeout: float = 30.0, what: str = "condition"):
    """tests.support.waiting's poll, at a slower pace: many checks here take a screenshot."""
    return wait_until(check, timeout, 0.2, what)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Desk:
    """The running pieces of one scenario and the checks on them."""

    def __init__(self, tmp: Path, desktop: VirtualDesktop, server: ServerProcess) -> None:
        self.tmp, self.desktop, self.server = tmp, desktop, server
        self.notes_log = tmp / "notifications.jsonl"
        self.browser_log = tmp / "browser.log"
        self.tray: subprocess.Popen | None = None
        self.artifact_prefix = ""  # e.g. "xorg-": each backend keeps its own screenshots
        self.last_shot = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.server.token}"}

    def start_tray(self, python: Path = TRAY_PY, backend: str = "gtk") -> None:
        browser = self.tmp / "browser.sh"
        browser.write_text(f'#!/bin/sh\necho "$1" >> "{self.browser_log}"\n')
        browser.chmod(0o755)
        env = dict(self.desktop.env, REPLYDESK_DATA_DIR=str(self.server.data_dir), PYSTRAY_BACKEND=backend,
                   REPLYDESK_TRAY_NOTIFY_LOG=str(self.notes_log), BROWSER=f"{browser} %s",
                   PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
        self.tray = subprocess.Popen([str(python), "-m", "tray", "--server", self.server.url], cwd=REPO, env=env,
                                     stdin=subprocess.DEVNULL, stdout=open(self.tmp / "tray.log", "wb"),
                                     stderr=subprocess.STDOUT)

    def track(self, post_id: str, name: str, platform: str, started: datetime,
              text: str = "Where is my order? It was due yesterday.") -> dict:
        post = {"platform": platform, "post_id": post_id, "author": {"handle": name.split()[0].lower(), "name": name},
                "url": f"https://{'x.com/c/status' if platform == 'x' else 'facebook.com/p'}/{post_id}",
                "text": text, "created_at": iso(started)}
        resp = requests.post(self.server.url + "/api/queue", json={"post": post}, headers=self.headers, timeout=10)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def item(self, item_id: int) -> dict:
        return requests.get(f"{self.server.url}/api/queue/{item_id}", headers=self.headers, timeout=10).json()

    def icon_box(self, level: str, name: str | None = None) -> tuple[int, int, int, int] | None:
        """The bounding box of our icon when it shows `level`'s color (screenshot saved as an artifact)."""
        assert self.tray is not None and self.tray.poll() is None, (self.tmp / "tray.log").read_text()[-3000:]
        shot = self.tmp / "shot.png"
        img = self.last_shot = self.desktop.screenshot(shot)
        px = color_pixels(img, COLORS[level], STRIP, tolerance=12)
        if len(px) < 150:  # a ~30 px icon is mostly its tile color; stray matching pixels are far fewer
            return None
        box = dense_box(px)
        if box[2] - box[0] > 64 or box[3] - box[1] > 64:
            return None
        if name:
            ARTIFACTS.mkdir(exist_ok=True)
            img.crop(STRIP).save(ARTIFACTS / f"tray-{self.artifact_prefix}{name}.png")
            shutil.copy(shot, ARTIFACTS / f"tray-{self.artifact_prefix}{name}-screen.png")
        return box

    def wait_icon(self, level: str, timeout: float = 30.0) -> tuple[int, int, int, int]:
        box = wait_for(lambda: self.icon_box(level, level), timeout, f"a {level} icon")
        assert_crisp(self.last_shot, box, level)
        return box

    def notes(self) -> list[dict]:
        if not self.notes_log.exists():
            return []
        return [json.loads(line) for line in self.notes_log.read_text().splitlines() if line.strip()]

    def visible_windows(self) -> set[str]:
        """Ids of the mapped windows: a menu that opens adds one (typing into it before that loses the keys)."""
        found = self.desktop.run("xdotool", "search", "--onlyvisible", "--name", "")
        return set(found.stdout.split())

    def click(self, box: tuple[int, int, int, int], button: int) -> None:
        x, y = (box[0] + box[2]) // 2, (box[1] + box[3]) // 2
        result = self.desktop.run("xdotool", "mousemove", str(x), str(y), "click", str(button))
        assert result.returncode == 0, result.stderr


def dense_box(px: list[tuple[int, int]]) -> tuple[int, int, int, int]:
    """The bounding box of the solid tile among matching pixels: columns, then rows, that hold at least a third
    of the busiest one's count (stray matches, e.g. greys in the notification daemon's own icon, are sparse)."""
    cols: dict[int, int] = {}
    for x, _ in px:
        cols[x] = cols.get(x, 0) + 1
    xs = [x for x, n in cols.items() if n * 3 >= max(cols.values())]
    rows: dict[int, int] = {}
    for x, y in px:
        if min(xs) <= x <= max(xs):
            rows[y] = rows.get(y, 0) + 1
    ys = [y for y, n in rows.items() if n * 3 >= max(rows.values())]
    return min(xs), min(ys), max(xs), max(ys)


def assert_crisp(img, box: tuple[int, int, int, int], level: str) -> None:
    """The icon on screen is drawn at the size shown, not scaled: its pixels are the icon's own palette (tile,
    white digits, dark badge), where scaling would blend them, and the digits are there to read."""
    x0, y0, x1, y1 = box
    pixels = [img.getpixel((x, y)) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]

    def near(p: tuple[int, ...], c: tuple[int, ...]) -> bool:
        return all(abs(a - b) <= 8 for a, b in zip(p, c, strict=False))

    blended = [p for p in pixels if not any(near(p, c) for c in (COLORS[level], TEXT, BADGE))]
    # Allowance: the 4 cut corners (the panel shows through) and nothing else to speak of.
    assert len(blended) <= 16 + len(pixels) // 50, (level, box, len(blended), blended[:12])
    assert sum(near(p, TEXT) for p in pixels) >= 8, f"no digits on the {level} icon"


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    packs = short_sla_packs(REPO / "prompts", tmp_path / "packs", x_minutes=10, facebook_minutes=60)
    server = ServerProcess(tmp_path / "data", packs, log_path=tmp_path / "server.log", python=SERVER_PY).start()
    try:
        with VirtualDesktop(tmp_path / "desktop", width=800, height=600) as desktop:
            d = Desk(tmp_path, desktop, server)
            try:
                yield d
            finally:
                if d.tray is not None:
                    d.tray.terminate()
                    try:
                        d.tray.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        d.tray.kill()
                        d.tray.wait(timeout=5)
    finally:
        server.stop()


def test_real_tray_counts_down_notifies_once_acts_and_survives_a_restart(desk: Desk):
    assert TRAY_PY.exists(), "the tray's venv is missing: run `make tray-venv` (make test does)"
    desk.start_tray()
    # Connected with nothing waiting: the blue "idle" tile.
    desk.wait_icon("idle")

    # A fresh Facebook post: 60 minutes, green.
    now = datetime.now(UTC)
    desk.track("fb-1", "Ann Lee", "facebook", now)
    desk.wait_icon("waiting")

    # An X post 7.5 minutes old less 4 s: it becomes due soon (last quarter of 10 min) while we watch.
    bob = desk.track("x-bob", "Bob Stone", "x", datetime.now(UTC) - timedelta(minutes=7.5) + timedelta(seconds=4))
    assert bob["state"] == "waiting"
    desk.wait_icon("due_soon")
    wait_for(lambda: [n for n in desk.notes() if n["level"] == "due_soon"], 15, "the due-soon notification")

    # An X post 10 minutes old less 4 s: tracked when already due soon, overdue a few seconds later.
    cat = desk.track("x-cat", "Cat Ng", "x", datetime.now(UTC) - timedelta(minutes=10) + timedelta(seconds=4))
    assert cat["state"] == "due_soon"
    desk.wait_icon("overdue")
    wait_for(lambda: [n for n in desk.notes() if n["level"] == "overdue"], 15, "the overdue notification")

    notes = desk.notes()
    assert [(n["level"], n["ids"]) for n in notes] == [("due_soon", [str(bob["id"])]),
                                                        ("overdue", [str(cat["id"])])]
    assert notes[0]["title"] == "Due soon: Bob Stone" and "Bob Stone on X" in notes[0]["message"]
    assert notes[1]["title"] == "Overdue: Cat Ng" and "overdue 0m" in notes[1]["message"]
    assert {n["backend"] for n in notes} == {"pystray"}
    # ...and they reached the desktop's notification service over D-Bus, once each.
    titles = wait_for(lambda: [c for c in desk.desktop.notify_calls() if len(c) >= 3] if
                      len(desk.desktop.notify_calls()) >= 2 else None, 15, "Notify calls on the bus")
    assert [c[2] for c in titles] == ["Due soon: Bob Stone", "Overdue: Cat Ng"]

    # A left click opens the most urgent post in the browser.
    desk.click(desk.wait_icon("overdue"), 1)
    wait_for(lambda: desk.browser_log.exists() and desk.browser_log.read_text().strip(), 15, "the browser")
    assert desk.browser_log.read_text().split() == [cat["url"]]

    # Server restart: two more posts become overdue while the server is down.
    started = datetime.now(UTC) - timedelta(minutes=10) + timedelta(seconds=8)
    dan = desk.track("x-dan", "Dan Ito", "x", started)
    eve = desk.track("x-eve", "Eve Ruiz", "x", started)
    desk.server.stop()
    desk.wait_icon("offline")
    time.sleep(max(0.0, (started + timedelta(minutes=10) - datetime.now(UTC)).total_seconds()) + 1)
    desk.server.start()
    desk.wait_icon("overdue")
    wait_for(lambda: len(desk.notes()) >= 3, 20, "the summary after the reconnect")
    time.sleep(2)  # room for any (wrong) extra notification to show up
    notes = desk.notes()
    assert len(notes) == 3, notes  # Bob and Cat are not notified again
    summary = notes[2]
    assert summary["level"] == "summary" and sorted(summary["ids"]) == sorted([str(dan["id"]), str(eve["id"])])
    assert summary["title"] == "Reply Desk: 2 overdue"
    assert "Dan Ito" in summary["message"] and "Eve Ruiz" in summary["message"]

    # Mark replied from the real menu: right click, the first post (Cat, the earliest deadline), its submenu.
    box = desk.wait_icon("overdue")
    before = desk.visible_windows()
    desk.click(box, 3)
    wait_for(lambda: desk.visible_windows() - before, 15, "the tray menu to open")
    time.sleep(0.3)  # mapped; GTK takes the keyboard grab right after
    for key in ("Down", "Down", "Right", "Down", "Return"):
        assert desk.desktop.run("xdotool", "key", key).returncode == 0
        time.sleep(0.3)
    wait_for(lambda: desk.item(cat["id"])["state"] == "replied", 15, "Cat's post marked replied on the server")
    assert desk.item(bob["id"])["state"] == "due_soon"
    assert desk.item(dan["id"])["state"] == "overdue"
    assert len(desk.notes()) == 3


def test_xorg_backend_falls_back_to_notify_send_and_takes_clicks(desk: Desk):
    """Without python3-gi the tray runs on pystray's xorg backend (no menu, no notify()): notify-send carries the
    notifications and a click still opens the most urgent post (pystray's missing ButtonPressMask is added)."""
    desk.artifact_prefix = "xorg-"
    desk.start_tray(SERVER_PY, "xorg")
    desk.wait_icon("idle")
    ann = desk.track("x-ann", "Ann Lee", "x", datetime.now(UTC) - timedelta(minutes=7.5) + timedelta(seconds=3))
    desk.wait_icon("due_soon")
    notes = wait_for(desk.notes, 15, "the due-soon notification")
    assert [(n["backend"], n["level"], n["title"]) for n in notes] == [("notify-send", "due_soon", "Due soon: Ann Lee")]
    calls = wait_for(lambda: [c for c in desk.desktop.notify_calls() if len(c) >= 3], 15, "a Notify call on the bus")
    assert [c[2] for c in calls] == ["Due soon: Ann Lee"]
    # The notification daemon docks an icon of its own when it shows one, which may move ours: find it again.
    time.sleep(1.0)
    desk.click(desk.wait_icon("due_soon"), 1)
    wait_for(lambda: desk.browser_log.exists() and desk.browser_log.read_text().strip(), 15, "the browser")
    assert desk.browser_log.read_text().split() == [ann["url"]]


def test_real_tray_puts_severity_first_notices_escalations_and_ignores_posts_without_a_clock(desk: Desk):
    """Issues 13 and 14 on the real tray: a thank-you note that is due soon does not outrank a safety report; the
    safety report is escalated on tracking and noticed once; an abusive post (no clock) never turns the icon red;
    every time the tray shows says it is wall-clock time."""
    assert TRAY_PY.exists(), "the tray's venv is missing: run `make tray-venv` (make test does)"
    desk.start_tray()
    desk.wait_icon("idle")
    thanks = desk.track("x-thanks", "Tim Cole", "x", datetime.now(UTC) - timedelta(minutes=7.5) + timedelta(seconds=4),
                        text="Thank you so much, the delivery was lovely and fast!")
    assert (thanks["intent"], thanks["severity"]) == ("praise", "low")
    desk.wait_icon("due_soon")
    wait_for(lambda: [n for n in desk.notes() if n["level"] == "due_soon"], 15, "the due-soon notification")
    abuse = desk.track("x-abuse", "Max Roe", "x", datetime.now(UTC) - timedelta(minutes=30),
                       text="You are all useless idiots, shut up")
    assert abuse["intent"] == "abuse" and abuse["state"] == "no_reply" and abuse["deadline"] is None
    fire = desk.track("x-fire", "Fay Bell", "x", datetime.now(UTC),
                      text="The charger you sold me caught fire last night and burned my hand.")
    assert fire["intent"] == "legal_safety" and fire["escalated"] is True
    # The safety report is now the most urgent post: the icon shows its clock (green, 10 minutes), not the
    # thank-you note's, and never the abusive post's (it has none).
    desk.wait_icon("waiting")
    wait_for(lambda: [n for n in desk.notes() if n["level"] == "escalated"], 15, "the escalation notice")
    desk.click(desk.wait_icon("waiting"), 1)
    wait_for(lambda: desk.browser_log.exists() and desk.browser_log.read_text().strip(), 15, "the browser")
    assert desk.browser_log.read_text().split() == [fire["url"]]
    time.sleep(2)  # room for any (wrong) overdue notification about the abusive post
    notes = desk.notes()
    assert [(n["level"], n["ids"]) for n in notes] == [("due_soon", [str(thanks["id"])]),
                                                        ("escalated", [str(fire["id"])])], notes
    assert notes[0]["message"].endswith("(wall clock)"), notes[0]
    assert notes[1]["title"] == "Escalated: Fay Bell" and "legal_safety" in notes[1]["message"]
    assert desk.item(abuse["id"])["state"] == "no_reply"
    assert desk.icon_box("overdue") is None

