"""The queue over REST (Flask test client, a controllable clock), its storage, stats and scheduler rules."""
from __future__ import annotations

import queue
import shutil
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from server.app import create_app
from server.config import REPO_ROOT
from server.core import sla
from server.queue.store import LATEST, MIGRATIONS, QueueStore, StoreError, migrate
from server.store.database import Database
from tests.support.live import LiveServer, make_config
from tests.support.packs import FLAT_SLA, write_pack

T0 = datetime(2037, 11, 24, 8, 0, tzinfo=UTC).timestamp()  # a Tuesday


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


OFFICE_SLA = """
[sla]
due_soon_fraction = 0.25
[sla.business_hours]
timezone = "Europe/London"
[sla.business_hours.periods]
mon = [["09:00", "17:00"]]
tue = [["09:00", "17:00"]]
wed = [["09:00", "17:00"]]
thu = [["09:00", "12:00"], ["13:00", "17:00"]]
fri = [["09:00", "17:00"]]
[sla.x]
default_minutes = 60
[sla.facebook]
default_minutes = 120
"""
@pytest.fixture
def packs_dir(tmp_path: Path) -> Path:
    root = tmp_path / "packs"
    shutil.copytree(REPO_ROOT / "prompts" / "default", root / "default")
    write_pack(root, "office", OFFICE_SLA)
    write_pack(root, "flat", FLAT_SLA)
    return root


class Desk:
    """An app with a fake clock, its test client and a subscription to its events."""

    def __init__(self, data: Path, packs: Path) -> None:
        self.app = create_app(make_config(data, packs_dir=packs, scheduler_interval=0.05))
        self.svc = self.app.extensions["replydesk"].queue
        self.clock = FakeClock(T0)
        self.svc.clock = self.clock
        self.client = self.app.test_client()
        self.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {self.app.config['REPLYDESK_TOKEN']}"
        self.events = self.app.extensions["replydesk"].hub.subscribe()

    def track(self, post: dict[str, Any], pack: str = "flat", status: int | None = None) -> dict[str, Any]:
        r = self.client.post("/api/queue", json={"post": post, "pack": pack})
        assert r.status_code in ((status,) if status else (200, 201)), r.json
        return r.json

    def act(self, item_id: int, action: str, body: dict | None = None, status: int = 200) -> dict[str, Any]:
        r = self.client.post(f"/api/queue/{item_id}/{action}", json=body) if body is not None else \
            self.client.post(f"/api/queue/{item_id}/{action}")
        assert r.status_code == status, r.json
        return r.json

    def get(self, item_id: int) -> dict[str, Any]:
        r = self.client.get(f"/api/queue/{item_id}")
        assert r.status_code == 200
        return r.json

    def drain(self) -> list[dict[str, Any]]:
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def stop(self) -> None:
        self.app.extensions["replydesk"].close()


@pytest.fixture
def desk(tmp_path: Path, packs_dir: Path):
    d = Desk(tmp_path / "data", packs_dir)
    yield d
    d.stop()


def post(n: int | str, minutes_ago: float | None = 0, platform: str = "x", handle: str = "kate",
         name: str | None = "Kate Mink", text: str = "Where is my parcel? It was due yesterday.") -> dict[str, Any]:
    return {"platform": platform, "post_id": str(n), "url": f"https://x.com/{handle}/status/{n}",
            "author": {"handle": handle, "name": name}, "text": text,
            "created_at": iso(T0 - minutes_ago * 60) if minutes_ago is not None else None}


# -- tracking ----------------------------------------------------------------------------------------------------
def test_track_is_idempotent_and_the_clock_starts_at_the_post(desk: Desk):
    first = desk.track(post(1, minutes_ago=10), status=201)
    again = desk.track(post(1, minutes_ago=10), status=200)
    assert again["id"] == first["id"]
    assert first["started_at"] == first["created_at"] == "2037-11-24T07:50:00.000Z"
    assert first["deadline"] == "2037-11-24T08:50:00.000Z"  # the flat pack: 60 minutes on X
    assert first["state"] == "waiting" and first["seconds_left"] == 50 * 60 and first["waiting_seconds"] == 600
    assert first["customer"] == "Kate Mink" and first["author"] == {"handle": "kate", "name": "Kate Mink"}
    assert first["pack"]["name"] == "flat" and first["kind"] == "first"
    assert desk.client.get("/api/queue").json["total"] == 1


def test_clock_falls_back_to_first_seen(desk: Desk):
    no_time = desk.track(post(2, minutes_ago=None, handle="anon", name=None))
    assert no_time["created_at"] is None and no_time["started_at"] == no_time["first_seen"] == iso(T0)[:-1] + ".000Z"
    assert no_time["customer"] == "@anon"
    future = desk.track(post(3, minutes_ago=-30))  # a page clock ahead of ours grants no extra time
    assert future["started_at"] == future["first_seen"]
    garbled = desk.track({**post(4), "created_at": "2 hours ago"})
    assert garbled["created_at"] is None and garbled["started_at"] == garbled["first_seen"]


def test_target_follows_the_pack_and_the_analysis(desk: Desk):
    item = desk.track(post(5), pack="default")
    pack = desk.app.extensions["replydesk"].packs.get("default")
    assert item["target_minutes"] == sla.target_minutes(pack.data["sla"], "x", item["intent"], item["severity"])
    fb = desk.track(post(6, platform="facebook"), pack="flat")
    assert fb["target_minutes"] == 120


def test_business_hours_from_the_pack(desk: Desk):
    # Friday 27 Nov 2037 16:30 London (= UTC): 30 minutes today, 30 on Monday from 09:00.
    desk.clock.t = datetime(2037, 11, 27, 18, 0, tzinfo=UTC).timestamp()
    item = desk.track({**post(7), "created_at": "2037-11-27T16:30:00Z"}, pack="office")
    assert item["deadline"] == "2037-11-30T09:30:00.000Z" and item["business_hours"] is True
    assert item["state"] == "waiting" and item["seconds_left"] == 1800 and item["clock_running"] is False
    desk.clock.t = datetime(2037, 11, 30, 9, 20, tzinfo=UTC).timestamp()
    now = desk.get(item["id"])
    assert now["state"] == "due_soon" and now["seconds_left"] == 600 and now["clock_running"] is True


def test_bad_track_requests(desk: Desk):
    c = desk.client
    assert c.post("/api/queue", json={}).status_code == 400
    assert c.post("/api/queue", json={"post": {"platform": "x", "text": "hi"}}).json["error"] == "invalid_post"
    assert c.post("/api/queue", json={"post": {**post(8), "platform": "myspace"}}).status_code == 400
    assert c.post("/api/queue", json={"post": post(8), "pack": "nope"}).status_code == 404
    assert c.post("/api/queue", data="{not json", content_type="application/json").status_code == 400
    noauth = desk.app.test_client().get("/api/queue")
    assert noauth.status_code == 401 and noauth.json["error"] == "unauthorized"


# -- every state change ------------------------------------------------------------------------------------------
def test_time_driven_states(desk: Desk):
    item = desk.track(post(10, minutes_ago=0))
    assert item["state"] == "waiting"
    desk.clock.t = T0 + 45 * 60
    assert desk.get(item["id"])["state"] == "due_soon"
    desk.clock.t = T0 + 60 * 60
    got = desk.get(item["id"])
    assert got["state"] == "overdue" and got["seconds_left"] == 0
    desk.clock.t = T0 + 70 * 60
    assert desk.get(item["id"])["seconds_left"] == -600
    desk.clock.t = T0
    assert desk.track(post(11, minutes_ago=50))["state"] == "due_soon"
    assert desk.track(post(12, minutes_ago=500))["state"] == "overdue"


def test_replied(desk: Desk):
    item = desk.track(post(20, minutes_ago=5))
    desk.drain()
    desk.clock.t = T0 + 10 * 60
    done = desk.act(item["id"], "replied")
    assert done["state"] == "replied" and done["response_seconds"] == 15 * 60 and done["within_target"] is True
    assert done["seconds_left"] == 45 * 60  # frozen where the reply stopped it
    events = desk.drain()
    assert [(e["type"], e.get("change")) for e in events] == [("queue", "upsert"), ("queue", "remove")]
    assert events[0]["item"]["state"] == "replied" and events[1]["id"] == item["id"]
    desk.clock.t += 600
    again = desk.act(item["id"], "replied")  # idempotent: the first reply time stays
    assert again["replied_at"] == done["replied_at"] and desk.drain() == []
    assert desk.get(item["id"])["state"] == "replied"
    desk.act(item["id"], "dismiss", status=409)
    desk.act(item["id"], "snooze", {"minutes": 5}, status=409)


def test_replied_at_given_by_the_client(desk: Desk):
    item = desk.track(post(21, minutes_ago=90))
    assert desk.act(item["id"], "replied", {"replied_at": "2037-11-24T06:00:00Z"}, status=400)["error"] == \
        "invalid_time"  # before the post
    assert desk.act(item["id"], "replied", {"replied_at": "2037-11-24T09:00:00Z"}, status=400)["error"] == \
        "invalid_time"  # in the future
    assert desk.act(item["id"], "replied", {"replied_at": "soon"}, status=400)["error"] == "invalid_time"
    done = desk.act(item["id"], "replied", {"replied_at": "2037-11-24T07:45:00Z"})
    assert done["response_seconds"] == 75 * 60 and done["within_target"] is False


def test_dismissed_then_replied(desk: Desk):
    item = desk.track(post(22))
    gone = desk.act(item["id"], "dismiss")
    assert gone["state"] == "dismissed" and gone["dismissed_at"] == iso(T0)[:-1] + ".000Z"
    assert desk.act(item["id"], "dismiss")["dismissed_at"] == gone["dismissed_at"]
    desk.act(item["id"], "snooze", {"minutes": 5}, status=409)
    assert desk.act(item["id"], "replied")["state"] == "replied"  # replying after all wins


def test_snooze(desk: Desk):
    item = desk.track(post(23, minutes_ago=40))
    snoozed = desk.act(item["id"], "snooze", {"minutes": 30})
    assert snoozed["state"] == "snoozed" and snoozed["snoozed_until"] == "2037-11-24T08:30:00.000Z"
    desk.clock.t = T0 + 29 * 60
    assert desk.get(item["id"])["state"] == "snoozed"
    desk.clock.t = T0 + 30 * 60
    back = desk.get(item["id"])
    assert back["state"] == "overdue" and back["snoozed_until"] is None  # the customer's clock kept running
    until = desk.act(item["id"], "snooze", {"until": "2037-11-24T10:00:00Z"})
    assert until["state"] == "snoozed" and until["snoozed_until"] == "2037-11-24T10:00:00.000Z"
    for bad in ({}, {"minutes": 0}, {"minutes": 1441}, {"minutes": True}, {"minutes": "5"}, {"until": "later"},
                {"until": "2037-11-24T07:00:00Z"}, {"until": "2037-12-24T07:00:00Z"},
                {"minutes": 5, "until": "2037-11-24T10:00:00Z"}):
        assert desk.act(item["id"], "snooze", bad, status=400)["error"] == "invalid_snooze", bad


def test_unknown_ids_and_actions(desk: Desk):
    item = desk.track(post(24))
    for path in ("/api/queue/999/replied", "/api/queue/999/dismiss", f"/api/queue/{item['id']}/explode"):
        r = desk.client.post(path)
        assert r.status_code == 404 and r.json["error"] == "not_found"
    assert desk.client.get("/api/queue/999").status_code == 404
    assert desk.client.get("/api/queue/abc").json["error"] == "not_found"
    r = desk.client.post(f"/api/queue/{item['id']}/replied", data="[1]", content_type="application/json")
    assert r.status_code == 400


def test_next_response_clock(desk: Desk):
    first = desk.track(post(30, minutes_ago=20, handle="Kate"))
    open_second = desk.track(post(31, minutes_ago=15, handle="kate"))
    assert open_second["kind"] == "first" and open_second["previous_id"] is None  # the first is still open
    desk.act(first["id"], "replied")
    desk.act(open_second["id"], "replied")
    desk.clock.t = T0 + 5 * 60
    follow_up = desk.track(post(32, minutes_ago=-4, handle="KATE", text="Thanks, but it still has not arrived"))
    assert follow_up["kind"] == "next_response" and follow_up["previous_id"] == open_second["id"]
    assert follow_up["thread_key"] == "x:kate" and follow_up["state"] == "waiting"
    assert follow_up["started_at"] == "2037-11-24T08:04:00.000Z"
    other = desk.track(post(33, handle="someone_else"))
    assert other["kind"] == "first"
    fb = desk.track(post(34, platform="facebook", handle="kate"))
    assert fb["kind"] == "first"  # another platform is another conversation


# -- listing -----------------------------------------------------------------------------------------------------
def test_listing_sorted_filtered_and_paged(desk: Desk):
    ids = {}
    for n, ago in ((40, 5), (41, 55), (42, 80), (43, 20), (44, 0)):
        ids[n] = desk.track(post(n, minutes_ago=ago, handle=f"h{n}"))["id"]
    fb = desk.track(post(45, minutes_ago=10, platform="facebook", handle="h45"))["id"]
    desk.act(ids[44], "replied")
    desk.act(ids[43], "dismiss")
    desk.act(ids[40], "snooze", {"minutes": 10})
    got = desk.client.get("/api/queue").json
    assert [i["id"] for i in got["items"]] == [ids[42], ids[41], ids[40], fb]  # active, by deadline
    assert got["total"] == 4 and got["counts"] == {"waiting": 1, "due_soon": 1, "overdue": 1, "snoozed": 1,
                                                   "no_reply": 0, "replied": 1, "dismissed": 1}
    deadlines = [i["deadline"] for i in got["items"]]
    assert deadlines == sorted(deadlines)
    assert [i["id"] for i in desk.client.get("/api/queue?state=overdue,due_soon").json["items"]] == [ids[42], ids[41]]
    assert [i["id"] for i in desk.client.get("/api/queue?state=replied").json["items"]] == [ids[44]]
    assert [i["id"] for i in desk.client.get("/api/queue?state=dismissed").json["items"]] == [ids[43]]
    assert desk.client.get("/api/queue?state=all").json["total"] == 6
    assert [i["id"] for i in desk.client.get("/api/queue?platform=facebook").json["items"]] == [fb]
    page = desk.client.get("/api/queue?state=all&limit=2&offset=2").json
    assert len(page["items"]) == 2 and page["total"] == 6 and page["offset"] == 2
    for bad in ("state=late", "state=waiting,nope", "platform=tiktok", "limit=0", "limit=5000", "limit=x",
                "offset=-1"):
        r = desk.client.get(f"/api/queue?{bad}")
        assert r.status_code == 400 and r.json["message"], bad


def test_sql_state_matches_the_clock_logic(tmp_path: Path):
    store = QueueStore(tmp_path / "q.sqlite3")
    base = {"platform": "x", "text": "t", "first_seen": T0, "started_at": T0, "target_minutes": 60,
            "due_soon_fraction": 0.25, "due_soon_at": T0 + 2700, "deadline": T0 + 3600, "updated_at": T0}
    variants = [{}, {"snoozed_until": T0 + 3000}, {"snoozed_until": T0 + 5000}, {"replied_at": T0 + 100},
                {"dismissed_at": T0 + 100}, {"replied_at": T0 + 100, "dismissed_at": T0 + 50}]
    for n, extra in enumerate(variants):
        store.insert({**base, "post_id": str(n), **extra})
    for now in (T0, T0 + 2699, T0 + 2700, T0 + 3000, T0 + 3599, T0 + 3600, T0 + 4000, T0 + 6000):
        rows, _ = store.list(now, None, limit=100)
        for row in rows:
            dt = lambda x: datetime.fromtimestamp(x, UTC) if x is not None else None  # noqa: E731
            expected = sla.state_at(dt(row["deadline"]), dt(row["due_soon_at"]), dt(now),
                                    replied=row["replied_at"] is not None, dismissed=row["dismissed_at"] is not None,
                                    snoozed_until=dt(row["snoozed_until"]))
            assert [r["id"] for r in store.list(now, [expected], limit=100)[0]].count(row["id"]) == 1, (now, row)
    store.close()


def test_desk_wide_counts_equal_the_per_row_rule(tmp_path: Path):
    """The badge counts come from index ranges without a platform filter and from the CASE with one; both must
    say what the clock logic says for every row, snoozed, closed and clockless rows included."""
    import random

    rnd = random.Random(7)
    store = QueueStore(tmp_path / "q.sqlite3")
    for n in range(300):
        start = T0 + rnd.randint(-7200, 0)
        target = rnd.choice((900, 3600, 7200))
        row = {"platform": rnd.choice(("x", "facebook")), "post_id": str(n), "text": "t", "first_seen": start,
               "started_at": start, "target_minutes": target / 60, "due_soon_fraction": 0.25,
               "due_soon_at": start + target * 0.75, "deadline": start + target, "updated_at": start}
        pick = rnd.random()
        if pick < 0.15:
            row["replied_at"] = start + 60
        elif pick < 0.25:
            row["dismissed_at"] = start + 60
        elif pick < 0.35:
            row["snoozed_until"] = T0 + rnd.randint(-1800, 1800)
        if rnd.random() < 0.1:
            row["clock"] = 0  # a post the pack does not engage: "no_reply" while open, whatever its instants
        store.insert(row)
    for now in (T0 - 3600, T0, T0 + 900, T0 + 3600, T0 + 9000):
        def by_rule(platform: str | None, now: float = now) -> dict[str, int]:
            rows, _ = store.list(now, None, platform, limit=1000)
            dt = lambda x: datetime.fromtimestamp(x, UTC) if x is not None else None  # noqa: E731
            out = dict.fromkeys(sla.STATES, 0)
            for r in rows:
                if not r["clock"] and r["replied_at"] is None and r["dismissed_at"] is None:
                    out["no_reply"] += 1
                    continue
                out[sla.state_at(dt(r["deadline"]), dt(r["due_soon_at"]), dt(now), replied=r["replied_at"] is not None,
                                 dismissed=r["dismissed_at"] is not None, snoozed_until=dt(r["snoozed_until"]))] += 1
            return out

        assert store.counts(now) == by_rule(None), now
        assert store.counts(now, "x") == by_rule("x"), now
        assert sum(store.counts(now).values()) == 300
    store.close()


# -- stats -------------------------------------------------------------------------------------------------------
def test_stats(desk: Desk):
    # Five X posts tracked at T0 - 60 min; replied after 10, 20, 30, 50 and 90 minutes (target 60).
    for n, after in enumerate((10, 20, 30, 50, 90)):
        item = desk.track(post(100 + n, minutes_ago=120, handle=f"c{n}"))
        desk.act(item["id"], "replied", {"replied_at": iso(T0 - 120 * 60 + after * 60)})
    late = desk.track(post(110, minutes_ago=100, handle="late"))  # open and overdue: missed
    desk.track(post(111, minutes_ago=1, handle="fresh"))  # open, not due: no outcome yet
    gone = desk.track(post(112, minutes_ago=100, handle="gone"))
    desk.act(gone["id"], "dismiss")
    desk.track(post(113, minutes_ago=30, platform="facebook", handle="fb"))
    got = desk.client.get("/api/stats?since=2037-11-24&until=2037-11-24").json
    overall = got["overall"]
    assert overall["count"] == 9 and overall["answered"] == 5 and overall["dismissed"] == 1
    assert overall["median_seconds"] == 30 * 60
    assert overall["p90_seconds"] == pytest.approx((50 + 0.6 * 40) * 60)
    assert overall["within_target"] == 4 and overall["missed"] == 2
    assert overall["within_target_share"] == pytest.approx(4 / 6, abs=1e-4)
    assert got["by_channel"]["x"]["count"] == 8 and got["by_channel"]["facebook"]["count"] == 1
    assert got["by_channel"]["facebook"]["within_target_share"] is None
    assert [d["date"] for d in got["by_day"]] == ["2037-11-24"]
    assert got["overdue_now"] == 1
    only_fb = desk.client.get("/api/stats?since=2037-11-24&platform=facebook").json
    assert only_fb["overall"]["count"] == 1 and list(only_fb["by_channel"]) == ["facebook"]
    tokyo = desk.client.get("/api/stats?since=2037-11-23T00:00:00Z&tz=Asia/Tokyo").json
    assert [d["date"] for d in tokyo["by_day"]] == ["2037-11-24"]
    nothing = desk.client.get("/api/stats?since=2037-10-01&until=2037-10-02").json
    assert nothing["overall"]["count"] == 0 and nothing["overall"]["median_seconds"] is None
    assert late["state"] == "overdue"


def test_stats_split_next_responses_and_days(desk: Desk):
    a = desk.track(post(200, minutes_ago=60 * 24 + 30, handle="d1"))
    desk.act(a["id"], "replied", {"replied_at": iso(T0 - 60 * 24 * 60)})
    desk.track(post(201, minutes_ago=60 * 23, handle="d1"))  # after the reply: a next response
    got = desk.client.get("/api/stats").json
    assert got["overall"]["count"] == 1 and got["next_response"]["count"] == 1
    assert [d["date"] for d in got["by_day"]] == ["2037-11-23"]


def test_bad_stats_requests(desk: Desk):
    for bad in ("since=yesterday", "until=2037-13-45", "since=2037-11-24&until=2037-11-01", "tz=Mars/Base",
                "since=2020-01-01&until=2037-01-01", "platform=myspace"):
        r = desk.client.get(f"/api/stats?{bad}")
        assert r.status_code == 400 and r.json["error"] and r.json["message"], bad


# -- the suggest hook ----------------------------------------------------------------------------------------------
def test_suggest_tracks_the_post_and_returns_its_deadline(desk: Desk):
    p = post(300, minutes_ago=5)
    r = desk.client.post("/api/suggest", json={"post": p, "pack": "flat"})
    assert r.status_code == 200, r.json
    answer = r.json
    assert answer["queue_item"]["post_id"] == "300" and answer["deadline"] == answer["queue_item"]["deadline"]
    again = desk.client.post("/api/suggest", json={"post": p, "pack": "flat"}).json
    assert again["queue_item"]["id"] == answer["queue_item"]["id"]
    assert desk.client.get("/api/queue").json["total"] == 1
    no_id = desk.client.post("/api/suggest", json={"post": {"platform": "x", "text": "hello there"}})
    assert no_id.status_code == 200 and "queue_item" not in no_id.json


# -- the scheduler, with the fake clock -------------------------------------------------------------------------------
def kinds(events: list[dict]) -> list[str]:
    return [e["type"] if e["type"] != "queue" else f"queue:{e['change']}" for e in events]


def test_scheduler_notifies_each_crossing_once(desk: Desk):
    sched = desk.svc.scheduler
    item = desk.track(post(400, minutes_ago=0))
    desk.drain()
    desk.clock.t = T0 + 44 * 60
    sched.tick()
    assert desk.drain() == []
    desk.clock.t = T0 + 45 * 60
    sched.tick()
    sched.tick()
    events = desk.drain()
    assert kinds(events) == ["queue:upsert", "due_soon"] and events[1]["item"]["id"] == item["id"]
    assert events[1]["item"]["state"] == "due_soon"
    desk.clock.t = T0 + 61 * 60
    sched.tick()
    events = desk.drain()
    assert kinds(events) == ["queue:upsert", "overdue"] and events[1]["item"]["state"] == "overdue"
    desk.clock.t = T0 + 90 * 60
    sched.tick()
    assert desk.drain() == []


def test_scheduler_skips_to_overdue_and_snooze_end_renotifies(desk: Desk):
    sched = desk.svc.scheduler
    item = desk.track(post(401, minutes_ago=30))
    desk.act(item["id"], "snooze", {"minutes": 60})
    desk.drain()
    desk.clock.t = T0 + 30 * 60  # overdue while snoozed: no alert yet
    sched.tick()
    assert desk.drain() == []
    desk.clock.t = T0 + 60 * 60  # the snooze ends: one overdue alert, no due_soon
    sched.tick()
    assert kinds(desk.drain()) == ["queue:upsert", "overdue"]
    quiet = desk.track(post(402, minutes_ago=-60, handle="q"))  # made now (T0 + 60 min): waiting
    desk.act(quiet["id"], "snooze", {"minutes": 5})
    desk.drain()
    desk.clock.t = T0 + 65 * 60  # its snooze ends while it is still waiting: an upsert, no alert
    sched.tick()
    events = desk.drain()
    assert kinds(events) == ["queue:upsert"] and events[0]["item"]["state"] == "waiting"
    assert events[0]["item"]["id"] == quiet["id"]


def test_replied_items_are_never_notified(desk: Desk):
    item = desk.track(post(403, minutes_ago=0))
    desk.act(item["id"], "replied")
    desk.drain()
    desk.clock.t = T0 + 120 * 60
    desk.svc.scheduler.tick()
    assert desk.drain() == []


def test_notifications_survive_a_restart(tmp_path: Path, packs_dir: Path):
    data = tmp_path / "data"
    one = Desk(data, packs_dir)
    a = one.track(post(500, minutes_ago=0))
    one.clock.t = T0 + 30 * 60
    b = one.track(post(501, minutes_ago=-30, handle="b"))  # made at T0 + 30 min
    one.clock.t = T0 + 50 * 60
    one.svc.scheduler.tick()
    assert [(e["type"], e["item"]["id"]) for e in one.drain() if e["type"] == "due_soon"] == [("due_soon", a["id"])]
    one.stop()
    # Down from T0 + 50 to T0 + 80 min: A went overdue, B due soon, with nobody connected to hear it.
    two = Desk(data, packs_dir)
    two.clock.t = T0 + 80 * 60
    two.svc.scheduler.load()
    two.svc.scheduler.tick()
    assert [e for e in two.drain() if e["type"] in ("due_soon", "overdue")] == []  # no stale or repeated alerts
    assert (two.get(a["id"])["state"], two.get(b["id"])["state"]) == ("overdue", "due_soon")
    two.clock.t = T0 + 91 * 60  # crossings still to come are sent
    two.svc.scheduler.tick()
    assert [(e["type"], e["item"]["id"]) for e in two.drain() if e["type"] == "overdue"] == [("overdue", b["id"])]
    two.stop()



def test_a_process_joining_a_team_announces_crossings_too_recent_for_the_others(tmp_path: Path, packs_dir: Path):
    """On a team database a starting process must not swallow a crossing the running ones have not announced yet:
    only crossings older than the grace are recorded as missed at start-up."""
    data = tmp_path / "data"
    one = Desk(data, packs_dir)
    a = one.track(post(510, minutes_ago=0))  # due soon at T0 + 45, overdue at T0 + 60
    one.clock.t = T0 + 30 * 60
    b = one.track(post(511, minutes_ago=-30, handle="b"))  # due soon at T0 + 75, overdue at T0 + 90
    one.stop()
    two = Desk(data, packs_dir)
    two.svc.scheduler.catch_up_grace = 10 * 60
    two.clock.t = T0 + 80 * 60  # A's crossings are 20 and 35 min old, B's due-soon 5 min
    two.svc.scheduler.load()
    two.svc.scheduler.tick()
    assert [(e["type"], e["item"]["id"]) for e in two.drain() if e["type"] in ("due_soon", "overdue")] == [
        ("due_soon", b["id"])]
    assert (two.get(a["id"])["state"], two.get(b["id"])["state"]) == ("overdue", "due_soon")
    two.svc.scheduler.load()  # a second start-up repeats nothing
    two.svc.scheduler.tick()
    assert [e for e in two.drain() if e["type"] in ("due_soon", "overdue")] == []
    two.stop()

# -- storage -----------------------------------------------------------------------------------------------------
def test_migrations_upgrade_in_order_and_keep_data(tmp_path: Path):
    path = tmp_path / "old.sqlite3"
    db = Database(path)
    with db.write() as conn:
        assert migrate(conn, upto=1) == 0
        conn.exec_driver_sql("INSERT INTO items (platform, post_id, text, first_seen, started_at, target_minutes, "
                             "due_soon_fraction, due_soon_at, deadline, updated_at) "
                             "VALUES ('x', '1', 'hi', 1, 1, 60, 0.25, 1, 2, 1)")
        assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = 'history'").scalar() == 0
    db.close()
    store = QueueStore(path)
    assert store.schema_version() == LATEST == MIGRATIONS[-1][0]
    assert store.get_by_post("x", "1")["text"] == "hi"
    assert store.history(1) == []
    store.close()
    QueueStore(path).close()  # opening again is a no-op
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        raw.execute("UPDATE schema_version SET version = 999")
    with pytest.raises(StoreError, match="newer"):
        QueueStore(path)


def test_history_records_every_change(desk: Desk):
    item = desk.track(post(600))
    desk.act(item["id"], "snooze", {"minutes": 5})
    desk.act(item["id"], "replied")
    assert [h["event"] for h in desk.svc.store.history(item["id"])] == ["tracked", "snoozed", "replied"]


def test_concurrent_tracking_never_duplicates(tmp_path: Path, packs_dir: Path):
    srv = LiveServer(create_app(make_config(tmp_path / "data", packs_dir=packs_dir))).start()
    try:
        posts = [post(700 + n, minutes_ago=n, handle=f"u{n % 3}") for n in range(12)]
        results: list[tuple[str, int, int]] = []
        errors: list[str] = []
        lock = threading.Lock()

        def worker(seed: int) -> None:
            with requests.Session() as s:
                for p in posts[seed % 12:] + posts[: seed % 12]:
                    r = s.post(f"{srv.url}/api/queue", json={"post": p, "pack": "flat"}, headers=srv.headers,
                               timeout=30)
                    with lock:
                        if r.status_code in (200, 201):
                            results.append((p["post_id"], r.json()["id"], r.status_code))
                        else:
                            errors.append(f"{r.status_code} {r.text}")

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors and len(results) == 8 * 12
        by_post: dict[str, set[int]] = {}
        for pid, item_id, _ in results:
            by_post.setdefault(pid, set()).add(item_id)
        assert all(len(v) == 1 for v in by_post.values())
        assert sum(1 for _, _, status in results if status == 201) == 12
        listed = requests.get(f"{srv.url}/api/queue?state=all", headers=srv.headers, timeout=30).json()
        assert listed["total"] == 12
    finally:
        srv.stop()


def test_two_stores_on_one_file_never_duplicate(tmp_path: Path):
    """Two writers (as two server processes would be) racing on the same posts: UNIQUE + ON CONFLICT hold."""
    path = tmp_path / "shared.sqlite3"
    stores = [QueueStore(path), QueueStore(path)]
    row = {"platform": "x", "text": "t", "first_seen": T0, "started_at": T0, "target_minutes": 60,
           "due_soon_fraction": 0.25, "due_soon_at": T0, "deadline": T0, "updated_at": T0}
    created: list[bool] = []

    def worker(store: QueueStore) -> None:
        for n in range(40):
            _, new = store.insert({**row, "post_id": str(n)})
            created.append(new)

    threads = [threading.Thread(target=worker, args=(stores[i % 2],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert created.count(True) == 40 and len(created) == 240
    assert stores[0].list(T0, None, limit=1000)[1] == 40
    for s in stores:
        s.close()


def test_time_left_is_computed_at_read_time(desk: Desk):
    item = desk.track(post(800, minutes_ago=0))
    desk.clock.t = T0 + timedelta(minutes=12).total_seconds()
    assert desk.get(item["id"])["seconds_left"] == 48 * 60
    assert desk.client.get("/api/queue").json["items"][0]["seconds_left"] == 48 * 60
