"""Faults a team server must ride out, on real processes and a real PostgreSQL (issue 16).

- PostgreSQL goes away in the middle of writes (a crash, then a fast shutdown) while agents keep working through
  two server processes: every call meanwhile answers at once with a 503 a person understands (never a 500, never
  a hang), the servers reconnect by themselves when the database is back, every acknowledged write is there and
  right afterwards, and nothing refused while the database was down was done anyway.
- Two agents on different server processes claim the same post at the same instant, a thousand times over: each
  time exactly one wins and the other is told who holds it.

The kill -9 of one process and the /ws events after a PostgreSQL restart are in test_team_processes.py.
"""
from __future__ import annotations

import http.client
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from server.store.database import Database, StoreUnavailable
from server.team.agents import Agents
from tests.support.team import TeamProcess

ANSWER_BOUND = 10.0  # seconds: any call, the database up or down, is answered within this
RECOVERY_BOUND = 20.0  # seconds from PostgreSQL accepting connections again to every writer's next success
RACE_ROUNDS = 1000


class Api:
    """One keep-alive HTTP/1.1 connection to a server, as an agent's client holds it: (status, JSON body)."""

    def __init__(self, srv: TeamProcess, token: str, timeout: float = 30.0) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body)
        self.conn.request(method, path, body=data, headers=self.headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, raw.decode(errors="replace")

    def close(self) -> None:
        self.conn.close()


def post(key: str, text: str) -> dict[str, Any]:
    return {"platform": "x", "post_id": key, "author": {"handle": f"h{key}", "name": None}, "text": text}


@dataclass
class Team:
    a: TeamProcess  # gunicorn, two worker processes
    b: TeamProcess  # Werkzeug
    url: str
    db_name: str
    agents: dict[str, str] = field(default_factory=dict)  # name -> token

    def agent(self, name: str) -> str:
        if name not in self.agents:
            db = Database(self.url, pool_size=1)
            try:
                self.agents[name] = Agents(db).add(name)
            finally:
                db.close()
        return self.agents[name]


@pytest.fixture(scope="module")
def team(pg_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    root = tmp_path_factory.mktemp("faults")
    url = pg_cluster.create_database()
    a = TeamProcess(root / "a", url, workers=2).start(wait=False)
    b = TeamProcess(root / "b", url, workers=0).start(wait=False)
    try:
        a.wait_ready()
        b.wait_ready()
        yield Team(a, b, url, url.rsplit("/", 1)[1])
    finally:
        a.stop()
        b.stop()


# -- PostgreSQL restarted in the middle of writes ---------------------------------------------------------------
@dataclass
class Call:
    """One write as its client saw it: what was asked, when, and the answer (status None: no answer at all)."""

    writer: str
    kind: str  # track | claim | replied
    key: str  # the post's id
    started: float
    ended: float
    status: int | None
    body: Any
    item_id: int | None = None

    @property
    def acked(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Writer(threading.Thread):
    """An agent working through posts: track one, claim it, mark it replied with the text sent; a refused step
    abandons that post (as a person would move on) and the next loop starts a new one."""

    def __init__(self, name: str, srv: TeamProcess, token: str, stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.agent, self.srv, self.token, self.halt = name, srv, token, stop
        self.calls: list[Call] = []
        self.error: BaseException | None = None

    def _do(self, api: Api, kind: str, key: str, method: str, path: str, body: dict | None,
            item_id: int | None) -> Call:
        started = time.monotonic()
        try:
            status, answer = api.call(method, path, body)
        except (OSError, http.client.HTTPException) as exc:  # no answer: recorded, and the test fails on it
            status, answer = None, repr(exc)
            api.close()
        call = Call(self.agent, kind, key, started, time.monotonic(), status, answer, item_id)
        if kind == "track" and call.acked:
            call.item_id = answer["id"]
        self.calls.append(call)
        return call

    def run(self) -> None:
        api = Api(self.srv, self.token)
        n = 0
        try:
            while not self.halt.is_set():
                n += 1
                key = f"{self.agent}-{n}"
                tracked = self._do(api, "track", key, "POST", "/api/queue",
                                   {"post": post(key, f"Order {key} has not arrived")}, None)
                if tracked.acked:
                    item = tracked.item_id
                    if self._do(api, "claim", key, "POST", f"/api/queue/{item}/claim", None, item).acked:
                        if self._do(api, "replied", key, "POST", f"/api/queue/{item}/replied",
                                    {"reply": f"Sorry {key}, a new one ships today."}, item).acked:
                            continue
                time.sleep(0.05)  # refused: a client waits a moment before the next try
        except BaseException as exc:  # surfaced by the test
            self.error = exc
        finally:
            api.close()


def successes_after(writers: list[Writer], since: float) -> dict[str, float]:
    """Per writer, the end of its first acknowledged write that started after `since`."""
    out = {}
    for w in writers:
        hit = next((c for c in list(w.calls) if c.started >= since and c.acked), None)
        if hit is not None:
            out[w.agent] = hit.ended
    return out


def wait_for_successes(writers: list[Writer], since: float, bound: float) -> float:
    """Seconds until every writer has written successfully after `since`; fails past `bound`."""
    deadline = since + bound
    while True:
        done = successes_after(writers, since)
        if len(done) == len(writers):
            return max(done.values()) - since
        if time.monotonic() > deadline:
            raise AssertionError(f"writes did not succeed again within {bound} s of PostgreSQL's return on "
                                 f"{sorted(set(w.agent for w in writers) - set(done))}")
        time.sleep(0.05)


def probe_while_down(team: Team, token: str | None = None) -> list[tuple[str, int, Any, float]]:
    """A read, a write and /healthz on each process, from a fresh connection, with `token` (default: the
    process's pairing token, which needs no database): (what, status, body, seconds)."""
    out = []
    for srv in (team.a, team.b):
        for method, path, body in (("GET", "/api/queue", None), ("POST", "/api/queue",
                                                                 {"post": post(f"probe-{srv.port}", "Hello?")}),
                                   ("GET", "/healthz", None)):
            api = Api(srv, token or srv.token, timeout=ANSWER_BOUND + 5)
            started = time.monotonic()
            status, answer = api.call(method, path, body)
            out.append((f"{method} {path} on {srv.port}", status, answer, time.monotonic() - started))
            api.close()
    return out


NOTHING_CHANGED = "nothing was changed"
MAYBE_SAVED = "may or may not have been saved"


def assert_clear_503(status: int | None, body: Any, what: str) -> None:
    assert status == 503, f"{what}: {status} {body}"
    assert isinstance(body, dict) and body.get("error") == "database_unavailable", f"{what}: {body}"
    assert body["message"].startswith("The Reply Desk database cannot be reached right now; "), body
    assert NOTHING_CHANGED in body["message"] or MAYBE_SAVED in body["message"], body


def ensure_running(pg: Any) -> None:
    """Start the session's cluster unless it runs already (pg_ctl refuses to start a running server)."""
    try:
        pg.start()
    except subprocess.CalledProcessError:
        assert pg.psql("postgres", "SELECT 1") == "1"


def psql_items(pg: Any, db_name: str) -> dict[str, dict[str, Any]]:
    """Every item straight from PostgreSQL, by post id, with its history's claim and reply events."""
    sql = ("SELECT json_build_object('id', i.id, 'post_id', i.post_id, 'text', i.text, 'reply', i.reply, "
           "'replied', i.replied_at IS NOT NULL, 'replied_by', i.replied_by, 'claimed_by', i.claimed_by, "
           "'events', (SELECT coalesce(json_agg(json_build_array(h.event, h.by_agent) ORDER BY h.id), '[]') "
           "FROM history h WHERE h.item_id = i.id)) FROM items i ORDER BY i.id")
    rows = [json.loads(line) for line in pg.psql(db_name, sql).splitlines() if line]
    return {r["post_id"]: r for r in rows}


def worker_pids(srv: TeamProcess) -> set[int]:
    """The gunicorn master's worker processes (a worker that died and was replaced would show a new pid)."""
    return {int(p) for p in Path(f"/proc/{srv.pid}/task/{srv.pid}/children").read_text().split()}


def test_postgresql_down_mid_writes_answers_503_then_recovers_and_loses_nothing(team: Team, pg_cluster: Any):
    """A crash (immediate stop), then an orderly fast stop, each about 2 s long, under four agents' writes."""
    stop = threading.Event()
    workers = worker_pids(team.a)
    assert len(workers) == 2
    writers = [Writer(f"Writer{i}", team.a if i < 2 else team.b, team.agent(f"Writer{i}"), stop) for i in range(4)]
    outages: list[tuple[str, float, float]] = []  # (mode, stopped: PG fully down, restarting: start() called)
    probes = []
    recovery = {}
    try:
        for w in writers:
            w.start()
        deadline = time.monotonic() + 20
        while sum(c.acked for w in writers for c in w.calls) < 40:
            assert time.monotonic() < deadline, "the writers could not get going"
            time.sleep(0.05)
        for mode in ("immediate", "fast"):
            pg_cluster.stop(immediate=mode == "immediate")  # the crash; then an orderly shutdown
            down = time.monotonic()
            time.sleep(0.5)  # the writers meet the outage on their open connections
            probes += [(mode, *p) for p in probe_while_down(team)]
            probes += [(mode, *p) for p in probe_while_down(team, team.agent("Writer0"))]
            time.sleep(max(0.0, down + 2.0 - time.monotonic()))
            restarting = time.monotonic()
            outages.append((mode, down, restarting))
            pg_cluster.start()
            recovery[mode] = wait_for_successes(writers, time.monotonic(), RECOVERY_BOUND)
            time.sleep(0.5)
    finally:
        stop.set()
        for w in writers:
            w.join(timeout=ANSWER_BOUND + 30)
        ensure_running(pg_cluster)  # whatever happened, later tests get their database back
    assert all(w.error is None for w in writers), [w.error for w in writers]
    # The same processes served throughout: nothing was restarted to recover.
    assert team.a.proc.poll() is None and team.b.proc.poll() is None and team.a.starts == team.b.starts == 1
    assert worker_pids(team.a) == workers

    calls = [c for w in writers for c in w.calls]
    down_calls = [c for c in calls if any(d <= c.started and c.ended <= r for _, d, r in outages)]
    print(f"\n{len(calls)} writes, {sum(c.acked for c in calls)} acknowledged, {len(down_calls)} refused while "
          f"PostgreSQL was down (slowest answer {max(c.ended - c.started for c in down_calls):.3f} s); writing "
          f"again {', '.join(f'{s:.2f} s after the {m} stop' for m, s in recovery.items())} once it was back")
    # Every call was answered, promptly; only successes and 503s, never a 500 (see the server logs if not).
    slow = [c for c in calls if c.status is None or c.ended - c.started > ANSWER_BOUND]
    assert not slow, slow[:5]
    odd = [c for c in calls if not c.acked and c.status != 503]
    assert not odd, (odd[:5], team.a.log_tail(), team.b.log_tail())
    for c in calls:
        if not c.acked:
            assert_clear_503(c.status, c.body, f"{c.kind} {c.key}")
    assert len(down_calls) >= 8 and all(c.status == 503 for c in down_calls)
    for mode, what, status, body, secs in probes:
        assert secs < ANSWER_BOUND, (mode, what, secs)
        if what.startswith("GET /healthz"):
            # /healthz is liveness: the process is up and will recover by itself, so a balancer keeps it in.
            assert status == 200 and body["ok"] is True, (mode, what, status, body)
        else:
            assert_clear_503(status, body, f"{mode}: {what}")

    # Every acknowledged write is there and right: through either process's API, and in PostgreSQL itself.
    mine = ("Writer", "probe-")  # the posts of this test (the race below adds its own to the same database)
    in_db = {k: v for k, v in psql_items(pg_cluster, team.db_name).items() if k.startswith(mine)}
    listed = {}
    for srv in (team.a, team.b):
        api = Api(srv, srv.token)
        status, page = api.call("GET", "/api/queue?state=all&limit=1000")
        api.close()
        assert status == 200, page
        listed[srv.port] = {i["post_id"]: i for i in page["items"] if i["post_id"].startswith(mine)}
        assert listed[srv.port].keys() == in_db.keys()
    down_keys = {(c.kind, c.key) for c in down_calls}
    in_flight = saved = 0
    for c in calls:
        row = in_db.get(c.key)
        events = [tuple(e) for e in row["events"]] if row else []
        if c.acked and c.kind == "track":
            assert row is not None and row["id"] == c.item_id and row["text"] == f"Order {c.key} has not arrived"
        elif c.acked and c.kind == "claim":
            assert ("claimed", c.writer) in events, (c, row)
        elif c.acked and c.kind == "replied":
            assert row["replied"] and row["reply"] == f"Sorry {c.key}, a new one ships today.", (c, row)
            assert row["replied_by"] == c.writer and ("replied", c.writer) in events, (c, row)
            for item in (listed[team.a.port][c.key], listed[team.b.port][c.key]):
                assert item["state"] == "replied" and item["reply"] == row["reply"] and item["claimed_by"] is None
        elif (c.kind, c.key) in down_keys:  # refused while the database was down: not done, not half done
            assert NOTHING_CHANGED in c.body["message"], c
            if c.kind == "track":
                assert row is None, c
            elif c.kind == "claim":
                assert row["claimed_by"] is None and not any(e[0] == "claimed" for e in events), (c, row)
            else:
                assert not row["replied"] and row["claimed_by"] == c.writer, (c, row)
        else:  # refused as the database went away: either outcome, but a saved change is never "not changed"
            in_flight += 1
            done = row is not None if c.kind == "track" else ("claimed", c.writer) in events \
                if c.kind == "claim" else row["replied"]
            saved += done
            assert not done or MAYBE_SAVED in c.body["message"], (c, row)
    assert set(in_db) <= {c.key for c in calls}  # nothing appeared that nobody wrote (the probes were refused)
    print(f"{in_flight} refused writes were in flight as PostgreSQL went away; {saved} of them had been saved")


def test_a_connection_lost_while_committing_never_says_nothing_was_changed(pg_url: str, pg_cluster: Any):
    """The crash above hits a commit only now and then; here the store's connection is cut on purpose, once just
    before the commit (the database has it; saved or not is unknown to the server) and once before a statement."""
    name = pg_url.rsplit("/", 1)[1]
    db = Database(pg_url, pool_size=1)
    try:
        with db.write() as conn:
            conn.execute(text("CREATE TABLE notes (n integer)"))

        def cut(conn: Any) -> None:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            assert pg_cluster.psql(name, f"SELECT pg_terminate_backend({pid})") == "t"

        with pytest.raises(StoreUnavailable) as at_commit:
            with db.write() as conn:
                conn.execute(text("INSERT INTO notes VALUES (1)"))
                cut(conn)
        assert MAYBE_SAVED in at_commit.value.message and NOTHING_CHANGED not in at_commit.value.message
        with pytest.raises(StoreUnavailable) as before:
            with db.write() as conn:
                cut(conn)
                conn.execute(text("INSERT INTO notes VALUES (2)"))
        assert NOTHING_CHANGED in before.value.message
        with db.read() as conn:  # and the pool has reconnected by itself
            assert conn.execute(text("SELECT count(*) FROM notes")).scalar_one() == 0
    finally:
        db.close()


# -- two agents claiming the same post at the same instant ------------------------------------------------------
def test_two_agents_on_two_processes_claim_the_same_post_at_once_exactly_one_wins(team: Team, pg_cluster: Any):
    tokens = {"Dana": team.agent("Dana"), "Sam": team.agent("Sam")}
    via = {"Dana": team.a, "Sam": team.b}
    items = create_posts(team, RACE_ROUNDS)
    barrier = threading.Barrier(2)
    answers: dict[str, list[tuple[int, Any]]] = {}
    failures: list[BaseException] = []

    def race(who: str) -> None:
        api = Api(via[who], tokens[who])
        mine = answers.setdefault(who, [])
        try:
            api.call("GET", "/api/queue?limit=1")  # connected and authenticated before the first round
            barrier.wait(timeout=60)
            for item in items:
                barrier.wait(timeout=60)
                mine.append(api.call("POST", f"/api/queue/{item}/claim"))
        except BaseException as exc:
            failures.append(exc)
            barrier.abort()
        finally:
            api.close()

    threads = [threading.Thread(target=race, args=(who,)) for who in via]
    started = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=300)
    seconds = time.monotonic() - started
    assert not failures, failures
    winners: dict[int, str] = {}
    for n, item in enumerate(items):
        got = {who: answers[who][n] for who in via}
        assert sorted(status for status, _ in got.values()) == [200, 409], (n, got)
        winner = next(who for who, (status, _) in got.items() if status == 200)
        loser = next(who for who in via if who != winner)
        assert got[winner][1]["claimed_by"] == winner and got[winner][1]["id"] == item
        assert got[loser][1] == {"error": "claimed", "message": f"{winner} is replying", "claimed_by": winner}
        winners[item] = winner
    wins = {who: sum(1 for w in winners.values() if w == who) for who in via}
    print(f"\n{RACE_ROUNDS} rounds in {seconds:.1f} s; wins: {wins}")
    assert all(wins.values()), f"one agent never won: not a real race ({wins})"
    ids = ",".join(map(str, items))
    rows = pg_cluster.psql(team.db_name, f"SELECT i.id, i.claimed_by, (SELECT string_agg(h.by_agent, ',') FROM "
                                         f"history h WHERE h.item_id = i.id AND h.event LIKE 'claim%') "
                                         f"FROM items i WHERE i.id IN ({ids})").splitlines()
    held = {int(i): (who, log) for i, who, log in (r.split("|") for r in rows)}
    assert held == {item: (w, w) for item, w in winners.items()}  # the winner holds it; one claim was recorded


def create_posts(team: Team, n: int) -> list[int]:
    """n fresh posts, tracked through both processes at once (the API takes one post per call)."""
    ids: list[list[int]] = [[], [], [], []]

    def make(slot: int) -> None:
        srv = team.a if slot % 2 else team.b
        api = Api(srv, srv.token)
        try:
            for k in range(slot, n, len(ids)):
                status, item = api.call("POST", "/api/queue", {"post": post(f"race-{k}", "Where is my refund?")})
                assert status == 201, item
                ids[slot].append(item["id"])
        finally:
            api.close()

    threads = [threading.Thread(target=make, args=(s,)) for s in range(len(ids))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    made = sorted(i for part in ids for i in part)
    assert len(made) == n
    return made
