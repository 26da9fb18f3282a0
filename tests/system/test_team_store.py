"""The one store on a real PostgreSQL: the queue's rules hold there exactly as on SQLite, the API works on it,
and `python -m server migrate --from-sqlite` moves a single agent's desk into a team database."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.core import sla
from server.queue.store import LATEST, QueueStore
from tests.support.live import make_config
from tests.support.paths import REPO

T0 = time.time()


def _row(n: int, start: float, target: float, platform: str = "x", **extra: Any) -> dict[str, Any]:
    return {"platform": platform, "post_id": str(n), "text": "t", "first_seen": start, "started_at": start,
            "target_minutes": target / 60, "due_soon_fraction": 0.25, "due_soon_at": start + target * 0.75,
            "deadline": start + target, "updated_at": start, **extra}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    url = str(tmp_path / "q.sqlite3") if request.param == "sqlite" else request.getfixturevalue("pg_url")
    s = QueueStore(url)
    yield s
    s.close()


def test_counts_and_states_follow_the_clock_rule_on_both_backends(store: QueueStore):
    rnd = random.Random(11)
    for n in range(200):
        extra: dict[str, Any] = {}
        pick = rnd.random()
        if pick < 0.15:
            extra["replied_at"] = T0 - 60
        elif pick < 0.25:
            extra["dismissed_at"] = T0 - 60
        elif pick < 0.35:
            extra["snoozed_until"] = T0 + rnd.randint(-1800, 1800)
        if rnd.random() < 0.1:
            extra["clock"] = 0
        store.insert(_row(n, T0 + rnd.randint(-7200, 0), rnd.choice((900, 3600, 7200)),
                          rnd.choice(("x", "facebook")), **extra))
    for now in (T0 - 3600, T0, T0 + 3600):
        rows, total, counts = store.list(now, None, limit=1000, with_counts=True)
        assert total == 200 == sum(counts.values())
        want = dict.fromkeys(sla.STATES, 0)
        dt = lambda x: datetime.fromtimestamp(x, UTC) if x is not None else None  # noqa: E731
        for r in rows:
            if not r["clock"] and r["replied_at"] is None and r["dismissed_at"] is None:
                want["no_reply"] += 1
                continue
            want[sla.state_at(dt(r["deadline"]), dt(r["due_soon_at"]), dt(now), replied=r["replied_at"] is not None,
                              dismissed=r["dismissed_at"] is not None, snoozed_until=dt(r["snoozed_until"]))] += 1
        assert counts == want == store.counts(now)
        ranks = [(-r["rank"], r["deadline"], r["id"]) for r in store.list(now, ["waiting", "due_soon", "overdue"],
                                                                          limit=1000)[0]]
        assert ranks == sorted(ranks)  # the queue's priority order, on both backends


def test_concurrent_tracks_and_changes_never_duplicate_or_lose(store: QueueStore):
    """Eight threads track the same ten posts and reply to them: one row per post, one winning reply each."""
    wins: list[int] = []
    lock = threading.Lock()

    def decide(row: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        return None if row["replied_at"] is not None else ("replied", {"replied_at": T0, "updated_at": T0})

    def work() -> None:
        for n in range(10):
            item, _ = store.insert(_row(n, T0, 3600))
            changed = store.change(item["id"], decide, by=threading.current_thread().name)
            if changed and changed[1]:
                with lock:
                    wins.append(n)

    threads = [threading.Thread(target=work, name=f"agent{i}") for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.counts(T0)["replied"] == 10 and sorted(wins) == list(range(10))
    item = store.get_by_post("x", "3")
    assert [h["event"] for h in store.history(item["id"])] == ["tracked", "replied"]
    assert store.history(item["id"])[1]["by"].startswith("agent")


def test_the_queue_api_on_postgresql(tmp_path: Path, pg_url: str):
    app = create_app(make_config(tmp_path / "data", database_url=pg_url))
    try:
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {app.config['REPLYDESK_TOKEN']}"
        post = {"platform": "x", "post_id": "77", "url": "https://x.com/kate/status/77",
                "author": {"handle": "kate", "name": "Kate Mink"}, "text": "My parcel is a week late."}
        first = client.post("/api/queue", json={"post": post})
        assert first.status_code == 201, first.json
        assert client.post("/api/queue", json={"post": post}).status_code == 200  # idempotent
        item_id = first.json["id"]
        listed = client.get("/api/queue").json
        assert [i["id"] for i in listed["items"]] == [item_id]
        done = client.post(f"/api/queue/{item_id}/replied", json={"reply": "Hi Kate, so sorry! DM us. ^KM"})
        assert done.status_code == 200 and done.json["state"] == "replied"
        assert client.get("/api/stats").json["overall"]["answered"] == 1
        history = app.extensions["replydesk"].admin.history
        assert type(history).__name__ == "DbPackHistory"  # the console's history is the team's, in PostgreSQL
    finally:
        app.extensions["replydesk"].close()


def test_migrate_moves_a_single_agent_desk_into_a_team_database(tmp_path: Path, pg_url: str):
    data = tmp_path / "desk"
    solo = create_app(make_config(data))
    client = solo.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {solo.config['REPLYDESK_TOKEN']}"
    ids = []
    for n in range(3):
        post = {"platform": "x", "post_id": str(n), "author": {"handle": "kate", "name": "Kate"},
                "text": f"Where is order {n}? It is late."}
        ids.append(client.post("/api/queue", json={"post": post}).json["id"])
    client.post(f"/api/queue/{ids[0]}/replied", json={"reply": "Hi Kate, we are on it. ^KM"})
    solo.extensions["replydesk"].close()

    def migrate(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "server", "migrate", "--data-dir", str(tmp_path / "team"),
                               "--database-url", pg_url, *extra], cwd=REPO, capture_output=True, text=True,
                              timeout=60)

    done = migrate("--from-sqlite", str(data / "replydesk.sqlite3"))
    assert done.returncode == 0, done.stderr
    assert f"schema version {LATEST}" in done.stdout and "moved 3 items" in done.stdout
    assert "password" not in done.stdout
    again = migrate("--from-sqlite", str(data / "replydesk.sqlite3"))
    assert again.returncode == 2 and "already holds 3 posts" in again.stderr
    team = QueueStore(pg_url)
    try:
        assert sorted(r["id"] for r in team.all_rows()) == sorted(ids)
        assert team.get(ids[0])["reply"] == "Hi Kate, we are on it. ^KM"
        assert [h["event"] for h in team.history(ids[0])][:1] == ["tracked"]
        new, created = team.insert(_row(99, T0, 3600))  # ids continue after the moved ones
        assert created and new["id"] > max(ids)
    finally:
        team.close()
    assert migrate().returncode == 0  # a plain upgrade of an up-to-date database is a no-op


def test_a_team_keeps_pack_history_in_the_database(pg_url: str, tmp_path: Path):
    """Two processes' consoles see one history: versions written through one store are read through another."""
    from server.packs.history_db import DbPackHistory

    one, two = QueueStore(pg_url), QueueStore(pg_url)
    try:
        a, b = DbPackHistory(one.db), DbPackHistory(two.db)
        files = {"pack.toml": '[pack]\nname = "default"\nversion = "1"\n'}
        first = a.ensure_current("default", files)
        assert first is not None and first.action == "initial"
        assert b.ensure_current("default", files) is None  # already current, seen from the other process
        when = datetime.now(UTC)
        saved = [a.record("default", {**files, "voice.md": "v2"}, author="lead", note="n", when=when),
                 b.record("default", {**files, "voice.md": "v2"}, author="lead2", when=when)]
        assert saved[0].id != saved[1].id and saved[1].id.endswith("-2")  # same instant: both kept
        assert [v.author for v in b.versions("default")][:2] == ["lead2", "lead"]
        assert b.get("default", saved[0].id).files["voice.md"] == "v2"
        with pytest.raises(KeyError):
            b.get("default", "../../etc")
    finally:
        one.close()
        two.close()


def test_a_team_shares_triage_corrections_across_processes(pg_url: str):
    from server.triage.corrections_db import DbCorrectionStore

    one, two = QueueStore(pg_url), QueueStore(pg_url)
    try:
        a, b = DbCorrectionStore(one.db), DbCorrectionStore(two.db)
        assert a.add("default", "my card was charged twice", "complaint", "1") == 1
        assert a.add("default", "my card was charged twice", "question", "1") == 1  # a later correction replaces
        assert a.add("default", "love the new app", "praise") == 2
        assert b.examples("default") == {"question": ("my card was charged twice",), "praise": ("love the new app",)}
        assert b.examples("other") == {}
    finally:
        one.close()
        two.close()


def test_team_supervisors_sign_in_on_every_process(tmp_path: Path, pg_url: str):
    """`add-supervisor` on a team server writes to the team database; a console on another data folder (another
    host) signs that supervisor in."""
    done = subprocess.run([sys.executable, "-m", "server", "add-supervisor", "lead", "--data-dir", str(tmp_path / "a")],
                          cwd=REPO, input="correct horse battery\n", capture_output=True, text=True, timeout=60,
                          env={**os.environ, "REPLYDESK_DATABASE_URL": pg_url})
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "a" / "supervisors.json").exists()
    app = create_app(make_config(tmp_path / "b", database_url=pg_url))
    try:
        from server.admin import auth

        home = auth.home_of(app.extensions["replydesk"])
        assert auth.verify(home, "lead", "correct horse battery")
        assert not auth.verify(home, "lead", "wrong password here")
        assert not auth.add_supervisor(home, "lead", "another passphrase")  # a password change, not a new name
        assert auth.verify(home, "lead", "another passphrase")
    finally:
        app.extensions["replydesk"].close()
