"""Several server processes on one PostgreSQL database, as a team runs them: a gunicorn server with two worker
processes and a plain Werkzeug one side by side. Each process's /ws clients hear the others' changes within a
second, a due_soon / overdue crossing is announced exactly once to every client however many processes watch
the item, and a process killed with SIGKILL loses nothing it acknowledged while the other keeps serving."""
from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from server.config import REPO_ROOT
from tests.support.packs import write_pack
from tests.support.team import EventLog, TeamProcess

FAST_SLA = """
[sla]
due_soon_fraction = 0.5
[sla.x]
default_minutes = 0.05
[sla.facebook]
default_minutes = 600
"""


def packs(root: Path, name: str) -> Path:
    """The default pack plus "fast" (a 3-second target on X: due soon after 1.5 s), a copy per process."""
    folder = root / f"packs-{name}"
    shutil.copytree(REPO_ROOT / "prompts" / "default", folder / "default")
    write_pack(folder, "fast", FAST_SLA)
    return folder


def start_pair(root: Path, url: str, workers_a: int) -> tuple[TeamProcess, TeamProcess]:
    a = TeamProcess(root / "a", url, workers=workers_a, packs_dir=packs(root, "a")).start(wait=False)
    b = TeamProcess(root / "b", url, workers=0, packs_dir=packs(root, "b")).start(wait=False)
    a.wait_ready()
    b.wait_ready()
    return a, b


@pytest.fixture(scope="module")
def team(pg_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TeamProcess, TeamProcess]]:
    """A: gunicorn, two worker processes; B: Werkzeug. One database."""
    a, b = start_pair(tmp_path_factory.mktemp("team"), pg_cluster.create_database(), workers_a=2)
    yield a, b
    a.stop()
    b.stop()


def track(srv: TeamProcess, n: int, pack: str = "default") -> dict[str, Any]:
    post = {"platform": "x", "post_id": f"p{n}", "author": {"handle": f"user{n}", "name": None},
            "text": f"My order {n} has not arrived", "created_at": None}
    r = requests.post(f"{srv.url}/api/queue", json={"post": post, "pack": pack}, headers=srv.headers, timeout=30)
    assert r.status_code in (200, 201), r.text
    return r.json()


def upsert_of(item_id: int):
    return lambda e: e.get("type") == "queue" and e.get("change") == "upsert" and e["item"]["id"] == item_id


def test_a_change_made_through_one_process_reaches_the_others_clients_within_a_second(team):
    a, b = team
    on_a = [EventLog(a) for _ in range(3)]  # gunicorn hands connections to either worker
    on_b = EventLog(b)
    try:
        started = time.monotonic()
        item = track(b, 1)
        for log in on_a:
            log.wait_for(upsert_of(item["id"]), timeout=1.0, what="B's new item on A")
        assert time.monotonic() - started < 1.0
        r = requests.post(f"{a.url}/api/queue/{item['id']}/replied", json={"reply": "Hi, on it. ^KM"},
                          headers=a.headers, timeout=30)
        assert r.status_code == 200, r.text
        removed = on_b.wait_for(lambda e: e.get("change") == "remove" and e.get("id") == item["id"], timeout=1.0)
        assert removed["reason"] == "replied"
        time.sleep(0.3)  # anything doubled would have arrived by now
        for log in [*on_a, on_b]:
            assert log.count(upsert_of(item["id"])) == 2  # tracked, replied: each once, on every process
    finally:
        for log in [*on_a, on_b]:
            log.close()


def test_a_crossing_is_announced_once_to_every_client_however_many_processes_watch_it(team):
    a, b = team
    logs = [EventLog(a) for _ in range(3)] + [EventLog(b), EventLog(b)]
    try:
        item = track(b, 2, pack="fast")  # every process's scheduler now watches it
        assert item["state"] == "waiting" and item["target_minutes"] == 0.05
        for log in logs:
            log.wait_for(lambda e: e.get("type") == "overdue" and e["item"]["id"] == item["id"], timeout=10)
        time.sleep(1.5)  # a second process announcing it too would be heard by now (schedulers tick every 1 s)
        for log in logs:
            kinds = [e["type"] for e in log.events if e.get("type") in ("due_soon", "overdue")]
            assert kinds == ["due_soon", "overdue"], kinds
    finally:
        for log in logs:
            log.close()


def test_a_killed_process_loses_nothing_it_acknowledged_and_the_other_keeps_serving(pg_cluster: Any,
                                                                                   tmp_path: Path):
    a, b = start_pair(tmp_path, pg_cluster.create_database(), workers_a=1)
    try:
        on_b = EventLog(b)
        acked: list[int] = []
        stop = threading.Event()

        def write_to_a() -> None:
            n = 100
            while not stop.is_set():
                n += 1
                try:
                    acked.append(track(a, n)["id"])
                except (requests.RequestException, AssertionError):
                    return  # A is gone: whatever it did not answer was not acknowledged

        writer = threading.Thread(target=write_to_a)
        writer.start()
        deadline = time.monotonic() + 10
        while len(acked) < 15 and time.monotonic() < deadline:
            time.sleep(0.05)
        a.kill()
        stop.set()
        writer.join(timeout=30)
        assert len(acked) >= 15
        listed = requests.get(f"{b.url}/api/queue?limit=500", headers=b.headers, timeout=30)
        assert listed.status_code == 200, listed.text
        assert set(acked) <= {i["id"] for i in listed.json()["items"]}
        survivor = track(b, 1)  # B still writes, and its clients still hear about it
        on_b.wait_for(upsert_of(survivor["id"]), timeout=2)
        done = requests.post(f"{b.url}/api/queue/{acked[0]}/replied", json={"reply": "Sorted, thanks! ^KM"},
                             headers=b.headers, timeout=30)
        assert done.status_code == 200 and done.json()["state"] == "replied"
        on_b.close()
    finally:
        a.stop()
        b.stop()


def test_events_cross_processes_again_after_postgresql_restarts(team, pg_cluster: Any):
    a, b = team
    on_a = [EventLog(a) for _ in range(2)]
    try:
        pg_cluster.stop(immediate=True)  # every process's listener and pool lose their connections
        pg_cluster.start()
        for log in on_a:  # the listener is back: what it missed meanwhile is a snapshot away
            log.wait_for(lambda e: e.get("type") == "resync", timeout=15, what="a resync after the restart")
        deadline = time.monotonic() + 15
        while True:  # B's pool notices the restart on its first request
            r = requests.post(f"{b.url}/api/queue", headers=b.headers, timeout=30, json={"post": {
                "platform": "x", "post_id": "after-restart", "author": {"handle": "kim"}, "text": "Still waiting"}})
            if r.status_code in (200, 201) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert r.status_code in (200, 201), r.text
        for log in on_a:
            log.wait_for(upsert_of(r.json()["id"]), timeout=2, what="B's item on A after the restart")
    finally:
        for log in on_a:
            log.close()
