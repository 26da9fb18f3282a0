"""The tray's team-mode logic without a display (issue 16): who is shown as replying, where, and until when; what
the tray says when the server refuses its token; which server addresses it accepts. The real tray on a real team
server is in tests/system/test_tray_team.py."""
from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tests.support.waiting import wait_until
from tray.client import LIMITED_MAX, REFUSED_RETRY, EventStream, limited_wait, server_problem
from tray.menu import build_menu, find
from tray.notify import NotifyPolicy
from tray.state import Item, QueueState, icon_state, next_change_in

T0 = 1_800_000_000.0


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def qitem(id_: int, name: str, left: float, state: str = "waiting", by: object = None,
          expires: float | None = None) -> dict:
    return {"id": id_, "platform": "x", "url": f"https://x.com/u/status/{id_}", "customer": name,
            "intent": "complaint", "severity": "normal", "deadline": iso(T0 + left), "state": state,
            "claimed_by": by, "claim_expires_at": iso(expires) if expires is not None else None}


def connected(*items: dict, server_time: float = T0) -> QueueState:
    st = QueueState()
    st.set_connected(True)
    st.apply({"type": "queue", "items": list(items), "server_time": iso(server_time)}, T0)
    return st


def texts(entries) -> list[str]:
    return [e.text for e in entries]


def test_claim_fields_are_read_defensively():
    kate = Item.from_json(qitem(1, "Kate", 600, by="  Dana ", expires=T0 + 60))
    assert kate is not None and kate.claimed_by == "Dana" and kate.claim_expires == pytest.approx(T0 + 60)
    for junk in (None, 7, ["Dana"], "", "   "):
        item = Item.from_json(qitem(2, "Bob", 600, by=junk))
        assert item is not None and item.claimed_by == ""
    bad_time = Item.from_json({**qitem(3, "Cat", 600, by="Dana"), "claim_expires_at": "soon"})
    assert bad_time is not None and bad_time.claim_expires is None


def test_a_live_claim_names_its_holder_everywhere_and_only_for_its_post():
    st = connected(qitem(1, "Kate Mink", 300, "due_soon", by="Dana", expires=T0 + 90), qitem(2, "Bob Stone", 900))
    icon = icon_state(st, T0)
    assert icon.tooltip == ("Reply Desk: 2 posts waiting. Kate Mink on X (complaint) is due soon: 5m left (wall "
                            "clock). Dana is replying.")
    menu = build_menu(st, T0)
    assert texts(menu)[2:4] == ["Kate Mink · X · complaint · Dana is replying · 5m left (wall clock)",
                                "Bob Stone · X · complaint · 15m left (wall clock)"]
    note = NotifyPolicy().decide(st.apply({"type": "overdue", "item": qitem(1, "Kate Mink", -5, "overdue", by="Dana",
                                                                            expires=T0 + 90)}, T0), st, T0)
    assert [(n.title, n.message) for n in note] == [("Overdue: Kate Mink",
                                                     "Kate Mink on X (complaint): overdue 0m (wall clock); Dana is "
                                                     "replying")]



def test_the_trays_own_agents_claim_is_not_shown_as_someone_else_replying():
    st = connected(qitem(1, "Kate Mink", 300, "due_soon", by="Alex", expires=T0 + 90),
                   qitem(2, "Bob Stone", 900, by="Dana", expires=T0 + 90))
    assert st.replying(st.items["1"], T0) == "Alex is replying"  # not yet told who it is
    st.apply({"type": "hello", "version": "x", "agent": {"name": "Alex", "initials": "AL", "supervisor": False}}, T0)
    assert st.me == "Alex" and st.replying(st.items["1"], T0) == ""
    assert st.replying(st.items["2"], T0) == "Dana is replying"
    assert "replying" not in icon_state(st, T0).tooltip
    for junk in ({"type": "hello"}, {"type": "hello", "agent": "Alex"}, {"type": "hello", "agent": {"name": 3}}):
        assert st.apply(junk, T0) == [] and st.me == "Alex"  # an older server's hello changes nothing

def test_a_claim_on_a_post_that_is_not_the_most_urgent_stays_out_of_the_tooltip():
    st = connected(qitem(1, "Kate Mink", 300), qitem(2, "Bob Stone", 900, by="Dana", expires=T0 + 90))
    assert "replying" not in icon_state(st, T0).tooltip
    assert find(build_menu(st, T0), "Bob Stone").text == "Bob Stone · X · complaint · Dana is replying · 15m left " \
                                                         "(wall clock)"


def test_lapsed_claims_are_not_shown_on_the_servers_clock():
    st = connected(qitem(1, "Kate Mink", 300, by="Dana", expires=T0 + 30))
    assert "Dana is replying" in icon_state(st, T0 + 29.9).tooltip
    assert "replying" not in icon_state(st, T0 + 30).tooltip
    assert "replying" not in texts(build_menu(st, T0 + 30))[2]
    # The server's clock runs 100 s ahead of this machine's: the claim lapses 100 s earlier here.
    skewed = connected(qitem(1, "Kate Mink", 300, by="Dana", expires=T0 + 130), server_time=T0 + 100)
    assert "Dana is replying" in icon_state(skewed, T0 + 29).tooltip
    assert "replying" not in icon_state(skewed, T0 + 31).tooltip
    # No expiry sent (an older server): shown until an event says otherwise.
    assert "Dana is replying" in icon_state(connected(qitem(1, "Kate Mink", 300, by="Dana")), T0 + 10**6).tooltip


def test_the_tray_wakes_up_when_a_claim_lapses():
    # The minute shown changes in ~59.5 s; Dana's claim lapses in 12 s and the server sends nothing then.
    st = connected(qitem(1, "Kate Mink", 600, by="Dana", expires=T0 + 12))
    assert next_change_in(st, T0, cap=30) == pytest.approx(12.01)
    assert st.claims_lapsed(T0, T0 + 12) and not st.claims_lapsed(T0, T0 + 11.9)
    assert not st.claims_lapsed(T0 + 12, T0 + 20)  # already redrawn for it
    # Past the lapse, the next wake-up is the minute again; a claim on another post counts as well.
    assert next_change_in(st, T0 + 13, cap=120) == pytest.approx(59.51 - 13)
    two = connected(qitem(1, "Kate Mink", 600), qitem(2, "Bob", 900, by="Dana", expires=T0 + 4))
    assert next_change_in(two, T0, cap=30) == pytest.approx(4.01)
    offline = connected(qitem(1, "Kate Mink", 600, by="Dana", expires=T0 + 4))
    offline.set_connected(False)
    assert next_change_in(offline, T0, cap=30) == 30


def test_a_refusal_is_said_in_the_tooltip_and_the_menu_until_the_tray_connects():
    st = QueueState()
    st.set_problem("the server refused this token: it may be mistyped or revoked")
    assert icon_state(st, T0).tooltip == "Reply Desk: the server refused this token: it may be mistyped or revoked"
    assert icon_state(st, T0).level == "offline"
    assert texts(build_menu(st, T0))[0] == "The server refused this token: it may be mistyped or revoked"
    version = st.version
    st.set_connected(True)
    assert st.problem == "" and st.version > version
    assert texts(build_menu(st, T0))[0] == "No posts waiting"


# --- the app's glue, with pystray's dummy backend ---------------------------------------------------------------
@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("PYSTRAY_BACKEND", "dummy")
    import pystray

    from tray.app import TrayApp
    from tray.icon import render
    from tray.notify import Notifier
    from tray.state import IconState

    class HeadlessIcon(pystray.Icon):  # the dummy backend is pystray's abstract base: no native parts
        def _update_menu(self) -> None:
            pass

    def make(token: str | None = None) -> TrayApp:
        tray = TrayApp("http://127.0.0.1:9", tmp_path / "data", backend="dummy", token=token)
        tray.icon = HeadlessIcon("test", render(IconState("offline", None, 0, ""), 32), "t")
        tray.notifier = Notifier(icon=None, log_path="", runner=lambda cmd: None)
        return tray

    return make


def test_the_menu_drops_a_lapsed_claim_without_waiting_for_an_event(app):
    tray = app("agent-token")
    tray.on_status(True)
    # No server_time: the app would take the fixed T0 against this machine's clock for a skew.
    tray.on_event({"type": "queue", "items": [qitem(1, "Kate Mink", 600, by="Dana", expires=T0 + 12)]})
    tray.refresh(T0)
    assert "Dana is replying" in [str(i.text) for i in tray.icon.menu.items][2]
    assert "Dana is replying" in tray.icon.title
    tray.refresh(T0 + 12.01)  # what the ticker does when it wakes up for the lapse: no event, far from 30 s
    assert [str(i.text) for i in tray.icon.menu.items][2] == "Kate Mink · X · complaint · 10m left (wall clock)"
    assert "replying" not in tray.icon.title


def test_a_refused_agent_token_is_reported_once(app, capsys):
    tray = app("mistyped")
    for _ in range(3):  # three reconnect attempts, three refusals
        tray.on_refused(False)
    tray.refresh(T0)
    assert tray.icon.title.startswith("Reply Desk: the server refused this token")
    assert capsys.readouterr().err.count("the server refused this token") == 1
    tray.on_status(True)  # the server took it after all (e.g. it was restarted on the right database)
    tray.refresh(T0)
    assert tray.icon.title == "Reply Desk: no posts waiting"
    tray.on_status(False)
    tray.on_limited(30.0)  # a team server turning this address away after too many failed sign-ins
    tray.refresh(T0)
    assert tray.icon.title == ("Reply Desk: the server refuses sign-ins from this address for 30 s (too many "
                               "failed sign-ins); trying again then")


def test_a_pairing_token_is_read_again_before_the_refusal_is_reported(app, capsys):
    tray = app(None)
    tray.on_refused(False)  # the token read at start: the desk may have been re-paired since; read it again
    assert tray.state.problem == "" and capsys.readouterr().err == ""
    tray.on_refused(True)  # read again and still refused
    assert tray.state.problem.startswith("the server refused the pairing token")
    assert "refused the pairing token" in capsys.readouterr().err


@pytest.mark.parametrize(("server", "allowed", "problem"), [
    ("https://desk.example.com", False, ""),
    ("https://desk.example.com:8443/desk", False, ""),
    ("http://127.0.0.1:8765", False, ""),
    ("http://127.0.0.2:8765", False, ""),
    ("http://localhost:8765", False, ""),
    ("http://[::1]:8765", False, ""),
    ("http://[::ffff:127.0.0.1]:8765", False, ""),
    ("http://LOCALHOST.:8765", False, ""),
    ("http://127.example.com:8765", False, "plain HTTP to another machine"),
    ("http://desk.example.com", False, "plain HTTP to another machine"),
    ("http://10.0.0.5:8765", False, "plain HTTP to another machine"),
    ("http://desk.example.com", True, ""),
    ("desk.example.com", False, "is not a server address"),
    ("ftp://desk.example.com", True, "is not a server address"),
    ("https://", False, "is not a server address"),
])
def test_server_addresses(server: str, allowed: bool, problem: str):
    got = server_problem(server, allowed)
    assert (problem in got) if problem else got == "", got


# --- the event stream against the real app (in this process, real WebSocket) ----------------------------------
def test_a_pairing_token_refused_once_is_read_again_and_connects(live_server):
    reads, refusals, statuses = [], [], []

    def token(fresh: bool) -> str:  # the desk was re-paired since the tray read its token
        reads.append(fresh)
        return "the-old-token" if len(reads) == 1 else live_server.token

    stream = EventStream(live_server.url, token, lambda event: None, statuses.append,
                         on_refused=lambda fresh: refusals.append(fresh) or False)
    stream.start()
    try:
        wait_until(lambda: statuses == [True], 10, 0.05, "the hello after reading the token again")
        assert reads == [False, True] and refusals == [False]
    finally:
        stream.stop()
        stream.join(5)


def test_a_final_refusal_is_retried_seldom_and_does_not_hold_up_quitting(live_server):
    tries: list[float] = []
    stream = EventStream(live_server.url, lambda fresh: tries.append(time.monotonic()) or "mistyped",
                         lambda event: None, lambda connected: None, on_refused=lambda fresh: True)
    stream.start()
    wait_until(lambda: tries, 10, 0.05, "the first sign-in")
    time.sleep(1.5)  # without the hold the backoff would have tried again after ~0.5 s and ~1 s more
    assert len(tries) == 1 and REFUSED_RETRY >= 30
    quit_at = time.monotonic()
    stream.stop()
    stream.join(5)
    assert not stream.is_alive() and time.monotonic() - quit_at < 2


@pytest.mark.parametrize(("given", "wait"), [(30, 30.0), (0, 1.0), (10**9, LIMITED_MAX), ("30", REFUSED_RETRY),
                                             (True, REFUSED_RETRY), (float("nan"), REFUSED_RETRY),
                                             (None, REFUSED_RETRY)])
def test_a_rate_limit_is_waited_out_within_bounds(given: object, wait: float):
    assert limited_wait(given) == wait
