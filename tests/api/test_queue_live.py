"""Queue events on a real WebSocket connection to a running server: snapshot, changes, due_soon and overdue."""
from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_websocket import ConnectionClosed

from server.app import create_app
from server.config import REPO_ROOT
from tests.support.live import LiveServer, make_config
from tests.support.packs import FLAT_SLA, write_pack
from tests.support.ws import Ws

FAST_SLA = """
[sla]
due_soon_fraction = 0.5
[sla.x]
default_minutes = 0.05
[sla.facebook]
default_minutes = 600
"""


def make_packs(root: Path) -> Path:
    """The default pack, plus "fast" (3-second targets) and "flat" (no business hours: results that do not
    depend on the time of day the suite runs)."""
    shutil.copytree(REPO_ROOT / "prompts" / "default", root / "default")
    write_pack(root, "fast", FAST_SLA)
    write_pack(root, "flat", FLAT_SLA)
    return root


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    srv = LiveServer(create_app(make_config(tmp_path / "data", packs_dir=make_packs(tmp_path / "packs")))).start()
    yield srv
    srv.stop()




def is_queue(change: str | None = None, item_id: int | None = None, state: str | None = None):
    def pred(e: dict[str, Any]) -> bool:
        if e.get("type") != "queue" or e.get("change") != change:
            return False
        item = e.get("item") or {}
        return (item_id is None or item.get("id") == item_id or e.get("id") == item_id) and \
            (state is None or item.get("state") == state)
    return pred


def track(srv: LiveServer, n: int, pack: str = "flat", minutes_ago: float | None = None,
          platform: str = "x") -> dict[str, Any]:
    created = None if minutes_ago is None else \
        datetime.fromtimestamp(time.time() - minutes_ago * 60, UTC).isoformat().replace("+00:00", "Z")
    post = {"platform": platform, "post_id": str(n), "author": {"handle": f"user{n}", "name": None},
            "text": f"My order {n} has not arrived", "created_at": created}
    r = requests.post(f"{srv.url}/api/queue", json={"post": post, "pack": pack}, headers=srv.headers, timeout=30)
    assert r.status_code in (200, 201), r.text
    return r.json()


def act(srv: LiveServer, item_id: int, action: str, body: dict | None = None) -> dict[str, Any]:
    r = requests.post(f"{srv.url}/api/queue/{item_id}/{action}", json=body or {}, headers=srv.headers, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_snapshot_on_connect_then_every_change(server: LiveServer):
    late = track(server, 1, minutes_ago=300)
    soon = track(server, 2, minutes_ago=1)
    done = track(server, 3, minutes_ago=2)
    act(server, done["id"], "replied")
    ws = Ws(server)
    try:
        ws.next(lambda e: e["type"] == "hello")
        snap = ws.next(lambda e: e["type"] == "queue" and "items" in e)
        assert [i["id"] for i in snap["items"]] == [late["id"], soon["id"]]  # active only, by deadline
        assert snap["items"][0]["state"] == "overdue" and snap["server_time"].endswith("Z")
        assert snap["total"] == 2 and snap["truncated"] is False

        new = track(server, 4, platform="facebook")
        upsert = ws.next(is_queue("upsert", new["id"]))
        assert upsert["item"]["state"] == "waiting" and upsert["item"]["platform"] == "facebook"

        act(server, soon["id"], "replied")
        assert ws.next(is_queue("upsert", soon["id"]))["item"]["state"] == "replied"
        assert ws.next(is_queue("remove", soon["id"]))["reason"] == "replied"

        act(server, new["id"], "snooze", {"minutes": 10})
        assert ws.next(is_queue("upsert", new["id"]))["item"]["state"] == "snoozed"

        ws.send({"type": "queue_action", "id": late["id"], "action": "dismiss"})
        ack = ws.next(lambda e: e["type"] == "queue_action_done")
        assert ack["id"] == late["id"] and ack["item"]["state"] == "dismissed"
        assert ws.next(is_queue("remove", late["id"]))["reason"] == "dismissed"

        ws.send({"type": "queue_action", "id": 999, "action": "replied"})
        assert ws.next(lambda e: e["type"] == "error")["error"] == "not_found"
        ws.send({"type": "queue_action", "id": new["id"], "action": "snooze", "minutes": 99999})
        assert ws.next(lambda e: e["type"] == "error")["error"] == "invalid_snooze"
        ws.send({"type": "queue_action", "id": "x", "action": "explode"})
        assert ws.next(lambda e: e["type"] == "error")["error"] == "invalid_action"

        ws.send({"type": "queue_snapshot"})
        again = ws.next(lambda e: e["type"] == "queue" and "items" in e)
        assert [i["id"] for i in again["items"]] == [new["id"]]
    finally:
        ws.close()


def test_due_soon_and_overdue_are_pushed_by_the_server_scheduler(server: LiveServer):
    ws = Ws(server)
    try:
        ws.next(lambda e: e["type"] == "queue" and "items" in e)
        # The fast pack: a 3-second target on X, due soon when half of it is left.
        item = track(server, 10, pack="fast")
        assert item["state"] == "waiting" and item["target_minutes"] == 0.05, json.dumps(item)
        due_soon = ws.next(lambda e: e["type"] == "due_soon", timeout=30)
        assert due_soon["item"]["id"] == item["id"] and due_soon["item"]["state"] == "due_soon"
        assert due_soon["server_time"] >= item["due_soon_at"]  # sent by the server when it happened, not before
        overdue = ws.next(lambda e: e["type"] == "overdue", timeout=30)
        assert overdue["item"]["id"] == item["id"] and overdue["item"]["state"] == "overdue"
        assert overdue["server_time"] >= item["deadline"]
        # Each crossing was announced once: nothing more for this item by the time a snapshot round-trips.
        ws.send({"type": "queue_snapshot"})
        snap = ws.next(lambda e: e["type"] == "queue" and "items" in e)
        assert [e["type"] for e in ws.seen if e["type"] in ("due_soon", "overdue")] == ["due_soon", "overdue"]
        assert snap["items"][0]["state"] == "overdue"
        # A later connection sees the state in its snapshot.
        other = Ws(server)
        try:
            later = other.next(lambda e: e["type"] == "queue" and "items" in e)
            assert later["items"][0]["id"] == item["id"] and later["items"][0]["state"] == "overdue"
        finally:
            other.close()
        # A snooze that ends re-alerts the agent in whatever state the post is then.
        act(server, item["id"], "snooze", {"until": datetime.fromtimestamp(time.time() + 2.0, UTC).isoformat()})
        again = ws.next(lambda e: e["type"] == "overdue", timeout=30)
        assert again["item"]["id"] == item["id"] and again["item"]["snoozed_until"] is None
    finally:
        ws.close()


def test_suggest_over_rest_tracks_and_pushes(server: LiveServer):
    ws = Ws(server)
    try:
        ws.next(lambda e: e["type"] == "queue" and "items" in e)
        post = {"platform": "x", "post_id": "77", "author": {"handle": "kate", "name": "Kate Mink"},
                "text": "My kettle arrived broken", "created_at": None}
        r = requests.post(f"{server.url}/api/suggest", json={"post": post}, headers=server.headers, timeout=30)
        assert r.status_code == 200 and r.json()["deadline"].endswith("Z")
        assert ws.next(is_queue("upsert"))["item"]["post_id"] == "77"
    finally:
        ws.close()


def test_no_queue_without_the_token(server: LiveServer):
    track(server, 20)
    ws = Ws(server, token="wrong")
    try:
        first = ws.next(lambda e: True)
        assert first["type"] == "error" and first["error"] == "unauthorized"
        with pytest.raises((ConnectionClosed, AssertionError)):
            ws.next(lambda e: e.get("type") == "queue", timeout=3)
        assert not any(e.get("type") == "queue" for e in ws.seen)
    finally:
        ws.close()


def test_escalation_sent_replies_and_posts_without_a_clock_on_a_real_websocket(server: LiveServer):
    ws = Ws(server)
    try:
        ws.next(lambda e: e["type"] == "queue" and "items" in e)
        post = {"platform": "x", "post_id": "fire-1", "author": {"handle": "fay", "name": "Fay Bell"},
                "text": "The charger you sold me caught fire last night and burned my hand."}
        r = requests.post(f"{server.url}/api/queue", json={"post": post, "pack": "flat"}, headers=server.headers,
                          timeout=30)
        assert r.status_code == 201 and r.json()["escalated"] is True, r.text
        item_id = r.json()["id"]
        esc = ws.next(is_queue("escalated", item_id))
        assert esc["reason"] == "legal_safety" and esc["item"]["escalated"] is True
        ws.send({"type": "queue_action", "id": item_id, "action": "replied",
                 "reply": "Fay, I'm so sorry. I've escalated this to our safety team; please DM us your order."})
        ack = ws.next(lambda e: e["type"] == "queue_action_done" and e["id"] == item_id)
        assert ack["item"]["reply"].startswith("Fay, I'm so sorry.") and ack["item"]["replied_by"] == "agent"
        assert ws.next(is_queue("upsert", item_id))["item"]["reply"] == ack["item"]["reply"]
        exported = requests.get(f"{server.url}/api/queue/export", headers=server.headers, timeout=30).json()
        assert [i["reply"] for i in exported["items"] if i["id"] == item_id] == [ack["item"]["reply"]]
        # Through suggest: an abusive post is tracked without a clock, the answer carries no deadline.
        abuse = {"platform": "x", "post_id": "abuse-1", "author": {"handle": "max", "name": "Max"},
                 "text": "You are all useless idiots, shut up"}
        answer = requests.post(f"{server.url}/api/suggest", json={"post": abuse, "pack": "flat"},
                               headers=server.headers, timeout=60).json()
        assert answer["analysis"]["intent"] == "abuse", answer
        assert answer["deadline"] is None and answer["queue_item"]["state"] == "no_reply"
        listing = requests.get(f"{server.url}/api/queue", headers=server.headers, timeout=30).json()
        assert listing["counts"]["no_reply"] == 1 and all(i["id"] != answer["queue_item"]["id"]
                                                          for i in listing["items"])
    finally:
        ws.close()
