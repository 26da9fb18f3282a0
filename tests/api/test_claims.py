"""Claims: one agent per post, 409 naming the holder, expiry when the holder goes idle, a supervisor's takeover,
/ws events for every claim change, and exactly one winner when two agents claim at the same instant."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from server.queue import claims
from tests.support.agents import IDLE, TeamDesk


@pytest.fixture
def desk(tmp_path: Path):
    d = TeamDesk(tmp_path / "data")
    yield d
    d.close()


def test_one_agent_per_post_with_the_holder_named(desk: TeamDesk):
    item = desk.track()
    got = desk.client("Dana").post(f"/api/queue/{item}/claim")
    assert got.status_code == 200 and got.json["claimed_by"] == "Dana"
    assert got.json["claim_expires_at"].startswith("2030-03-17T17:47:")  # t + IDLE, ISO
    refused = desk.client("Sam").post(f"/api/queue/{item}/claim")
    assert refused.status_code == 409
    assert refused.json == {"error": "claimed", "message": "Dana is replying", "claimed_by": "Dana"}
    assert desk.client("Sam").get(f"/api/queue/{item}").json["claimed_by"] == "Dana"
    listed = desk.client("Sam").get("/api/queue").json["items"]
    assert [(i["id"], i["claimed_by"]) for i in listed] == [(item, "Dana")]
    no = desk.client("Sam").post(f"/api/queue/{item}/claim", json={"takeover": True})
    assert no.status_code == 403 and no.json["claimed_by"] == "Dana"
    assert desk.client("Sam").delete(f"/api/queue/{item}/claim").status_code == 403
    taken = desk.client("Lee").post(f"/api/queue/{item}/claim", json={"takeover": True})
    assert taken.status_code == 200 and taken.json["claimed_by"] == "Lee"
    released = desk.client("Lee").delete(f"/api/queue/{item}/claim")
    assert released.status_code == 200 and released.json["claimed_by"] is None
    assert released.json["claim_expires_at"] is None
    assert desk.client("Sam").delete(f"/api/queue/{item}/claim").status_code == 200  # unclaimed: a no-op
    assert desk.client("Sam").post("/api/queue/999/claim").status_code == 404
    assert desk.client("Sam").delete("/api/queue/999/claim").status_code == 404
    assert desk.history(item)[-3:] == [("claimed", "Dana"), ("claim_taken_over", "Lee"), ("released", "Lee")]


def test_bad_claim_bodies_are_clear_4xx(desk: TeamDesk):
    item = desk.track()
    c = desk.client("Dana")
    assert c.post(f"/api/queue/{item}/claim", data="{", content_type="application/json").status_code == 400
    assert c.post(f"/api/queue/{item}/claim", json=[1]).status_code == 400
    assert c.post(f"/api/queue/{item}/claim", json={}).json["claimed_by"] == "Dana"
    assert desk.app.test_client().post(f"/api/queue/{item}/claim").status_code == 401


def test_claims_lapse_when_the_holder_goes_idle_and_close_with_the_post(desk: TeamDesk):
    item = desk.track()
    desk.client("Dana").post(f"/api/queue/{item}/claim")
    desk.t += IDLE - 10
    assert desk.client("Dana").post(f"/api/queue/{item}/claim").status_code == 200  # renewed
    desk.t += IDLE - 10
    assert desk.client("Sam").post(f"/api/queue/{item}/claim").status_code == 409  # idle < IDLE since the renewal
    desk.t += 20
    assert desk.client("Sam").get(f"/api/queue/{item}").json["claimed_by"] is None  # lapsed
    assert desk.client("Sam").post(f"/api/queue/{item}/claim").json["claimed_by"] == "Sam"
    done = desk.client("Sam").post(f"/api/queue/{item}/replied", json={"reply": "Hi Kate, sorted. ^SA"})
    assert done.json["claimed_by"] is None and done.json["replied_by"] == "Sam"
    closed = desk.client("Dana").post(f"/api/queue/{item}/claim")
    assert closed.status_code == 409 and closed.json["error"] == "closed"
    other = desk.track(2)
    desk.client("Dana").post(f"/api/queue/{other}/claim")
    assert desk.client("Dana").post(f"/api/queue/{other}/dismiss").json["claimed_by"] is None


def test_a_suggestion_for_the_post_keeps_the_holders_claim_live(desk: TeamDesk):
    post = {"platform": "x", "post_id": "s1", "author": {"handle": "kim"}, "text": "Where is my refund?"}
    item = desk.client("Dana").post("/api/queue", json={"post": post}).json["id"]
    desk.client("Dana").post(f"/api/queue/{item}/claim")
    desk.t += IDLE - 5
    desk.client("Sam").post("/api/suggest", json={"post": post})  # someone else's suggestion renews nothing
    desk.client("Dana").post("/api/suggest", json={"post": post})
    desk.t += IDLE - 5
    refused = desk.client("Sam").post(f"/api/queue/{item}/claim")
    assert refused.status_code == 409 and refused.json["claimed_by"] == "Dana"


def test_every_claim_change_is_published(desk: TeamDesk):
    events: list[dict[str, Any]] = []
    desk.svc.hub.publish = events.append  # type: ignore[method-assign]
    item = desk.track()
    events.clear()
    desk.client("Dana").post(f"/api/queue/{item}/claim")
    desk.client("Dana").post(f"/api/queue/{item}/claim")  # a renewal moves claim_expires_at: published too
    desk.client("Dana").delete(f"/api/queue/{item}/claim")
    desk.client("Dana").delete(f"/api/queue/{item}/claim")  # a no-op: nothing to tell
    assert [(e["change"], e.get("action"), e["item"]["claimed_by"]) for e in events] == [
        ("upsert", "claimed", "Dana"), ("upsert", "claimed", "Dana"), ("upsert", "released", None)]


def test_the_ws_claims_and_releases(desk: TeamDesk):
    item = desk.track()
    sent: list[dict[str, Any]] = []

    class Session:
        agent = None

        def send(self, msg: dict[str, Any]) -> None:
            sent.append(msg)

        def error(self, code: str, message: str, ref: Any = None) -> None:
            sent.append({"type": "error", "error": code})

    handler = desk.svc.ws_handlers["queue_action"]
    with desk.app.app_context():
        handler(Session(), {"type": "queue_action", "id": item, "action": "claim"})
        handler(Session(), {"type": "queue_action", "id": item, "action": "release"})
        handler(Session(), {"type": "queue_action", "id": item, "action": "grab"})
    assert sent[0]["type"] == "queue_action_done" and sent[0]["item"]["claimed_by"] == desk.svc.config.agent_name
    assert sent[1]["item"]["claimed_by"] is None
    assert sent[2] == {"type": "error", "error": "invalid_action"}


def test_the_claim_decisions_are_pure():
    from server.team.agents import Agent

    row = {"claimed_by": "Dana", "claim_active_at": 100.0, "replied_at": None, "dismissed_at": None}
    assert claims.holder(row, 159.9, 60) == "Dana" and claims.holder(row, 160.0, 60) is None
    assert claims.decide_claim(row, Agent("Sam"), 170.0, 60, False)[1]["claimed_by"] == "Sam"  # lapsed: free
    assert claims.decide_release({**row, "claimed_by": None}, Agent("Sam"), 120.0, 60) is None


def test_two_agents_claiming_at_the_same_instant_exactly_one_wins(desk: TeamDesk):
    for n in range(50):
        item = desk.track(100 + n)
        barrier = threading.Barrier(2)
        codes: dict[str, int] = {}

        def go(who: str, item: int = item, barrier: threading.Barrier = barrier, codes: dict = codes) -> None:
            client = desk.client(who)
            barrier.wait()
            codes[who] = client.post(f"/api/queue/{item}/claim").status_code

        threads = [threading.Thread(target=go, args=(w,)) for w in ("Dana", "Sam")]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sorted(codes.values()) == [200, 409], (n, codes)
        winner = next(w for w, code in codes.items() if code == 200)
        assert desk.client("Lee").get(f"/api/queue/{item}").json["claimed_by"] == winner
