"""Agents with tokens of their own: they authenticate, are stored hashed, revoke, and every write records who."""
from __future__ import annotations

from pathlib import Path

import pytest

from server.core.errors import Conflict, Invalid, NotFound
from server.team import agents as agents_mod
from server.team.agents import Agent, Agents, token_hash
from tests.support.agents import TeamDesk


@pytest.fixture
def desk(tmp_path: Path):
    d = TeamDesk(tmp_path / "data")
    yield d
    d.close()


def test_agent_tokens_authenticate_and_are_stored_hashed(desk: TeamDesk):
    assert desk.client("Dana").get("/api/queue").status_code == 200
    assert desk.client("desk").get("/api/queue").status_code == 200  # the pairing token keeps working
    bad = desk.app.test_client().get("/api/queue", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json["error"] == "unauthorized"
    listed = desk.svc.agents.list()
    assert [(a["name"], a["initials"], bool(a["supervisor"])) for a in listed] == [
        ("Dana", "DK", False), ("Lee", "L", True), ("Sam", "S", False)]
    with desk.svc.queue.store.db.read() as conn:
        from sqlalchemy import text

        stored = {r[0] for r in conn.execute(text("SELECT token_hash FROM agents"))}
    assert token_hash(desk.tokens["Dana"]) in stored and desk.tokens["Dana"] not in stored
    assert desk.svc.agents.authenticate(desk.tokens["Lee"]) == Agent("Lee", "L", True)


def test_revocation_locks_out_and_add_agent_issues_a_new_token(desk: TeamDesk):
    old = desk.tokens["Sam"]
    desk.svc.agents.revoke("Sam")
    assert desk.client("Sam").get("/api/queue").status_code == 401
    assert [a["revoked_at"] is not None for a in desk.svc.agents.list() if a["name"] == "Sam"] == [True]
    with pytest.raises(NotFound):
        desk.svc.agents.revoke("Sam")
    desk.tokens["Sam"] = desk.svc.agents.add("Sam")
    assert desk.client("Sam").get("/api/queue").status_code == 200
    assert desk.svc.agents.authenticate(old) is None


def test_another_process_revoking_takes_effect_within_the_cache_window(desk: TeamDesk, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(agents_mod.time, "monotonic", lambda: clock[0])
    token = desk.tokens["Dana"]
    assert desk.svc.agents.authenticate(token) is not None  # cached now
    Agents(desk.svc.queue.store.db).revoke("Dana")  # another process's Agents: this one's cache is warm
    clock[0] += agents_mod.CACHE_SECONDS - 1
    assert desk.svc.agents.authenticate(token) is not None
    clock[0] += 1.01
    assert desk.svc.agents.authenticate(token) is None


def test_bad_agent_names_are_refused_clearly(desk: TeamDesk):
    for name in ("", "  ", "1abc", "x" * 41, "Dana<script>"):
        with pytest.raises(Invalid):
            desk.svc.agents.add(name)
    with pytest.raises(Invalid):
        desk.svc.agents.add("Kim", initials="K1")
    with pytest.raises(Conflict):
        desk.svc.agents.add("Dana")


def test_every_write_records_who(desk: TeamDesk):
    a, b, c = desk.track(1, "Dana"), desk.track(2, "Sam"), desk.track(3, "desk")
    assert desk.client("Dana").post(f"/api/queue/{a}/replied", json={"reply": "Sorted, Kate. ^DK"}).json[
        "replied_by"] == "Dana"
    desk.client("Sam").post(f"/api/queue/{b}/snooze", json={"minutes": 5})
    desk.client("Lee").post(f"/api/queue/{b}/escalate", json={"reason": "angry"})
    desk.client("Sam").post(f"/api/queue/{b}/dismiss")
    desk.client("desk").post(f"/api/queue/{c}/claim")
    assert desk.history(a) == [("tracked", "Dana"), ("replied", "Dana")]
    assert desk.history(b) == [("tracked", "Sam"), ("snoozed", "Sam"), ("escalated", "Lee"), ("dismissed", "Sam")]
    name = desk.svc.config.agent_name  # the pairing token writes as the desk's own agent
    assert desk.history(c) == [("tracked", name), ("claimed", name)]


def test_a_suggestion_records_who_tracked_the_post(desk: TeamDesk):
    post = {"platform": "x", "post_id": "s1", "author": {"handle": "kim"}, "text": "Where is my refund?"}
    got = desk.client("Sam").post("/api/suggest", json={"post": post})
    assert got.status_code == 200, got.json
    item = got.json["queue_item"]["id"]
    assert desk.history(item)[0] == ("tracked", "Sam")
