"""Team mode over the /ws WebSocket: a socket acts as the agent whose token signed it in (claims, replies and
suggestions record them, as over HTTP), a revoked agent's socket is refused and closed, wrong first-message
tokens count against the per-address sign-in limit that HTTP uses, and the console's cookie is Secure over
HTTPS. Real servers on loopback (Werkzeug, threaded) and real WebSocket and HTTP clients."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_websocket import Client

from server.app import create_app
from server.team.agents import Agents
from tests.support.admin import PASSWORD, make_admin_app
from tests.support.live import LiveServer, make_config
from tests.support.ws import Ws

IDLE = 60.0  # claim_idle_seconds
POLICY_VIOLATION = 1008
HOSTS = ("desk.example.com",)
# What nginx in front of a team server says about an agent on another machine (trusted with trusted_proxies=1).
VIA_PROXY = {"X-Forwarded-For": "10.0.0.5", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "desk.example.com"}
Event = dict[str, Any]




class Desk:
    """A live team desk on SQLite with agents Dana, Sam and Lee (a supervisor) and a settable queue clock."""

    def __init__(self, tmp: Path, **kw: Any) -> None:
        self.srv = LiveServer(create_app(make_config(tmp / "data", claim_idle_seconds=IDLE, **kw))).start()
        self.svc = self.srv.app.extensions["replydesk"]
        self.t = time.time()
        self.svc.queue.clock = lambda: self.t
        self.tokens = {"Dana": self.svc.agents.add("Dana", "DK"), "Sam": self.svc.agents.add("Sam"),
                       "Lee": self.svc.agents.add("Lee", supervisor=True), "desk": self.srv.token}
        self.sockets: list[Ws] = []

    def ws(self, who: str, headers: dict[str, str] | None = None) -> Ws:
        sock = Ws(self.srv, self.tokens.get(who, who), headers)
        self.sockets.append(sock)
        return sock

    def signed_in(self, who: str) -> Ws:
        sock = self.ws(who)
        sock.next(lambda e: e["type"] == "hello")
        return sock

    def track(self, n: int) -> int:
        post = {"platform": "x", "post_id": f"p{n}", "author": {"handle": f"kate{n}", "name": "Kate"},
                "text": "My order never arrived and nobody answers."}
        r = requests.post(f"{self.srv.url}/api/queue", json={"post": post}, headers=self.srv.headers, timeout=30)
        assert r.status_code in (200, 201), r.text
        return r.json()["id"]

    def history(self, item: int) -> list[tuple[str, str | None]]:
        return [(h["event"], h["by"]) for h in self.svc.queue.store.history(item)]

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.srv.stop()


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    d = Desk(tmp_path)
    yield d
    d.close()



def test_the_hello_names_the_agent_the_token_signs_in_as(desk: Desk):
    """Clients (the tray, the extension) tell their own claims from a teammate's by this name."""
    hellos = {who: desk.ws(who).next(lambda e: e["type"] == "hello") for who in ("Dana", "Lee", "desk")}
    assert hellos["Dana"]["agent"] == {"name": "Dana", "initials": "DK", "supervisor": False}
    assert hellos["Lee"]["agent"]["supervisor"] is True
    assert hellos["desk"]["agent"]["name"] == desk.svc.config.agent_name

def test_ws_writes_record_the_agent_who_signed_in(desk: Desk):
    first, second = desk.track(1), desk.track(2)
    dana, sam, lee, own = (desk.signed_in(who) for who in ("Dana", "Sam", "Lee", "desk"))
    assert dana.act(first, "claim")["item"]["claimed_by"] == "Dana"
    refused = sam.act(first, "claim")
    assert refused["type"] == "error" and refused["error"] == "claimed" and "Dana" in refused["message"]
    assert sam.act(first, "claim", takeover=True)["error"] == "takeover_not_allowed"  # Sam is no supervisor
    assert lee.act(first, "claim", takeover=True)["item"]["claimed_by"] == "Lee"
    assert lee.act(first, "release")["item"]["claimed_by"] is None
    done = sam.act(first, "replied", reply="Hi Kate, it is on its way. ^SA")
    assert done["item"]["replied_by"] == "Sam"
    assert dana.act(second, "snooze", minutes=5)["type"] == "queue_action_done"
    assert dana.act(second, "escalate", reason="wants a manager")["item"]["escalated"] is True
    assert own.act(second, "claim")["item"]["claimed_by"] == desk.svc.config.agent_name  # the pairing token
    assert own.act(second, "dismiss")["type"] == "queue_action_done"
    assert desk.history(first)[1:] == [("claimed", "Dana"), ("claim_taken_over", "Lee"), ("released", "Lee"),
                                       ("replied", "Sam")]
    assert [by for _, by in desk.history(second)[1:]] == ["Dana", "Dana", "agent", "agent"]


def test_a_ws_suggestion_is_the_agents_and_keeps_their_claim_live(desk: Desk):
    post = {"platform": "x", "post_id": "s1", "author": {"handle": "kim"}, "text": "Where is my refund?"}
    dana, sam = desk.signed_in("Dana"), desk.signed_in("Sam")

    def suggest(sock: Ws, req: str) -> Event:
        sock.ws.send(json.dumps({"type": "suggest", "id": req, "post": post}))
        return sock.next(lambda e: e.get("id") == req and e["type"] in ("done", "error"))

    item = suggest(dana, "r1")["queue_item"]["id"]
    assert desk.history(item)[0] == ("tracked", "Dana")  # tracked by the socket's agent, not the desk's
    dana.act(item, "claim")
    desk.t += IDLE - 5
    suggest(dana, "r2")  # the holder works on the post over the socket: the claim stays live...
    desk.t += IDLE - 5
    refused = sam.act(item, "claim")
    assert refused["type"] == "error" and refused["error"] == "claimed"  # ...so Sam cannot take it
    desk.t += 10
    assert sam.act(item, "claim")["item"]["claimed_by"] == "Sam"  # once Dana has been idle long enough he can


def test_a_revoked_agents_sockets_are_refused_and_closed(desk: Desk):
    item = desk.track(1)
    working, idle, sam = desk.signed_in("Dana"), desk.signed_in("Dana"), desk.signed_in("Sam")
    desk.svc.agents.revoke("Dana")  # on this process: at once
    working.ws.send(json.dumps({"type": "queue_action", "id": item, "action": "claim"}))
    for sock in (working, idle):  # the one that writes and the one that only listens
        closed = sock.closed(timeout=10)
        assert closed.reason == POLICY_VIOLATION and "unauthorized" in sock.errors()
        assert not any(e["type"] == "queue_action_done" for e in sock.seen)
    assert desk.history(item) == [("tracked", "agent")]  # the write did not happen
    assert sam.act(item, "claim")["item"]["claimed_by"] == "Sam"  # other agents' sockets carry on
    again = desk.ws("Dana")
    assert again.closed().reason == POLICY_VIOLATION and again.errors() == ["unauthorized"]


def test_a_revocation_by_another_process_closes_the_socket_within_the_token_cache(desk: Desk):
    dana = desk.signed_in("Dana")
    # `python -m server revoke-agent` runs in a process of its own: this server's cache is not dropped.
    other = Agents(desk.svc.queue.store.db)
    other.revoke("Dana")
    start = time.monotonic()
    closed = dana.closed(timeout=20)
    assert closed.reason == POLICY_VIOLATION and dana.errors() == ["unauthorized"]
    assert time.monotonic() - start < 15  # CACHE_SECONDS (5) plus a re-check, with room for a busy machine


def test_wrong_ws_tokens_count_against_the_address_limit(tmp_path: Path):
    desk = Desk(tmp_path, allowed_hosts=HOSTS, trusted_proxies=1)
    try:
        def http(token: str, via: dict[str, str] = VIA_PROXY) -> requests.Response:
            return requests.get(f"{desk.srv.url}/api/queue", headers={**via, "Authorization": f"Bearer {token}"},
                                timeout=30)

        def first(sock: Ws) -> Event:
            return sock.next(lambda e: e["type"] in ("hello", "error"))

        for i in range(9):
            wrong = desk.ws(f"guess-{i}", VIA_PROXY)
            assert first(wrong)["error"] == "unauthorized" and wrong.closed().reason == POLICY_VIOLATION
            assert first(desk.ws("Dana", VIA_PROXY))["type"] == "hello"  # successes neither count nor forgive
            silent = Client.connect(desk.srv.ws_url, headers=VIA_PROXY)  # not an auth message: guesses nothing
            silent.send(json.dumps({"type": "queue_snapshot"}))
            assert json.loads(silent.receive(timeout=10))["error"] == "unauthorized"
            silent.close()
        assert http("guess-9").status_code == 401  # the tenth failure, over HTTP: one limit for both
        limited = desk.ws("Dana", VIA_PROXY)  # the right token now waits too, and is not even looked at
        refusal = first(limited)
        assert refusal["error"] == "rate_limited" and 1 <= refusal["retry_after"] <= 60
        assert str(refusal["retry_after"]) in refusal["message"]
        assert limited.closed().reason == POLICY_VIOLATION
        r = http(desk.tokens["Dana"])
        assert r.status_code == 429 and r.headers["Retry-After"]
        other = {**VIA_PROXY, "X-Forwarded-For": "10.0.0.6"}
        assert first(desk.ws("Dana", other))["type"] == "hello"  # per address
        for i in range(12):  # loopback is the server's own machine: never counted
            assert first(desk.ws(f"local-{i}"))["error"] == "unauthorized"
        assert first(desk.ws("Dana"))["type"] == "hello"
    finally:
        desk.close()


def cookie_of(srv: LiveServer, headers: dict[str, str] | None = None) -> str:
    """The console's Set-Cookie header as the server sent it (the sign-in page starts a session)."""
    r = requests.get(f"{srv.url}/admin/login", headers=headers or {}, timeout=30)
    assert r.status_code == 200, r.text
    return r.headers["Set-Cookie"]


def attributes(set_cookie: str) -> set[str]:
    return {part.strip().split("=", 1)[0].lower() for part in set_cookie.split(";")[1:]}


def test_the_console_cookie_is_secure_over_https_only(tmp_path: Path):
    plain = LiveServer(make_admin_app(tmp_path / "plain")).start()  # `make run`: loopback over plain HTTP
    team = LiveServer(make_admin_app(tmp_path / "team", allowed_hosts=HOSTS, trusted_proxies=1)).start()
    lab = LiveServer(make_admin_app(tmp_path / "lab", allowed_hosts=HOSTS, trusted_proxies=1,
                                    insecure_http=True)).start()
    try:
        local = cookie_of(plain)
        assert local.startswith("replydesk_admin=") and attributes(local) >= {"httponly", "samesite", "path"}
        assert "secure" not in attributes(local)
        assert "secure" in attributes(cookie_of(team, VIA_PROXY))  # HTTPS as nginx tells it
        assert "secure" not in attributes(cookie_of(team))  # the team server's own machine, plain HTTP
        # Signed in over HTTPS, the session's cookie stays Secure. (The browser's side of the TLS hop is nginx's
        # here, so the cookie goes back by hand: a client keeps a Secure cookie off plain http:// addresses.)
        page = requests.get(f"{team.url}/admin/login", headers=VIA_PROXY, timeout=30)
        csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        jar = requests.Session()
        jar.cookies.update(page.cookies)
        assert not jar.get(f"{team.url}/admin/login", headers=VIA_PROXY, timeout=30).request.headers.get("Cookie")
        sent = page.headers["Set-Cookie"].split(";", 1)[0]
        signed = requests.post(f"{team.url}/admin/login", headers={**VIA_PROXY, "Cookie": sent},
                               allow_redirects=False, timeout=30,
                               data={"name": "alice", "password": PASSWORD, "csrf_token": csrf})
        assert signed.status_code in (302, 303) and "secure" in attributes(signed.headers["Set-Cookie"])
        # REPLYDESK_INSECURE_HTTP=1 on purpose: plain HTTP from the network, so a Secure cookie would not work.
        over_http = {k: v for k, v in VIA_PROXY.items() if k != "X-Forwarded-Proto"}
        assert "secure" not in attributes(cookie_of(lab, over_http))
    finally:
        for srv in (plain, team, lab):
            srv.stop()
