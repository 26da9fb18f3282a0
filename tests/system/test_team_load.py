"""A team at work, bounded: 50 agents, each with a token of their own, working posts at a human pace for a few
seconds through two gunicorn worker processes on one PostgreSQL database (the driver of bench/bench_team.py,
tests/support/team_load.py). Every call answers, every call of the workflow is made, and every write in the
database names the agent who made it, never a teammate working next to them on the other worker. Speed is
measured by `make bench`; the bounds here only catch a server that has stopped keeping up at all."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import text

from server.store.database import Database
from tests.support.team import TeamProcess
from tests.support.team_load import AGENT_EVENTS, AGENTS, CALL_KINDS, REALISTIC, add_agents, drive

SECONDS = 8.0
WARMUP = 2.0


def writes_by_item(url: str) -> dict[str, list[tuple[str, str | None]]]:
    """{post_id: [(history event, by_agent), ...]} and each item's replied_by, straight from the database."""
    db = Database(url)
    try:
        with db.read() as conn:
            rows = conn.execute(text("SELECT i.post_id, h.event, h.by_agent, i.replied_by FROM history h "
                                     "JOIN items i ON i.id = h.item_id ORDER BY h.id")).all()
    finally:
        db.close()
    out: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for post_id, event, by, replied_by in rows:
        out[post_id].append((event, by))
        if event == "replied":
            out[post_id].append(("replied_by", replied_by))
    return out


def test_fifty_agents_at_a_human_pace_on_two_postgresql_workers(pg_cluster: Any, tmp_path: Path):
    url = pg_cluster.create_database()
    tokens = add_agents(tmp_path / "data", url)
    srv = TeamProcess(tmp_path / "data", url, workers=2, threads=16).start()
    try:
        report = drive(srv.url, tokens, SECONDS, REALISTIC, tag="t", warmup=WARMUP)
    finally:
        srv.stop()
    assert report["error_count"] == 0, report["errors"]
    assert report["hung_agents"] == []
    assert report["agents"] == AGENTS
    assert {k for k, c in report["calls"].items() if c["n"]} == set(CALL_KINDS), report["calls"]
    assert report["connections_opened"] == AGENTS  # gunicorn keeps each agent's connection alive
    # Very generous sanity (2 cores shared with other work): 50 agents at ~0.6 calls/s each, answered in time.
    assert report["calls_per_second"] > 5, report["calls_per_second"]
    assert report["overall"]["p99_ms"] < 5000, report["overall"]

    owners = {f"t-{slot:02d}": name for slot, name in enumerate(tokens)}  # post ids are "t-<slot>-<n>"
    writes = writes_by_item(url)
    seen: dict[str, set[str]] = defaultdict(set)
    for post_id, events in writes.items():
        owner = owners[post_id.rsplit("-", 1)[0]]
        for event, by in events:
            assert by == owner, (post_id, event, by, owner)
            seen[owner].add(event)
    assert set(seen) == set(tokens)  # every agent wrote, and only ever as themselves
    for name, events in seen.items():  # the driver closes each agent's last open post after the run
        assert {"tracked", "claimed", "replied", "replied_by"} <= events, (name, events)
        assert events <= {*AGENT_EVENTS, "replied_by"}, (name, events)
