"""kill -9 of the real server process at any moment loses no acknowledged tracked post or reply."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import requests

from tests.support.servers import ServerProcess

ROUNDS = 3
ACKS_BEFORE_KILL = 24


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path):
    data = tmp_path / "data"
    acked_tracks: dict[str, int] = {}  # post_id -> item id, for every 200/201 seen
    acked_replies: set[int] = set()
    counter = iter(range(10**6))
    for round_no in range(ROUNDS):
        srv = ServerProcess(data).start()
        enough = threading.Event()
        stop = threading.Event()
        acks = [0]

        def hammer(srv: ServerProcess = srv, enough: threading.Event = enough, stop: threading.Event = stop,
                   acks: list[int] = acks, round_no: int = round_no) -> None:
            """Track new posts and reply to every third one, as fast as the server acknowledges."""
            with requests.Session() as s:
                while not stop.is_set():
                    n = next(counter)
                    post = {"platform": "x" if n % 2 else "facebook", "post_id": f"p{n}",
                            "author": {"handle": f"c{n % 7}", "name": None}, "text": f"Where is order {n}?"}
                    try:
                        r = s.post(f"{srv.url}/api/queue", json={"post": post}, headers=srv.headers, timeout=10)
                        if r.status_code not in (200, 201):
                            raise AssertionError(r.text)
                        acked_tracks[post["post_id"]] = r.json()["id"]
                        acks[0] += 1
                        if n % 3 == 0:
                            r = s.post(f"{srv.url}/api/queue/{r.json()['id']}/replied", headers=srv.headers,
                                       timeout=10)
                            if r.status_code != 200:
                                raise AssertionError(r.text)
                            acked_replies.add(r.json()["id"])
                            acks[0] += 1
                    except requests.RequestException:
                        return  # the server died mid-request: that request was never acknowledged
                    if acks[0] >= ACKS_BEFORE_KILL + 13 * round_no:  # a different moment each round
                        enough.set()

        workers = [threading.Thread(target=hammer) for _ in range(2)]
        for w in workers:
            w.start()
        assert enough.wait(60), "the server acknowledged too little"
        srv.kill()  # while both workers still have requests in flight
        stop.set()
        for w in workers:
            w.join(30)
        assert acked_tracks, f"round {round_no}: nothing acknowledged"

        # Restart on the same data folder: every acknowledged write is there, nothing twice.
        check = ServerProcess(data).start()
        try:
            got = requests.get(f"{check.url}/api/queue?state=all&limit=1000", headers=check.headers, timeout=30).json()
            by_post = {i["post_id"]: i for i in got["items"]}
            assert len(by_post) == len(got["items"]) == got["total"]
            missing = [p for p in acked_tracks if p not in by_post]
            assert not missing, f"round {round_no}: lost tracked posts {missing}"
            assert all(by_post[p]["id"] == i for p, i in acked_tracks.items())
            replied = {i["id"] for i in got["items"] if i["state"] == "replied"}
            assert acked_replies <= replied, f"round {round_no}: lost replies {acked_replies - replied}"
        finally:
            check.kill() if round_no < ROUNDS - 1 else check.stop()
    with sqlite3.connect(data / "replydesk.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM items").fetchone()[0] >= len(acked_tracks)
