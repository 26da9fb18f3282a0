"""The team load driver: simulated care agents, each with a token of their own, working posts through a real
server the way an agent does (track, claim, suggest, tone twice, list the queue, mark replied), at a human pace
or flat out. Shared by tests/system/test_team_load.py (a short bounded run) and bench/bench_team.py.

The generator shares the machine's cores with the server, so it is kept cheap: one keep-alive `http.client`
connection per agent (no requests Session, no per-call connection), samples kept per agent without a lock, and its
own CPU time measured next to the server's and the database's (`CpuMeter`) so a reader can judge the split.
"""
from __future__ import annotations

import http.client
import json
import random
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from server.config import Config
from tests.support.load import DRAFTS, POST_TEXTS, percentile

AGENTS = 50
WARMUP_SECONDS = 3.0
# One post's calls, in the order an agent makes them; "tone" twice (the suggestion, then the edited draft).
WORKFLOW = ("queue_track", "claim", "suggest", "tone", "tone", "queue_list", "queue_replied")
CALL_KINDS = tuple(dict.fromkeys(WORKFLOW))
# The agent events every write of the workflow leaves in the history (each must name the agent who made it).
AGENT_EVENTS = ("tracked", "claimed", "claim_renewed", "replied")


@dataclass(frozen=True)
class Pace:
    """Think time between an agent's calls: uniform in [low, high] seconds; (0, 0) is flat out."""

    name: str
    low: float
    high: float

    @property
    def flat_out(self) -> bool:
        return self.high <= 0

    def describe(self) -> str:
        if self.flat_out:
            return "flat out (no think time: each agent's next call as soon as the last one answered)"
        return (f"realistic pace (think time {self.low:g}-{self.high:g} s between an agent's calls, uniform, mean "
                f"{(self.low + self.high) / 2:g} s)")


REALISTIC = Pace("realistic", 0.5, 2.5)
FLAT_OUT = Pace("flat out", 0.0, 0.0)


def agent_names(n: int) -> list[tuple[str, str]]:
    """(name, initials) of `n` agents: "Agent 07" / "AH"; initials are letters only (the server's rule)."""
    return [(f"Agent {i:02d}", chr(65 + i // 26 % 26) + chr(65 + i % 26)) for i in range(n)]


def add_agents(data_dir: Path, database_url: str | None, n: int = AGENTS) -> dict[str, str]:
    """Add `n` agents to the desk's database (what `python -m server add-agent` does, without 50 interpreter
    start-ups): {name: token}. For SQLite, before the server starts, on the data folder's file."""
    from server.queue.store import QueueStore
    from server.team.agents import Agents

    cfg = Config.from_env(env={}, data_dir=data_dir, database_url=database_url)
    store = QueueStore(cfg.database)
    try:
        agents = Agents(store.db)
        return {name: agents.add(name, initials) for name, initials in agent_names(n)}
    finally:
        store.close()


def seed_sent_replies(data_dir: Path, database_url: str | None, n: int) -> int:
    """Put `n` replied posts, each with the reply text the team sent, in the desk's database before the server
    starts: a desk in use, not an empty one. The reply memory that every suggestion draws on reads the newest
    1,000 sent replies (server/suggest/context.py SENT_LIMIT), so with n >= 1,000 its cost is at its steady state
    from the first call and does not grow during a run (which would favour whichever configuration is slower)."""
    from server.app import create_app
    from server.config import REPO_ROOT

    cfg = Config.from_env(env={}, data_dir=data_dir, database_url=database_url, packs_dir=REPO_ROOT / "prompts",
                          testing=True)
    app = create_app(cfg)
    svc = app.extensions["replydesk"]
    try:
        pack = svc.packs.get(cfg.default_pack)
        rng = random.Random(n)
        start = time.time() - 7 * 86400
        rows = []
        for i in range(n):
            at = start + i * 300
            post = {"platform": "x" if i % 3 else "facebook", "post_id": f"seed-{i}",
                    "url": f"https://x.com/seed{i % 400}/status/{i}",
                    "author": {"handle": f"seed{i % 400}", "name": rng.choice(["Kate Mink", "Sam Lee", "Ana"])},
                    "text": rng.choice(POST_TEXTS).format(n=i), "created_at": None}
            row = svc.queue.build_row(post, pack, now=at)
            row.update(replied_at=at + 240, reply=rng.choice(DRAFTS).format(n=i), replied_by="Agent 00",
                       updated_at=at + 240)
            rows.append(row)
        return svc.queue.store.insert_many(rows)
    finally:
        svc.close()


class Connection:
    """One keep-alive HTTP/1.1 connection to the server, and a new one whenever the server closed it (counted)."""

    def __init__(self, base_url: str, token: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                        "Accept": "application/json"}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        self.opened = 0  # connections opened (Werkzeug closes after every response: one per call there)
        self.dropped = 0  # keep-alive connections the server closed without saying so (retried once)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        for attempt in (1, 2):
            try:
                if self.conn.sock is None:  # first call, or the server said "Connection: close" last time
                    self.opened += 1
                self.conn.request(method, path, body=data, headers=self.headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # Every call of the workflow is idempotent (track, claim, replied) or pure, so one retry on a
                # fresh connection cannot double a write.
                self.conn.close()
                if attempt == 2:
                    raise
                self.dropped += 1
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, raw[:200].decode(errors="replace")

    def close(self) -> None:
        self.conn.close()


class TeamAgent(threading.Thread):
    """One agent: post after post, the WORKFLOW's calls with think time between them. Samples (kind, start,
    end, ms) and errors stay in the agent's own lists (no shared lock on the hot path)."""

    def __init__(self, slot: int, name: str, token: str, base_url: str, pace: Pace, tag: str,
                 stop: threading.Event) -> None:
        super().__init__(daemon=True, name=f"team-agent-{slot}")
        self.slot, self.agent_name, self.pace, self.tag, self.stop_event = slot, name, pace, tag, stop
        self.conn = Connection(base_url, token)
        self.rng = random.Random(f"{tag}-{slot}")
        self.samples: list[tuple[str, float, float, float]] = []
        self.errors: list[str] = []
        self.posts = 0
        self.open_item: int | None = None
        # The first post's first few steps go without think time (during the warm-up), so that 50 agents are
        # spread over the workflow's steps from the start instead of all tracking, then all claiming, ...
        self.unpaced_steps = self.rng.randrange(len(WORKFLOW)) if not pace.flat_out else 0

    def post_id(self, count: int) -> str:
        return f"{self.tag}-{self.slot:02d}-{count}"

    def pause(self) -> bool:
        """Think (realistic pace); False once the run is over."""
        if self.unpaced_steps:
            self.unpaced_steps -= 1
        elif not self.pace.flat_out:
            return not self.stop_event.wait(self.rng.uniform(self.pace.low, self.pace.high))
        return not self.stop_event.is_set()

    def call(self, kind: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        started = time.perf_counter()
        try:
            status, answer = self.conn.request(method, path, body)
        except (OSError, http.client.HTTPException) as exc:
            self.errors.append(f"{self.agent_name} {kind}: {exc!r}")
            return None
        ended = time.perf_counter()
        self.samples.append((kind, started, ended, (ended - started) * 1000))
        if status >= 300:
            self.errors.append(f"{self.agent_name} {kind}: HTTP {status} {str(answer)[:200]}")
            return None
        return answer

    def expect(self, what: str, ok: bool) -> None:
        if not ok:
            self.errors.append(f"{self.agent_name}: {what}")

    def work_one_post(self) -> None:
        self.posts += 1
        n = self.posts
        platform = self.rng.choice(["x", "facebook"])
        post = {"platform": platform, "post_id": self.post_id(n),
                "url": f"https://x.com/cust{self.slot}/status/{n}" if platform == "x" else None,
                "author": {"handle": f"cust{self.slot}_{n % 7}", "name": self.rng.choice(["Kate Mink", "Sam"])},
                "text": self.rng.choice(POST_TEXTS).format(n=n), "created_at": None}
        item = self.call("queue_track", "POST", "/api/queue", {"post": post})
        if item is None:
            return
        self.open_item = item["id"]
        if not self.pause():
            return
        claimed = self.call("claim", "POST", f"/api/queue/{item['id']}/claim", {})
        if claimed is not None:
            self.expect(f"claim gave claimed_by {claimed.get('claimed_by')!r}",
                        claimed.get("claimed_by") == self.agent_name)
        if not self.pause():
            return
        answer = self.call("suggest", "POST", "/api/suggest", {"post": post}) or {}
        draft = answer.get("reply") or self.rng.choice(DRAFTS).format(n=n)
        if not self.pause():
            return
        self.call("tone", "POST", "/api/tone", {"text": draft, "platform": platform, "post": post})
        if not self.pause():
            return
        edited = f"{draft.rstrip()} Thanks for your patience!"  # the agent edits the draft, checks it again
        self.call("tone", "POST", "/api/tone", {"text": edited, "platform": platform, "post": post})
        if not self.pause():
            return
        self.call("queue_list", "GET", "/api/queue")
        if not self.pause():
            return
        done = self.call("queue_replied", "POST", f"/api/queue/{item['id']}/replied", {"reply": edited})
        if done is not None:
            self.expect(f"replied gave {done.get('state')!r} by {done.get('replied_by')!r}",
                        done.get("state") == "replied" and done.get("replied_by") == self.agent_name)
            self.open_item = None
        self.pause()

    def run(self) -> None:
        try:
            if not self.pace.flat_out and self.stop_event.wait(self.rng.uniform(0, self.pace.high)):
                return  # staggered start: 50 agents do not begin in lockstep
            while not self.stop_event.is_set():
                self.work_one_post()
        except Exception as exc:  # noqa: BLE001 - any surprise is a load failure, reported with the others
            self.errors.append(f"{self.agent_name} crashed: {exc!r}")

    def finish(self) -> None:
        """After the run (not timed): mark the post still open replied, so the next run starts on a clean queue."""
        if self.open_item is not None:
            try:
                status, _ = self.conn.request("POST", f"/api/queue/{self.open_item}/replied",
                                              {"reply": "Sorted, thanks! ^" + self.agent_name[-2:]})
                self.expect(f"closing item {self.open_item}: HTTP {status}", status < 300)
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(f"{self.agent_name} closing: {exc!r}")
        self.conn.close()


# -- CPU time ------------------------------------------------------------------------------------------------------
def _tree_cpu(roots: Iterable[int]) -> dict[int, float]:
    """CPU seconds (user + system) of each process in the trees under `roots` (a gunicorn master and its
    workers, a postmaster and its backends)."""
    import psutil

    out: dict[int, float] = {}
    for root in roots:
        try:
            top = psutil.Process(root)
            procs = [top, *top.children(recursive=True)]
        except psutil.Error:
            continue
        for p in procs:
            try:
                t = p.cpu_times()
                out[p.pid] = t.user + t.system
            except psutil.Error:
                pass
    return out


def _busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (every process, every core)."""
    import psutil

    t = psutil.cpu_times()
    return sum(getattr(t, f, 0.0) for f in ("user", "nice", "system", "irq", "softirq", "steal"))


class CpuMeter:
    """CPU time over a window: the generator (this process, all its threads), each named group of process
    trees (the server, the database), and the rest of the machine (other work sharing the cores)."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups

    def start(self) -> None:
        self.t0, self.proc0, self.busy0 = time.monotonic(), time.process_time(), _busy_seconds()
        self.trees0 = {g: _tree_cpu(roots) for g, roots in self.groups.items()}

    def stop(self) -> dict[str, Any]:
        wall = time.monotonic() - self.t0
        generator = time.process_time() - self.proc0
        busy = _busy_seconds() - self.busy0
        groups: dict[str, float] = {}
        per_process: dict[str, list[float]] = {}
        for g, roots in self.groups.items():
            end = _tree_cpu(roots)
            deltas = [end[pid] - self.trees0[g].get(pid, 0.0) for pid in end]
            groups[g] = sum(deltas)
            per_process[g] = sorted((round(d / wall, 2) for d in deltas if d > 0.05 * wall), reverse=True)
        others = max(0.0, busy - generator - sum(groups.values()))
        cores = {"generator": round(generator / wall, 2), **{g: round(s / wall, 2) for g, s in groups.items()},
                 "others": round(others / wall, 2), "machine": round(busy / wall, 2)}
        return {"wall_seconds": round(wall, 2), "cores": cores, "per_process_cores": per_process}


def describe_cpu(cpu: dict[str, Any]) -> str:
    """E.g. "CPU in cores: server 1.02 (0.55+0.47), database 0.40, generator 0.12, other work on the machine 0.30
    of 2": the server's figure split by worker process when it has several."""
    import os

    c, per = cpu["cores"], cpu["per_process_cores"]
    parts = []
    for g in ("server", "database"):
        if g in c:
            split = per.get(g, []) if g == "server" else []  # the server's worker processes, one by one
            parts.append(f"{g} {c[g]:.2f}" + (f" ({'+'.join(f'{x:.2f}' for x in split)})" if len(split) > 1 else ""))
    parts += [f"generator {c['generator']:.2f}", f"other work on the machine {c['others']:.2f}"]
    return f"CPU in cores: {', '.join(parts)} of {os.cpu_count()}"


# -- a run ---------------------------------------------------------------------------------------------------------
def summarize(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "median_ms": round(statistics.median(values), 2) if values else 0.0,
            "p99_ms": round(percentile(values, 99), 2), "max_ms": round(max(values or [0.0]), 2)}


def drive(base_url: str, tokens: dict[str, str], seconds: float, pace: Pace, tag: str,
          warmup: float = WARMUP_SECONDS, cpu_groups: dict[str, list[int]] | None = None) -> dict[str, Any]:
    """Run one agent per token against `base_url` for `warmup` + `seconds`; only calls that start after the
    warm-up and end within the window count. Returns latencies per call kind and overall, calls per second
    (overall and per 1-second window), errors, and the CPU split over the window."""
    stop = threading.Event()
    agents = [TeamAgent(i, name, token, base_url, pace, tag, stop) for i, (name, token) in enumerate(tokens.items())]
    meter = CpuMeter(cpu_groups or {})
    for a in agents:
        a.start()
    time.sleep(warmup)
    window_start = time.perf_counter()
    meter.start()
    time.sleep(seconds)
    window_end = time.perf_counter()
    cpu = meter.stop()
    stop.set()
    for a in agents:
        a.join(timeout=60)
    hung = [a.agent_name for a in agents if a.is_alive()]
    for a in agents:
        a.finish()
    by_kind: dict[str, list[float]] = defaultdict(list)
    per_second = [0] * max(1, int(seconds))
    for a in agents:
        for kind, started, ended, ms in a.samples:
            if started >= window_start and ended <= window_end:
                by_kind[kind].append(ms)
                per_second[min(len(per_second) - 1, int(ended - window_start))] += 1
    every = [ms for values in by_kind.values() for ms in values]
    errors = [e for a in agents for e in a.errors]
    return {
        "base_url": base_url, "agents": len(agents), "pace": pace.name, "pace_described": pace.describe(),
        "seconds": seconds, "warmup_seconds": warmup, "calls": {k: summarize(by_kind[k]) for k in CALL_KINDS},
        "overall": summarize(every), "total_calls": len(every),
        "calls_per_second": round(len(every) / (window_end - window_start), 1),
        "calls_per_second_windows": per_second, "posts_started": sum(a.posts for a in agents),
        "connections_opened": sum(a.conn.opened for a in agents),
        "connections_dropped": sum(a.conn.dropped for a in agents), "errors": errors[:50], "error_count": len(errors),
        "hung_agents": hung, "cpu": cpu,
    }
