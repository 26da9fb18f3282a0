"""Triage drives the queue (issue 13) and the queue keeps what the team sent and escalates (issue 14).

Through the app (Flask test client, a controllable clock) over a real SQLite file in a temporary data folder.
The analysis is given explicitly where the test is about what the queue does with it (not about triage).
"""
from __future__ import annotations

import queue
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.exc

from server.app import create_app
from server.config import REPO_ROOT
from server.core import sla
from server.queue.store import LATEST, QueueStore, StoreError, migrate
from server.store.database import Database
from tests.support.live import make_config
from tests.support.packs import FLAT_SLA, write_pack

T0 = datetime(2037, 11, 24, 8, 0, tzinfo=UTC).timestamp()


def iso(ts: float) -> str:
    """The API's own ISO form (milliseconds, Z)."""
    return sla.iso(datetime.fromtimestamp(ts, UTC))


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Desk:
    def __init__(self, data: Path, packs: Path) -> None:
        self.app = create_app(make_config(data, packs_dir=packs, scheduler_interval=0.05))
        self.services = self.app.extensions["replydesk"]
        self.svc = self.services.queue
        self.clock = Clock(T0)
        self.svc.clock = self.clock
        self.client = self.app.test_client()
        self.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {self.app.config['REPLYDESK_TOKEN']}"
        self.events = self.services.hub.subscribe()

    def pack(self, name: str = "flat") -> Any:
        return self.services.packs.get(name)

    def track(self, n: int | str, analysis: dict[str, Any] | None, minutes_ago: float = 0, handle: str = "kate",
              pack: str = "flat", text: str = "Where is my parcel?", platform: str = "x") -> dict[str, Any]:
        post = {"platform": platform, "post_id": str(n), "url": f"https://x.com/{handle}/status/{n}",
                "author": {"handle": handle, "name": handle.title()}, "text": text,
                "created_at": iso(self.clock.t - minutes_ago * 60)}
        item, _ = self.svc.track(post, self.pack(pack), analysis=analysis)
        return item

    def drain(self) -> list[dict[str, Any]]:
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def stop(self) -> None:
        self.services.close()


@pytest.fixture
def packs_dir(tmp_path: Path) -> Path:
    root = tmp_path / "packs"
    shutil.copytree(REPO_ROOT / "prompts" / "default", root / "default")
    write_pack(root, "flat", FLAT_SLA)
    write_pack(root, "quiet", FLAT_SLA)  # complaints not engaged, abuse engaged: the pack decides, not a list
    intents = root / "quiet" / "intents.toml"
    text = intents.read_text().replace("[intents.complaint]\n", "[intents.complaint]\nengage = false\n", 1)
    start = text.index("[intents.abuse]")
    end = text.index("[intents.", start + 5)
    intents.write_text(text[:start] + text[start:end].replace("engage = false", "engage = true") + text[end:])
    return root


@pytest.fixture
def desk(tmp_path: Path, packs_dir: Path):
    d = Desk(tmp_path / "data", packs_dir)
    yield d
    d.stop()


NORMAL = {"intent": "complaint", "severity": "normal"}


# -- no response clock for what the pack does not engage --------------------------------------------------------
@pytest.mark.parametrize("intent", ["abuse", "spam", "threat"])
def test_not_engaged_posts_are_tracked_without_a_clock(desk: Desk, intent: str):
    item = desk.track(1, {"intent": intent, "severity": "high"}, minutes_ago=500)
    assert item["state"] == "no_reply" and item["clock"] is False
    assert item["deadline"] is None and item["seconds_left"] is None and item["target_minutes"] is None
    assert item["intent"] == intent
    listing = desk.client.get("/api/queue").json
    assert listing["items"] == [] and listing["counts"]["no_reply"] == 1 and listing["counts"]["overdue"] == 0
    assert [i["id"] for i in desk.client.get("/api/queue?state=no_reply").json["items"]] == [item["id"]]
    assert desk.client.get("/api/queue?state=all").json["total"] == 1
    snap = desk.svc.snapshot()
    assert snap["items"] == [] and snap["counts"]["overdue"] == 0
    r = desk.client.post(f"/api/queue/{item['id']}/snooze", json={"minutes": 10})
    assert r.status_code == 409 and r.json["error"] == "no_clock"
    # Days later: still no due soon or overdue notification, nor an overdue count anywhere.
    desk.clock.t += 3 * 86400
    desk.drain()
    desk.svc.scheduler.load()
    desk.svc.scheduler.tick(desk.clock.t)
    assert not [e for e in desk.drain() if e["type"] in ("due_soon", "overdue")]
    assert desk.svc.get(item["id"])["state"] == "no_reply"
    stats = desk.client.get(f"/api/stats?since={iso(T0 - 86400)}&until={iso(desk.clock.t)}").json
    assert stats["overall"]["count"] == 0 and stats["overdue_now"] == 0 and stats["overall"]["missed"] == 0
    # The agent may still answer or dismiss it; it never counts in the response-time figures.
    replied = desk.client.post(f"/api/queue/{item['id']}/replied", json={"reply": "Reported."}).json
    assert replied["state"] == "replied" and replied["response_seconds"] is None and replied["within_target"] is None
    assert desk.client.get(f"/api/stats?since={iso(T0 - 86400)}&until={iso(desk.clock.t)}").json[
        "overall"]["answered"] == 0


def test_engage_comes_from_the_pack(desk: Desk):
    complaint = desk.track(1, NORMAL, pack="quiet")
    abuse = desk.track(2, {"intent": "abuse", "severity": "normal"}, pack="quiet")
    assert complaint["state"] == "no_reply" and complaint["deadline"] is None
    assert abuse["state"] == "waiting" and abuse["clock"] is True and abuse["deadline"] == iso(T0 + 3600)


def test_an_engaged_post_beside_an_untimed_one_keeps_its_figures(desk: Desk):
    timed = desk.track(1, NORMAL, minutes_ago=90)
    desk.track(2, {"intent": "spam", "severity": "low"}, minutes_ago=90, handle="bot")
    assert desk.svc.get(timed["id"])["state"] == "overdue"
    stats = desk.client.get(f"/api/stats?since={iso(T0 - 86400)}&until={iso(T0 + 1)}").json
    assert stats["overall"]["count"] == 1 and stats["overdue_now"] == 1


# -- priority: severity and urgency, then time left -----------------------------------------------------------
def test_priority_orders_the_listing_and_the_snapshot(desk: Desk):
    thanks = desk.track("thanks", {"intent": "praise", "severity": "low"}, minutes_ago=59, handle="a")
    late = desk.track("late", NORMAL, minutes_ago=80, handle="b")  # overdue, normal
    stranded = desk.track("stranded", {"intent": "complaint", "severity": "high", "urgent": True}, handle="c")
    high = desk.track("high", {"intent": "complaint", "severity": "high", "urgent": False}, minutes_ago=10,
                      handle="d")
    critical = desk.track("critical", {"intent": "outage", "severity": "critical"}, handle="e")
    soon = desk.track("soon", NORMAL, minutes_ago=50, handle="f")
    expected = [critical["id"], stranded["id"], high["id"], late["id"], soon["id"], thanks["id"]]
    assert [i["id"] for i in desk.client.get("/api/queue").json["items"]] == expected
    assert [i["id"] for i in desk.svc.snapshot()["items"]] == expected
    assert desk.client.get("/api/queue?limit=2&offset=2").json["items"][0]["id"] == high["id"]
    got = {i["id"]: i for i in desk.client.get("/api/queue").json["items"]}
    assert got[stranded["id"]]["priority"] > got[high["id"]]["priority"] > got[late["id"]]["priority"]
    assert got[thanks["id"]]["state"] == "due_soon" and got[late["id"]]["state"] == "overdue"


def test_analysis_flags_are_kept_and_may_be_missing(desk: Desk):
    full = desk.track(1, {"intent": "complaint", "severity": "normal", "urgent": True, "sarcasm": True,
                          "lang": "es"}, handle="a")
    bare = desk.track(2, {"intent": "question"}, handle="b")
    odd = desk.track(3, {"intent": "question", "urgent": "yes", "sarcasm": None, "lang": 7}, handle="c")
    assert (full["urgent"], full["sarcasm"], full["lang"]) == (True, True, "es")
    assert (bare["urgent"], bare["sarcasm"], bare["lang"]) == (None, None, None)
    assert (odd["urgent"], odd["sarcasm"], odd["lang"], odd["severity"]) == (None, None, None, None)
    assert desk.svc.get(full["id"])["urgent"] is True  # from the stored row, not the cache of the first answer


# -- sent replies, memory, export -------------------------------------------------------------------------------
def test_replied_keeps_the_text_sent_and_who_sent_it(desk: Desk):
    item = desk.track(1, NORMAL, minutes_ago=5)
    desk.drain()
    r = desk.client.post(f"/api/queue/{item['id']}/replied", json={"reply": "  Sorry Kate, refund sent today.  "})
    assert r.status_code == 200
    assert r.json["reply"] == "Sorry Kate, refund sent today." and r.json["replied_by"] == "agent"
    upsert = next(e for e in desk.drain() if e.get("change") == "upsert")
    assert upsert["item"]["reply"] == "Sorry Kate, refund sent today."
    again = desk.client.post(f"/api/queue/{item['id']}/replied", json={"reply": "another text"}).json
    assert again["reply"] == "Sorry Kate, refund sent today."  # the first text kept is what was sent
    # Marked replied first, the text arrives later: kept once.
    other = desk.track(2, NORMAL, handle="b")
    desk.client.post(f"/api/queue/{other['id']}/replied")
    assert desk.svc.get(other["id"])["reply"] is None
    later = desk.client.post(f"/api/queue/{other['id']}/replied", json={"reply": "Here is the link."}).json
    assert later["reply"] == "Here is the link." and later["replied_at"] == iso(T0)
    events = [h["event"] for h in desk.svc.store.history(other["id"])]
    assert events == ["tracked", "replied", "reply_recorded"]


@pytest.mark.parametrize("body, status, code", [
    ({"reply": ""}, 400, "invalid_reply"), ({"reply": "   "}, 400, "invalid_reply"),
    ({"reply": 5}, 400, "invalid_reply"), ({"reply": ["a"]}, 400, "invalid_reply"),
    ({"reply": "x" * 10_001}, 413, "reply_too_large")])
def test_bad_reply_texts(desk: Desk, body: dict, status: int, code: str):
    item = desk.track(1, NORMAL)
    r = desk.client.post(f"/api/queue/{item['id']}/replied", json=body)
    assert r.status_code == status and r.json["error"] == code
    assert desk.svc.get(item["id"])["state"] == "waiting"


def test_sent_replies_history_and_export(desk: Desk):
    a = desk.track(1, {"intent": "question", "severity": "normal"}, handle="kate", text="When do you open?")
    desk.clock.t += 60
    b = desk.track(2, NORMAL, handle="kate", text="Still no parcel")
    desk.track(3, NORMAL, handle="bob", pack="default")
    desk.track(4, NORMAL, handle="kate", platform="facebook")
    desk.clock.t += 60
    desk.client.post(f"/api/queue/{a['id']}/replied", json={"reply": "We open at 9."})
    desk.clock.t += 60
    desk.client.post(f"/api/queue/{b['id']}/replied", json={"reply": "Your parcel left today."})
    desk.client.post("/api/queue/3/replied")  # no text: not a sent reply
    sent = desk.svc.sent_replies()
    assert [s["id"] for s in sent] == [b["id"], a["id"]]
    assert sent[1] == {"id": a["id"], "platform": "x", "pack": "flat", "lang": None, "text": "When do you open?",
                       "intent": "question", "reply": "We open at 9.", "replied_at": iso(T0 + 120),
                       "handle": "kate", "name": "Kate"}
    assert desk.svc.sent_replies(pack="default") == [] and len(desk.svc.sent_replies(limit=1)) == 1
    new = desk.track(5, NORMAL, handle="Kate", text="And now?")
    hist = desk.svc.history("x", "@KATE", exclude_id=new["id"])
    assert [h["id"] for h in hist] == [b["id"], a["id"]]
    assert hist[0]["reply"] == "Your parcel left today." and hist[0]["state"] == "replied"
    assert [h["id"] for h in desk.svc.history("x", "kate", limit=1)] == [new["id"]]
    assert desk.svc.history("x", "") == [] and desk.svc.history("tiktok", "kate") == []
    r = desk.client.get("/api/queue/export")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    exported = {i["id"]: i for i in r.json["items"]}
    assert r.json["count"] == 5 and exported[b["id"]]["reply"] == "Your parcel left today."


def test_the_reply_memory_has_this_process_replies_at_once_and_others_within_its_refresh(desk: Desk, monkeypatch):
    from collections import deque

    from server.queue import memory

    def reply(n: int, text: str) -> int:
        item = desk.track(n, NORMAL, handle=f"c{n}", text=text)
        assert desk.client.post(f"/api/queue/{item['id']}/replied", json={"reply": f"Answer {n}"}).status_code == 200
        return item["id"]

    a = reply(1, "My mixer stopped")
    first = desk.svc.recent_sent("flat", 1000)
    assert [r["id"] for r in first] == [a]
    # Another process's reply: written to the database, not through this service.
    row = desk.svc.build_row({"platform": "x", "post_id": "2", "url": "https://x.com/o/status/2",
                              "author": {"handle": "other", "name": "Olga"}, "text": "Kettle leaks",
                              "created_at": None}, desk.pack(), now=desk.clock.t)
    row.update(replied_at=desk.clock.t + 1, reply="Answer from elsewhere", replied_by="Dana", updated_at=desk.clock.t)
    desk.svc.store.insert_many([row])
    assert desk.svc.recent_sent("flat", 1000) is first  # within the refresh time: the copy, no read
    c = reply(3, "Toaster sparks")
    mine = desk.svc.recent_sent("flat", 1000)
    assert [r["id"] for r in mine] == [c, a] and mine[0]["reply"] == "Answer 3" and mine[0]["handle"] == "c3"
    assert mine[0] == next(r for r in desk.svc.sent_replies() if r["id"] == c)  # the shape a read gives
    monkeypatch.setattr(memory, "SENT_REFRESH_SECONDS", 0.0)
    later = desk.svc.recent_sent("flat", 1000)
    assert {r["id"] for r in later} == {a, c, row_id(desk, "2")}
    # More replies kept than the service remembers between two reads: it reads them all again.
    monkeypatch.setattr(memory, "SENT_REFRESH_SECONDS", 60.0)
    desk.svc._kept = deque(maxlen=2)
    ids = [reply(n, f"Fault number {n}") for n in (4, 5, 6)]
    assert set(ids) <= {r["id"] for r in desk.svc.recent_sent("flat", 1000)}


def row_id(desk: Desk, post_id: str) -> int:
    return next(r["id"] for r in desk.svc.store.all_rows() if r["post_id"] == post_id)


# -- escalation -------------------------------------------------------------------------------------------------
def test_legal_safety_is_escalated_when_tracked_once(desk: Desk):
    desk.drain()
    safety = {"intent": "legal_safety", "severity": "critical"}
    item = desk.track(1, safety, text="The charger caught fire")
    assert item["escalated"] is True and item["escalation_reason"] == "legal_safety"
    assert item["escalated_at"] == iso(T0)
    events = desk.drain()
    assert [e.get("change") for e in events if e["type"] == "queue"] == ["upsert", "escalated"]
    esc = events[-1]
    assert esc["item"]["id"] == item["id"] and esc["reason"] == "legal_safety"
    again = desk.track(1, safety, text="The charger caught fire")
    assert again["id"] == item["id"] and again["escalated"] is True and desk.drain() == []
    assert [h["event"] for h in desk.svc.store.history(item["id"])] == ["tracked", "escalated"]
    plain = desk.track(2, NORMAL, handle="b")
    assert plain["escalated"] is False and plain["escalated_at"] is None


def test_explicit_escalation_and_the_escalated_filter(desk: Desk):
    a = desk.track(1, NORMAL, handle="a")
    b = desk.track(2, NORMAL, handle="b", minutes_ago=10)
    desk.drain()
    got = desk.svc.escalate(a["id"], "customer threatens to sue")
    assert got["escalated"] is True and got["escalation_reason"] == "customer threatens to sue"
    assert [e.get("change") for e in desk.drain()] == ["upsert", "escalated"]
    assert desk.svc.escalate(a["id"], "again")["escalation_reason"] == "customer threatens to sue"
    assert desk.drain() == []
    r = desk.client.post(f"/api/queue/{b['id']}/escalate", json={"reason": "supervisor asked"})
    assert r.status_code == 200 and r.json["escalated"] is True
    desk.track(3, NORMAL, handle="c")
    assert {i["id"] for i in desk.svc.listing(None, None, 100, 0, escalated=True)["items"]} == {a["id"], b["id"]}
    only = desk.client.get("/api/queue?escalated=true").json
    assert only["total"] == 2 and [i["id"] for i in only["items"]] == [b["id"], a["id"]]
    assert desk.client.get("/api/queue?escalated=false").json["total"] == 1
    assert desk.client.get("/api/queue?escalated=maybe").status_code == 400
    assert desk.client.post(f"/api/queue/{a['id']}/escalate", json={"reason": ""}).status_code == 400
    assert desk.client.post("/api/queue/999/escalate").status_code == 404


# -- the store's upgrade ----------------------------------------------------------------------------------------
def _v4_database(path: Path) -> None:
    """A database as the previous schema version (4) wrote it: the same released migrations, stopped at 4."""
    db = Database(path)
    with db.write() as conn:
        migrate(conn, upto=4)
    db.close()
    conn = sqlite3.connect(path)
    cols = ("platform, post_id, text, intent, severity, first_seen, started_at, target_minutes, due_soon_fraction, "
            "due_soon_at, deadline, updated_at, replied_at")
    rows = [("x", "1", "you are idiots", "abuse", "normal", T0, T0, 60, .25, T0 + 2700, T0 + 3600, T0, None),
            ("x", "2", "thanks!", "praise", "low", T0, T0, 60, .25, T0 + 2700, T0 + 3600, T0, None),
            ("x", "3", "fire!", "legal_safety", "critical", T0, T0, 15, .25, T0 + 600, T0 + 900 + 5000, T0, None),
            ("x", "4", "late", "complaint", "normal", T0, T0, 30, .25, T0 + 1000, T0 + 1800, T0, T0 + 600)]
    with conn:
        conn.executemany(f"INSERT INTO items ({cols}) VALUES ({', '.join('?' * 13)})", rows)
    conn.close()


def test_a_version_4_database_upgrades_in_place(tmp_path: Path):
    path = tmp_path / "queue.sqlite3"
    _v4_database(path)
    store = QueueStore(path)
    assert store.schema_version() == LATEST
    now = T0 + 60
    rows, total, counts = store.list(now, ["waiting", "due_soon", "overdue", "snoozed"], with_counts=True)
    assert [r["post_id"] for r in rows] == ["3", "2"]  # critical first, though its deadline is later
    assert counts["no_reply"] == 1 and counts["replied"] == 1 and total == 2
    abuse = store.get_by_post("x", "1")
    assert abuse["clock"] == 0 and abuse["text"] == "you are idiots" and abuse["reply"] is None
    assert store.get_by_post("x", "4")["replied_at"] == T0 + 600
    assert len(store.started_between(T0 - 1, T0 + 1)) == 3  # the abuse post has no response time to count
    store.close()
    QueueStore(path).close()  # opening again is a no-op


def test_a_failed_upgrade_leaves_the_old_database_as_it_was(tmp_path: Path):
    path = tmp_path / "queue.sqlite3"
    _v4_database(path)
    with sqlite3.connect(path) as raw:  # something in the way of the last statements of migration 5
        raw.execute("CREATE TABLE items_sent (x)")
    with pytest.raises(sqlalchemy.exc.OperationalError):
        QueueStore(path)
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchone()[0] == 4
        cols = [r[1] for r in raw.execute("PRAGMA table_info(items)")]
        assert "clock" not in cols and "reply" not in cols
        assert raw.execute("SELECT count(*) FROM items").fetchone()[0] == 4
        assert raw.execute("SELECT count(*) FROM sqlite_master WHERE name = 'items_open_deadline'").fetchone()[0]
        raw.execute("DROP TABLE items_sent")
    store = QueueStore(path)
    assert store.schema_version() == LATEST and store.get_by_post("x", "1")["clock"] == 0
    store.close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="newer"):
        QueueStore(path)
