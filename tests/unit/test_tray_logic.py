"""The tray's pure logic, without a display: queue state from events, icon state and drawing, menu model,
notification decisions, and the app's glue driven with pystray's dummy backend."""
from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest

from tests.support.paths import REPO
from tray.icon import BADGE, COLORS, TEXT, minutes_label, render, render_window
from tray.menu import build_menu, find
from tray.notify import Notifier, NotifyPolicy
from tray.state import IconState, QueueState, icon_state, minutes_left, next_change_in, time_text

T0 = 1_800_000_000.0  # a fixed "now" (epoch seconds)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def qitem(id_: int, state: str = "waiting", left: float = 600, name: str | None = "Kate Mink",
          platform: str = "x", intent: str = "complaint") -> dict:
    return {"id": id_, "platform": platform, "post_id": str(id_), "url": f"https://x.com/u/status/{id_}",
            "author": {"handle": "kate", "name": name}, "customer": name or "@kate", "text": "hi",
            "intent": intent, "severity": "normal", "deadline": iso(T0 + left), "state": state,
            "seconds_left": left}


def snapshot(*items: dict, server_time: float = T0) -> dict:
    return {"type": "queue", "items": list(items), "server_time": iso(server_time)}


def connected(*items: dict) -> QueueState:
    st = QueueState()
    st.set_connected(True)
    st.apply(snapshot(*items), T0)
    return st


# --- state ------------------------------------------------------------------------------------------------------
def test_snapshot_upsert_remove_build_the_queue():
    st = connected(qitem(1), qitem(2, "due_soon", 200))
    assert [i.id for i in st.sorted_items()] == ["2", "1"]
    st.apply({"type": "queue", "change": "upsert", "item": qitem(3, left=50)}, T0)
    assert [i.id for i in st.sorted_items()] == ["3", "2", "1"]
    st.apply({"type": "queue", "change": "upsert", "item": qitem(3, "replied", 50)}, T0)
    assert "3" not in st.items
    st.apply({"type": "queue", "change": "remove", "id": 2}, T0)
    assert list(st.items) == ["1"]


def test_malformed_events_and_items_are_ignored():
    st = connected(qitem(1))
    for bad in ({"type": "queue", "change": "upsert", "item": {"id": 9}}, {"type": "queue", "change": "upsert"},
                {"type": "nope"}, {"type": "queue", "change": "remove"}, {"type": "overdue", "item": "x"}):
        assert st.apply(bad, T0) == []
    assert list(st.items) == ["1"]
    st.apply(snapshot(qitem(1), {"id": 2, "deadline": "not a time", "state": "waiting"}), T0)
    assert list(st.items) == ["1"]


def test_crossings_come_from_events_and_state_changes_of_known_posts():
    st = connected(qitem(1))
    crossings = st.apply({"type": "due_soon", "item": qitem(1, "due_soon", 100)}, T0)
    assert [(c.item.id, c.level) for c in crossings] == [("1", "due_soon")]
    assert st.items["1"].state == "due_soon"
    # A post first seen already late is shown, but is no crossing (the server does not alert for it either).
    assert st.apply({"type": "queue", "change": "upsert", "item": qitem(2, "overdue", -60)}, T0) == []
    assert st.items["2"].state == "overdue"


def test_server_clock_offset_drives_the_countdown():
    st = QueueState()
    st.set_connected(True)
    st.apply(snapshot(qitem(1, left=600), server_time=T0 + 30), T0)  # the server's clock is 30 s ahead
    assert st.seconds_left(st.items["1"], T0) == pytest.approx(570)


@pytest.mark.parametrize("seconds,state,text,minutes", [
    (600, "waiting", "10m left", 10), (61, "waiting", "2m left", 2), (30, "due_soon", "1m left", 1),
    (0, "due_soon", "due now", 0), (-30, "overdue", "overdue 0m", 0), (-12 * 60 - 5, "overdue", "overdue 12m", 12),
    (3900, "waiting", "1h 05m left", 65), (-3 * 86400, "overdue", "overdue 3d 0h", 4320)])
def test_time_words(seconds, state, text, minutes):
    assert time_text(seconds, state) == text
    assert minutes_left(seconds) == minutes


def test_icon_state_follows_the_most_urgent_post():
    st = connected(qitem(1, left=3000), qitem(2, "due_soon", 400, name="Bob Stone"), qitem(3, "snoozed", 10))
    shown = icon_state(st, T0)
    assert (shown.level, shown.minutes, shown.count) == ("due_soon", 7, 2)
    assert "Bob Stone" in shown.tooltip and "2 posts waiting" in shown.tooltip and "due soon" in shown.tooltip
    st.apply({"type": "overdue", "item": qitem(1, "overdue", -125)}, T0)
    shown = icon_state(st, T0)
    assert (shown.level, shown.minutes) == ("overdue", 2)
    assert "overdue 2m" in shown.tooltip
    st.set_connected(False)
    assert icon_state(st, T0).level == "offline" and "disconnected" in icon_state(st, T0).tooltip
    assert icon_state(connected(), T0).level == "idle"


def test_the_icon_wakes_only_when_its_minute_changes():
    st = connected(qitem(1, left=600.0), qitem(2, left=601.5))
    assert next_change_in(st, T0, cap=120) == pytest.approx(59.51)
    assert next_change_in(st, T0 + 20.5) == pytest.approx(39.01)
    assert next_change_in(connected(), T0, cap=30) == 30


# --- icon -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [16, 20, 22, 24, 32, 48, 64])
@pytest.mark.parametrize("level", ["waiting", "due_soon", "overdue", "idle", "offline"])
def test_icon_is_crisp_and_colored_at_every_size(size, level):
    img = render(IconState(level, 42 if level not in ("idle", "offline") else None, 3, ""), size)
    assert img.size == (size, size)
    colors = {px[:3] for px in img.get_flattened_data() if px[3] == 255}
    alphas = {px[3] for px in img.get_flattened_data()}
    assert alphas <= {0, 255}  # no half-transparent (blurred) pixels
    assert colors <= {COLORS[level], TEXT, BADGE}  # no anti-aliased in-between colors
    counts = {c: sum(1 for px in img.get_flattened_data() if px[3] == 255 and px[:3] == c) for c in colors}
    assert counts[COLORS[level]] > size * size * 0.45  # the tile's color dominates
    assert counts.get(TEXT, 0) > 0  # the label is drawn


@pytest.mark.parametrize("width,height", [(20, 30), (24, 24), (30, 22), (1, 1)])
def test_xorg_window_icon_is_opaque_and_unscaled(width, height):
    """pystray's xorg window is RGB and not always square: the icon fills it in its own palette, and its
    square part is exactly the tile drawn natively at the smaller side."""
    state = IconState("due_soon", 3, 2, "")
    img = render_window(state, width, height)
    assert img.mode == "RGB" and img.size == (width, height)
    assert set(img.get_flattened_data()) <= {COLORS["due_soon"], TEXT, BADGE}
    side = min(width, height)
    if side >= 16:
        tile = render(state, side)
        left, top = (width - side) // 2, (height - side) // 2
        square = img.crop((left, top, left + side, top + side))
        opaque = [(a[:3], b) for a, b in zip(tile.get_flattened_data(), square.get_flattened_data(), strict=True)
                  if a[3] == 255]
        assert all(a == b for a, b in opaque)


def test_the_tray_client_does_not_load_asyncio():
    """simple_websocket's __init__ imports its asyncio classes; the tray loads only the threaded Client, and the
    package still resolves the rest on demand for anyone else in the process."""
    import subprocess
    import sys

    code = ("import sys, tray.client as c; assert 'asyncio' not in sys.modules, 'asyncio loaded';"
            "import simple_websocket as s; assert s.Client is c.Client;"
            "from simple_websocket import Server, ConnectionClosed, AioClient; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=REPO)
    assert out.stdout.strip() == "ok", out.stderr


def test_icon_shows_minutes_and_count_differently():
    a = render(IconState("waiting", 12, 1, ""), 32).tobytes()
    assert a != render(IconState("waiting", 13, 1, ""), 32).tobytes()
    assert a != render(IconState("waiting", 12, 2, ""), 32).tobytes()
    assert minutes_label(150, "waiting") == "2h" and minutes_label(None, "offline") == "?"


# --- menu -------------------------------------------------------------------------------------------------------
def test_menu_lists_posts_by_deadline_with_actions():
    st = connected(qitem(1, left=1800, name="Ann Lee", platform="facebook", intent="question"),
                   qitem(2, "overdue", -12 * 60 - 10, name="Bob Stone"))
    menu = build_menu(st, T0)
    posts = [e for e in menu if e.children and e.children[0].text == "Open post"]
    assert [p.text for p in posts] == ["Bob Stone · X · complaint · overdue 12m (wall clock)",
                                       "Ann Lee · Facebook · question · 30m left (wall clock)"]
    assert [c.text for c in posts[0].children] == ["Open post", "Mark replied", "Snooze 15 min", "Dismiss"]
    assert [c.action for c in posts[0].children] == [("open", "2"), ("replied", "2"), ("snooze", "2", 15),
                                                    ("dismiss", "2")]
    assert find(menu, "Open supervisor page").action == ("supervisor",)
    assert find(menu, "Quit").action == ("quit",)
    assert find(menu, "For 1 hour").action == ("pause", 60)
    assert find(menu, "Resume") is None


def test_menu_is_capped_and_shows_disconnection_and_pause():
    st = connected(*[qitem(i, left=60 * i) for i in range(1, 41)])
    menu = build_menu(st, T0, limit=15)
    assert sum(1 for e in menu if e.children and e.children[0].text == "Open post") == 15
    assert find(menu, "…and 25 more").action == ("supervisor",)
    st.set_connected(False)
    menu = build_menu(st, T0, paused_until=T0 + 900)
    assert menu[0].text.startswith("Disconnected") and not menu[0].enabled
    assert find(menu, "Notifications paused until") is not None
    assert find(menu, "Resume notifications").action == ("resume",)


# --- notification decisions ------------------------------------------------------------------------------------
def test_each_post_is_notified_once_per_level():
    st = connected(qitem(1))
    pol = NotifyPolicy()
    ev = {"type": "due_soon", "item": qitem(1, "due_soon", 290)}
    notes = pol.decide(st.apply({"type": "queue", "change": "upsert", "item": qitem(1, "due_soon", 290)}, T0)
                       + st.apply(ev, T0), st, T0)
    assert len(notes) == 1 and notes[0].level == "due_soon" and notes[0].title == "Due soon: Kate Mink"
    assert "5m left" in notes[0].message
    assert pol.decide(st.apply(ev, T0), st, T0) == []  # the same event again: nothing
    notes = pol.decide(st.apply({"type": "overdue", "item": qitem(1, "overdue", -1)}, T0), st, T0 + 1)
    assert [n.level for n in notes] == ["overdue"]
    assert pol.decide(st.apply({"type": "overdue", "item": qitem(1, "overdue", -61)}, T0), st, T0) == []


def test_reconnect_snapshot_does_not_renotify_and_summarises_what_happened_meanwhile():
    st = connected(qitem(1), qitem(2), qitem(3), qitem(4))
    pol = NotifyPolicy()
    pol.decide(st.apply({"type": "overdue", "item": qitem(1, "overdue", -5)}, T0), st, T0)
    st.set_connected(False)
    pol.forget_gone(st)
    st.set_connected(True)
    # Meanwhile 2, 3 and 4 became overdue; 1 was already notified.
    crossings = st.apply(snapshot(qitem(1, "overdue", -300), qitem(2, "overdue", -200), qitem(3, "overdue", -100),
                                  qitem(4, "due_soon", 100)), T0)
    pol.forget_gone(st)
    notes = pol.decide(crossings, st, T0)
    assert len(notes) == 1
    assert notes[0].level == "summary" and set(notes[0].ids) == {"2", "3", "4"}
    assert notes[0].title == "Reply Desk: 2 overdue, 1 due soon"
    # The next snapshot (another reconnect) brings nothing new.
    assert pol.decide(st.apply(snapshot(qitem(1, "overdue"), qitem(2, "overdue"), qitem(3, "overdue"),
                                        qitem(4, "due_soon")), T0), st, T0) == []


def test_pause_drops_notifications_and_snooze_rearms_them():
    st = connected(qitem(1), qitem(2))
    pol = NotifyPolicy()
    pol.pause(15, T0)
    assert pol.decide(st.apply({"type": "due_soon", "item": qitem(1, "due_soon", 200)}, T0), st, T0 + 10) == []
    assert pol.decide(st.apply({"type": "due_soon", "item": qitem(2, "due_soon", 200)}, T0), st, T0 + 901) != []
    pol.resume()
    st.apply({"type": "queue", "change": "upsert", "item": qitem(1, "snoozed", 100)}, T0)
    pol.forget_gone(st)
    notes = pol.decide(st.apply({"type": "overdue", "item": qitem(1, "overdue", -1)}, T0), st, T0)
    assert [n.level for n in notes] == ["overdue"]  # the snooze ended late: the agent hears of it again


def test_notifier_uses_notify_send_without_pystray_support_and_logs(tmp_path):
    calls: list[list[str]] = []
    log = tmp_path / "n.jsonl"
    st = connected(qitem(1))
    note = NotifyPolicy().decide(st.apply({"type": "overdue", "item": qitem(1, "overdue", -70)}, T0), st, T0)[0]
    notifier = Notifier(icon=None, log_path=str(log), runner=calls.append)
    notifier.notify_send = "/usr/bin/notify-send"
    notifier.send(note)
    assert calls and calls[0][0] == "/usr/bin/notify-send" and "Overdue: Kate Mink" in calls[0]
    assert json.loads(log.read_text())["backend"] == "notify-send"

    class Icon:
        HAS_NOTIFICATION = True
        sent: list = []

        def notify(self, message, title=None):
            self.sent.append((title, message))

    icon = Icon()
    Notifier(icon=icon, log_path="").send(note)
    assert icon.sent == [("Overdue: Kate Mink", "Kate Mink on X (complaint): overdue 1m (wall clock)")]


# --- the app's glue with pystray's dummy backend -------------------------------------------------------------
def test_app_draws_menu_and_dispatches_with_the_dummy_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("PYSTRAY_BACKEND", "dummy")
    import pystray

    from tray.app import TrayApp

    app = TrayApp("http://127.0.0.1:9", tmp_path / "data", backend="dummy")
    class HeadlessIcon(pystray.Icon):  # the dummy backend is pystray's abstract base: no native parts
        def _update_menu(self):
            pass

    app.icon = HeadlessIcon("test", render(IconState("offline", None, 0, ""), 32), "t")
    sent = []
    app.notifier = Notifier(icon=None, log_path="", runner=sent.append)
    app.notifier.notify_send = "notify-send"
    app.on_status(True)
    app.on_event(snapshot(qitem(1, left=3000), qitem(2, "due_soon", 300, name="Bob Stone")))
    app.refresh(T0)
    assert app.icon.title.startswith("Reply Desk: 2 posts waiting. Bob Stone")
    assert app.icon.icon.getpixel((app.icon.icon.width // 2, app.icon.icon.height - 3))[:3] == COLORS["due_soon"]
    texts = [str(i.text) for i in app.icon.menu.items]
    assert texts[2].startswith("Bob Stone · X · complaint")
    # The snapshot's due-soon post is reported once, after the batching window.
    app.refresh(T0 + 1)
    assert len(sent) == 1 and "Due soon: Bob Stone" in sent[0]
    app.on_event(snapshot(qitem(1, left=3000), qitem(2, "due_soon", 300, name="Bob Stone")))
    app.refresh(T0 + 2)
    app.refresh(T0 + 3)
    assert len(sent) == 1
    calls = []
    monkeypatch.setattr(app, "_background", lambda fn, *args: calls.append((getattr(fn, "__name__", fn), args)))
    app.dispatch(("replied", "2"))
    app.dispatch(("snooze", "2", 15))
    app.dispatch(("open_top",))
    assert calls[0][1][1:] == ("2",) and calls[1][1][1:] == ("2", 15)
    assert calls[2] == ("open_url", ("https://x.com/u/status/2",))
    app.dispatch(("pause", 15))
    assert app.policy.paused_until > 0
    assert os.environ["PYSTRAY_BACKEND"] == "dummy"


# --- triage-driven order, wall-clock labels, escalation, posts without a clock (issues 13 and 14) --------------
def ranked(id_: int, severity: str, left: float, state: str = "waiting", urgent: bool | None = None,
           priority: int | None = None, **kw) -> dict:
    item = {**qitem(id_, state, left, **kw), "severity": severity}
    if urgent is not None:
        item["urgent"] = urgent
    if priority is not None:
        item["priority"] = priority
    return item


def test_order_is_severity_and_urgency_then_time_left():
    thanks = ranked(1, "low", -600, "overdue", name="Thankful", intent="praise")
    stranded = ranked(2, "high", 3000, urgent=True, name="Stranded")
    high = ranked(3, "high", 200, "due_soon", name="High")
    critical = ranked(4, "critical", 4000, name="Critical")
    st = connected(thanks, stranded, high, critical)
    assert [i.customer for i in st.sorted_items()] == ["Critical", "Stranded", "High", "Thankful"]
    shown = icon_state(st, T0)
    assert "Critical" in shown.tooltip and shown.level == "waiting" and shown.minutes == 67
    assert "1 other overdue" in shown.tooltip  # the thank-you note is late, and still not first
    menu = build_menu(st, T0)
    assert [e.text.split(" · ")[0] for e in menu if " · " in e.text] == ["Critical", "Stranded", "High", "Thankful"]
    # The server's own priority wins over the tray's fallback from severity.
    st2 = connected(ranked(1, "low", 100, priority=7, name="Raised"), ranked(2, "critical", 50, name="Crit"))
    assert [i.customer for i in st2.sorted_items()] == ["Raised", "Crit"]


def test_every_time_shown_says_wall_clock():
    st = connected(qitem(1, "overdue", -(9 * 86400 + 4 * 3600 + 30)), qitem(2, left=1800, name="Ann Lee"))
    shown = icon_state(st, T0)
    assert "overdue 9d 4h (wall clock)" in shown.tooltip
    lines = [e.text for e in build_menu(st, T0) if " · " in e.text]
    assert lines == ["Kate Mink · X · complaint · overdue 9d 4h (wall clock)",
                     "Ann Lee · X · complaint · 30m left (wall clock)"]
    pol = NotifyPolicy()
    notes = pol.decide(st.apply({"type": "due_soon", "item": qitem(2, "due_soon", 300, name="Ann Lee")}, T0),
                       st, T0)
    assert notes and notes[0].message.endswith("5m left (wall clock)")


def test_posts_without_a_clock_are_never_waiting_or_overdue():
    no_clock = {**qitem(5, "no_reply", 0, intent="abuse"), "clock": False, "deadline": None}
    st = connected(qitem(1), no_clock, {**qitem(6, "no_reply", -900, intent="spam"), "clock": False})
    assert list(st.items) == ["1"]
    assert st.apply({"type": "queue", "change": "upsert", "item": no_clock}, T0) == []
    assert st.apply({"type": "overdue", "item": {**qitem(6, "overdue", -900), "clock": False}}, T0) == []
    shown = icon_state(st, T0)
    assert shown.count == 1 and "overdue" not in shown.tooltip
    assert NotifyPolicy().decide(st.apply(snapshot(no_clock), T0), st, T0) == []


def test_an_escalated_post_gets_one_notice_even_while_paused():
    st = connected(qitem(1))
    pol = NotifyPolicy()
    pol.pause(60, T0)
    item = {**qitem(2, intent="legal_safety", name="Ann Lee"), "escalated": True}
    crossings = st.apply({"type": "queue", "change": "upsert", "item": item}, T0)
    crossings += st.apply({"type": "queue", "change": "escalated", "item": item, "reason": "legal_safety"}, T0)
    notes = pol.decide(crossings, st, T0)
    assert [(n.level, n.title) for n in notes] == [("escalated", "Escalated: Ann Lee")]
    assert "legal_safety" in notes[0].message and notes[0].ids == ("2",)
    again = st.apply({"type": "queue", "change": "escalated", "item": item}, T0)
    assert pol.decide(again, st, T0) == []
    assert pol.decide(st.apply(snapshot(qitem(1), item), T0), st, T0) == []  # a reconnect's snapshot: not again
    assert "escalated · " in find(build_menu(st, T0), "Ann Lee").text
    # A snapshot naming an escalated post the tray has not noticed yet (it started later): one notice.
    st2, pol2 = QueueState(), NotifyPolicy()
    st2.set_connected(True)
    assert [n.level for n in pol2.decide(st2.apply(snapshot(qitem(1), item), T0), st2, T0)] == ["escalated"]
