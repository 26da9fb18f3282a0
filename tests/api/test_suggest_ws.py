"""Suggest over a real WebSocket (/ws) against a real chat-completions server: deltas, done, faults, errors."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from simple_websocket import Client, ConnectionClosed

from server.app import create_app
from tests.support.fake_llm import DEFAULT_REPLY
from tests.support.live import LiveServer, make_config
from tests.support.paths import DATA
from tests.support.waiting import wait_until

TIMEOUT = 1.5


@pytest.fixture(autouse=True)
def _fresh(fake):
    fake.reset()
    fake.chunk_delay = 0.0
    yield


@pytest.fixture
def server(fake, tmp_path):
    srv = LiveServer(create_app(make_config(tmp_path / "data", llm_base_url=fake.url, llm_model="fake-model",
                                            llm_timeout=TIMEOUT))).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def post() -> dict[str, Any]:
    return json.loads((DATA / "sample_posts.json").read_text())[0]


class WS:
    def __init__(self, srv: LiveServer) -> None:
        self.ws = Client.connect(srv.ws_url)
        self.ws.send(json.dumps({"type": "auth", "token": srv.token}))
        self.backlog: list[dict[str, Any]] = []

    def send(self, msg: dict[str, Any]) -> None:
        self.ws.send(json.dumps(msg))

    def events_for(self, req_id: Any, wait: float = 20.0) -> list[dict[str, Any]]:
        """Every event for `req_id` up to and including its done or error (others stay in the backlog)."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            raw = self.ws.receive(timeout=0.5)
            if raw is None:
                continue
            event = json.loads(raw)
            if event.get("id") != req_id:
                self.backlog.append(event)
                continue
            got.append(event)
            if event["type"] in ("done", "error"):
                return got
        raise AssertionError(f"no done/error for {req_id!r} within {wait} s; got {got}")

    def close(self) -> None:
        try:
            self.ws.close()
        except ConnectionClosed:
            pass


@pytest.fixture
def ws(server):
    client = WS(server)
    yield client
    client.close()


def test_streamed_reply_then_done_with_analysis_and_tone(fake, ws, post):
    fake.chunk_delay = 0.005
    ws.send({"type": "suggest", "id": "r1", "post": post})
    events = ws.events_for("r1")
    deltas = [e for e in events if e["type"] == "delta"]
    done = events[-1]
    assert done["type"] == "done" and len(deltas) > 3
    assert "".join(d["text"] for d in deltas) == done["reply"] == DEFAULT_REPLY
    assert done["engine"] == "openai" and "fallback_reason" not in done
    assert done["analysis"]["intent"] and done["tone"]["length"]["count"] > 0
    assert done["pack"]["name"] == "default" and done["elapsed_ms"] > 0
    assert fake.requests[-1]["body"]["stream"] is True


def test_same_request_without_streaming_over_http(fake, server, ws, post):
    ws.send({"type": "suggest", "id": "s", "post": post, "options": {"style": "shorter"}})
    streamed = ws.events_for("s")[-1]
    resp = requests.post(f"{server.url}/api/suggest", json={"post": post, "options": {"style": "shorter"}},
                         headers=server.headers, timeout=20)
    assert resp.status_code == 200
    whole = resp.json()
    assert whole["reply"] == streamed["reply"] == DEFAULT_REPLY
    assert whole["engine"] == streamed["engine"] == "openai"
    assert [r["body"]["stream"] for r in fake.requests] == [True, False]
    assert fake.requests[0]["body"]["messages"] == fake.requests[1]["body"]["messages"]


@pytest.mark.parametrize(("mode", "reason"), [
    ("slow", "timeout"), ("trickle", "timeout"), ("429", "rate_limited"), ("fail500", "server_error"),
    ("garbage", "bad_response"), ("die_midstream", "connection_error"), ("bad_reply", "guard_blocked"),
])
def test_faults_end_in_the_playbook_reply_over_ws(fake, ws, post, mode, reason):
    fake.mode = mode
    started = time.monotonic()
    ws.send({"type": "suggest", "id": mode, "post": post})
    events = ws.events_for(mode)
    elapsed = time.monotonic() - started
    done = events[-1]
    assert done["type"] == "done"
    assert (done["engine"], done["fallback_reason"]) == ("playbook", reason)
    assert done["reply"] and done["reply"] != fake.bad_reply
    assert elapsed < TIMEOUT + 5  # "slow" answers after 30 s, "trickle" never: the deadline decides


def test_bad_request_gets_an_error_event_with_the_id(ws, post):
    ws.send({"type": "suggest", "id": "bad", "post": {"platform": "myspace"}})
    assert ws.events_for("bad")[-1]["type"] == "error"
    ws.send({"type": "suggest", "id": "badopt", "post": post, "options": {"style": "sarcastic"}})
    err = ws.events_for("badopt")[-1]
    assert (err["type"], err["error"]) == ("error", "invalid_options")
    ws.send({"type": "suggest", "id": "nopack", "post": post, "pack": "nope"})
    assert ws.events_for("nopack")[-1]["error"] == "unknown_pack"


def wait_for_model_requests(fake, count: int) -> None:
    """Block until the model has seen `count` requests, so a scripted step goes to the request meant for it."""
    wait_until(lambda: len(fake.requests) >= count, 10, 0.01, f"the model to see {count} request(s)")


def test_socket_keeps_serving_while_a_suggest_runs(fake, ws, post):
    fake.script.append({"mode": "slow"})  # the first request hangs until the deadline
    ws.send({"type": "suggest", "id": "slow", "post": post})
    wait_for_model_requests(fake, 1)  # two requests in flight reach the model in either order otherwise
    ws.send({"type": "suggest", "id": "fast", "post": post})
    fast = ws.events_for("fast")[-1]
    assert fast["type"] == "done" and fast["engine"] == "openai"
    slow = ws.events_for("slow")[-1]
    assert slow["fallback_reason"] == "timeout"


def test_a_second_suggest_with_the_same_id_supersedes_the_first(fake, ws, post):
    fake.script.append({"mode": "slow"})
    ws.send({"type": "suggest", "id": "x1", "post": post})
    wait_for_model_requests(fake, 1)
    ws.send({"type": "suggest", "id": "x1", "post": post, "options": {"variant": 1}})
    first = ws.events_for("x1")
    assert first[-1]["type"] == "done" and first[-1]["engine"] == "openai"
    # the superseded one times out on its own later, and sends nothing
    time.sleep(TIMEOUT + 0.5)
    late = [json.loads(raw) for raw in iter(lambda: ws.ws.receive(timeout=0.3), None)]
    assert [e for e in late if e.get("id") == "x1"] == []


def test_playbook_only_server_streams_one_delta(tmp_path, post):
    srv = LiveServer(create_app(make_config(tmp_path / "data"))).start()
    client = WS(srv)
    try:
        client.send({"type": "suggest", "id": 7, "post": post})
        events = client.events_for(7)
        assert [e["type"] for e in events] == ["delta", "done"]
        assert events[0]["text"] == events[1]["reply"] and events[1]["engine"] == "playbook"
    finally:
        client.close()
        srv.stop()


def test_suggest_needs_the_token(server, post):
    client = Client.connect(server.ws_url)
    try:
        client.send(json.dumps({"type": "suggest", "id": "r", "post": post}))
        first = json.loads(client.receive(timeout=5))
        assert first["type"] == "error" and first["error"] == "unauthorized"
    finally:
        try:
            client.close()
        except ConnectionClosed:
            pass
