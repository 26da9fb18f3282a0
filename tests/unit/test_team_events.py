"""The pure parts of team mode's events: NOTIFY payloads (whole, compact, own ones skipped), the hub's bridge,
the scheduler's de-duplicated heap and gunicorn's settings. The real processes are in tests/system."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from server.config import Config
from server.queue.scheduler import Scheduler
from server.web.events import EventHub
from server.web.notify import MAX_PAYLOAD, PgBridge, conninfo, decode, encode
from server.web.serve import gunicorn_options

URL = "postgresql://postgres@127.0.0.1:1/none"  # never connected: these tests stop short of start()


def queue_event(text: str) -> dict[str, Any]:
    return {"type": "queue", "change": "upsert", "server_time": "2026-01-01T00:00:00Z",
            "item": {"id": 7, "state": "waiting", "text": text}}


def test_a_small_event_travels_whole_and_its_sender_skips_it():
    payload = encode("me", queue_event("Where is my order?"))
    assert decode("other", payload) == queue_event("Where is my order?")
    assert decode("me", payload) is None  # the publisher delivered it locally already
    assert decode("other", "not json") is None and decode("other", json.dumps({"o": "x", "e": [1]})) is None


def test_an_event_over_postgresqls_payload_limit_travels_compact():
    event = queue_event("ü" * 6000)  # 12,000 bytes in UTF-8, though only 6,000 characters
    payload = encode("me", event)
    assert len(payload.encode("utf-8")) <= MAX_PAYLOAD
    assert decode("other", payload) == {"type": "queue", "change": "upsert", "server_time": "2026-01-01T00:00:00Z",
                                        "item_id": 7, "compact": True}


class Sink:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, event: dict[str, Any]) -> None:
        self.sent.append(event)


def test_the_hub_delivers_locally_once_and_hands_the_event_to_the_bridge():
    hub, sink = EventHub(), Sink()
    hub.bridge = sink
    sub = hub.subscribe()
    hub.publish({"type": "queue", "change": "remove", "id": 1})
    assert sub.get_nowait() == {"type": "queue", "change": "remove", "id": 1} and sub.empty()
    assert sink.sent == [{"type": "queue", "change": "remove", "id": 1}]
    hub.deliver({"type": "due_soon"})  # another process's event: local subscribers only
    assert sub.get_nowait() == {"type": "due_soon"} and len(sink.sent) == 1


def test_the_listener_delivers_other_processes_events_and_expands_compact_ones():
    hub, seen = EventHub(), []
    bridge = PgBridge(URL, hub, expand=lambda ev: {"type": ev["type"], "item": {"id": ev["item_id"], "re": 1}},
                      on_remote=[seen.append])
    sub = hub.subscribe()
    bridge.receive(encode(bridge.origin, queue_event("mine")))
    assert sub.empty() and not seen
    bridge.receive(encode("other", queue_event("theirs")))
    bridge.receive(encode("other", queue_event("x" * 9000)))
    assert sub.get_nowait() == queue_event("theirs")
    assert sub.get_nowait() == {"type": "queue", "item": {"id": 7, "re": 1}}
    assert len(seen) == 2 and bridge.delivered == 2


def test_a_compact_event_that_cannot_be_re_read_asks_clients_to_resync():
    def broken(event: dict[str, Any]) -> dict[str, Any]:
        raise LookupError("gone")

    hub = EventHub()
    bridge = PgBridge(URL, hub, expand=broken)
    sub = hub.subscribe()
    bridge.receive(encode("other", queue_event("x" * 9000)))
    assert sub.get_nowait() == {"type": "resync"}


def test_conninfo_drops_sqlalchemys_driver_name():
    assert conninfo("postgresql+psycopg://u:p@db:5433/desk") == "postgresql://u:p@db:5433/desk"
    assert conninfo("postgresql://u@db/desk") == "postgresql://u@db/desk"


class FakeStore:
    db = None

    def open_items(self) -> list[dict[str, Any]]:
        return [{"id": 1, "due_soon_at": 100.0, "deadline": 200.0, "snoozed_until": None, "notified": 0, "clock": 1}]


class FakeService:
    store = FakeStore()

    @staticmethod
    def clock() -> float:
        return 50.0


def test_re_scanning_open_items_adds_no_twin_entries_to_the_heap():
    sched = Scheduler(FakeService())  # type: ignore[arg-type]
    assert sched.rescan is None  # not PostgreSQL: one process, nothing to re-scan
    for _ in range(5):
        sched.scan()
    assert sched.next_due() == 100.0 and len(sched._heap) == 1
    sched.watch(1)  # another process's item: looked at now
    assert sched.next_due() == 50.0 and len(sched._heap) == 2


def test_gunicorn_runs_threaded_workers_built_after_the_fork(tmp_path: Path):
    opts = gunicorn_options(Config(data_dir=tmp_path, host="127.0.0.1", port=9000, workers=3, threads=4))
    assert opts["worker_class"] == "gthread" and opts["workers"] == 3 and opts["threads"] == 4
    assert opts["preload_app"] is False and opts["timeout"] >= 120 and opts["bind"] == ["127.0.0.1:9000"]
    assert gunicorn_options(Config(data_dir=tmp_path, host="::1", port=1))["bind"] == ["[::1]:1"]


def test_run_refuses_several_workers_on_the_embedded_sqlite_file(tmp_path: Path, capsys):
    from server.cli import main

    assert main(["run", "--data-dir", str(tmp_path), "--workers", "2"]) == 2
    assert "team database" in capsys.readouterr().err
    assert main(["run", "--data-dir", str(tmp_path), "--workers", "-1"]) == 2


class DownStore(FakeStore):
    """A team database that is down until `up` is set: every read raises what the real store raises."""

    def __init__(self) -> None:
        self.up = False
        self.reads = 0

    def get(self, item_id: int) -> dict[str, Any] | None:
        from server.store.database import StoreUnavailable

        self.reads += 1
        if not self.up:
            raise StoreUnavailable()
        return None  # gone meanwhile: nothing to announce


def test_a_database_outage_keeps_the_owed_checks_and_is_logged_once_each_way(caplog):
    from server.queue.scheduler import RETRY_SECONDS

    svc = FakeService()
    svc.store = DownStore()  # type: ignore[assignment]
    sched = Scheduler(svc)  # type: ignore[arg-type]
    sched.push(50.0, 7)
    with caplog.at_level("WARNING", logger="server.queue.scheduler"):
        t = 100.0
        for _ in range(3):  # an outage: the check stays owed and is retried later; one line is said
            assert sched.tick(now=t) == 1 and sched.next_due() == t + RETRY_SECONDS
            t += RETRY_SECONDS
        assert svc.store.reads == 3
        assert [r.message for r in caplog.records].count(
            next(r.message for r in caplog.records if "cannot be reached" in r.message)) == 1
        assert not [r for r in caplog.records if r.exc_info]  # no traceback per tick
        svc.store.up = True
        assert sched.tick(now=t) == 1 and sched.next_due() is None
    assert any("reachable again" in r.message for r in caplog.records)
