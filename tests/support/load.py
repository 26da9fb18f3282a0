"""The soak driver: concurrent agents (suggest over HTTP and /ws, tone, queue track/list/replied, a WebSocket
each) against a real server process; shared by tests/system/test_soak.py and bench/bench_soak.py."""
from __future__ import annotations

import json
import random
import statistics
import threading
import time
from collections import defaultdict
from typing import Any

import requests

from tests.support.servers import ServerProcess

AGENTS = 20
WARMUP_SECONDS = 3.0
# Resident memory the server may gain between the end of the warm-up and the end of the soak.
RSS_GROWTH_BOUND_MB = 50.0

POST_TEXTS = [
    "@AcmeShop my order {n} never arrived and I'm really upset",
    "@AcmeShop does the kettle come in blue? asking for a friend",
    "@AcmeShop love the new mixer, thank you!!",
    "@AcmeShop the app is down again, can't log in at all",
    "@AcmeShop please cancel order {n}, I ordered twice by mistake",
]
DRAFTS = ["Hi Kate, so sorry about the wait! I'm checking order {n} now and will update you by 5pm. ^KM",
          "Calm down, per our policy nothing can be done.",
          "Thanks so much for the kind words, we'll pass them on to the team! ^KM"]


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1)))))
    return ordered[k]


class Agent(threading.Thread):
    """One agent's loop: suggest a reply (HTTP or over its WebSocket), check the draft's tone, track the post,
    list the queue, now and then mark a post replied; every call timed, every failure recorded."""

    def __init__(self, n: int, server: ServerProcess, stop: threading.Event, results: dict[str, list[float]],
                 errors: list[str], lock: threading.Lock) -> None:
        super().__init__(daemon=True, name=f"agent-{n}")
        self.n, self.server, self.stop_event = n, server, stop
        self.results, self.errors, self.lock = results, errors, lock
        self.rng = random.Random(n)
        self.session = requests.Session()
        self.session.headers.update(server.headers)
        self.count = 0

    def record(self, kind: str, started: float) -> None:
        with self.lock:
            self.results[kind].append((time.perf_counter() - started) * 1000)

    def fail(self, what: str) -> None:
        with self.lock:
            self.errors.append(f"agent {self.n}: {what}")

    def post(self) -> dict[str, Any]:
        self.count += 1
        n = self.n * 1_000_000 + self.count
        return {"platform": self.rng.choice(["x", "facebook"]), "post_id": f"soak-{n}",
                "url": f"https://x.com/c{self.n}/status/{n}",
                "author": {"handle": f"cust{self.n}_{self.count % 7}", "name": self.rng.choice(["Kate Mink", "Sam"])},
                "text": self.rng.choice(POST_TEXTS).format(n=n), "created_at": None}

    def call(self, kind: str, method: str, path: str, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            r = self.session.request(method, self.server.url + path, timeout=30, **kw)
        except requests.RequestException as exc:
            self.fail(f"{kind}: {exc!r}")
            return None
        self.record(kind, started)
        if r.status_code >= 300:
            self.fail(f"{kind}: HTTP {r.status_code} {r.text[:200]}")
            return None
        return r.json()

    def run(self) -> None:
        from simple_websocket import Client, ConnectionClosed

        ws = None
        try:
            started = time.perf_counter()
            ws = Client.connect(self.server.ws_url)
            ws.send(json.dumps({"type": "auth", "token": self.server.token}))
            if not self._await(ws, lambda m: m.get("type") == "hello", 30):
                self.fail("ws: no hello")
            self.record("ws_connect", started)
            tracked: list[int] = []
            i = 0
            while not self.stop_event.is_set():
                i += 1
                post = self.post()
                if i % 3 == 0:  # every third suggestion streams over the WebSocket, as the extension does
                    started = time.perf_counter()
                    rid = f"r{self.n}-{i}"
                    ws.send(json.dumps({"type": "suggest", "id": rid, "post": post}))
                    done = self._await(ws, lambda m, rid=rid: m.get("id") == rid and m.get("type") in ("done",
                                                                                                         "error"), 30)
                    if not done or done.get("type") != "done":
                        self.fail(f"ws suggest: {done!r}"[:300])
                    else:
                        self.record("ws_suggest", started)
                    answer = done
                else:
                    answer = self.call("suggest", "POST", "/api/suggest", json={"post": post})
                draft = (answer or {}).get("reply") or self.rng.choice(DRAFTS).format(n=i)
                self.call("tone", "POST", "/api/tone", json={"text": draft, "platform": post["platform"]})
                item = self.call("queue_track", "POST", "/api/queue", json={"post": post})
                if item:
                    tracked.append(item["id"])
                self.call("queue_list", "GET", "/api/queue")
                if tracked and i % 2 == 0:
                    self.call("queue_replied", "POST", f"/api/queue/{tracked.pop(0)}/replied")
        except ConnectionClosed as exc:
            self.fail(f"ws closed: {exc!r}")
        except Exception as exc:  # noqa: BLE001 - any surprise is a soak failure, reported with the others
            self.fail(f"crashed: {exc!r}")
        finally:
            if ws is not None:
                try:
                    ws.close()
                except ConnectionClosed:
                    pass
            self.session.close()

    def _await(self, ws: Any, match: Any, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            raw = ws.receive(timeout=max(0.05, deadline - time.monotonic()))
            if raw is None:
                continue
            msg = json.loads(raw)
            if match(msg):
                return msg
        return None


def soak(server: ServerProcess, seconds: float, agents: int = AGENTS, warmup: float = WARMUP_SECONDS) -> dict:
    """Drive `agents` concurrent agents for `seconds` (after `warmup`) and report latencies, errors and memory."""
    import psutil

    proc = psutil.Process(server.pid)
    results: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    threads = [Agent(n, server, stop, results, errors, lock) for n in range(agents)]
    rss_start = proc.memory_info().rss
    started = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(warmup)
    rss_warm = proc.memory_info().rss
    with lock:
        for kind, values in results.items():
            if kind != "ws_connect":
                values.clear()  # the warm-up's calls (imports, first connections) do not count
    samples = [rss_warm]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(min(1.0, max(0.0, end - time.monotonic())))
        samples.append(proc.memory_info().rss)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    hung = [t.name for t in threads if t.is_alive()]
    rss_end = proc.memory_info().rss
    mb = 1024 * 1024
    report: dict[str, Any] = {
        "agents": agents, "seconds": seconds, "warmup_seconds": warmup,
        "wall_seconds": round(time.monotonic() - started, 2), "errors": errors[:50], "error_count": len(errors),
        "hung_agents": hung,
        "rss_mb": {"start": round(rss_start / mb, 1), "after_warmup": round(rss_warm / mb, 1),
                   "end": round(rss_end / mb, 1), "max": round(max(samples) / mb, 1),
                   "growth_after_warmup": round((rss_end - rss_warm) / mb, 1)},
        "rss_growth_bound_mb": RSS_GROWTH_BOUND_MB,
        "calls": {}, "total_calls": 0,
    }
    for kind, values in sorted(results.items()):
        report["calls"][kind] = {"n": len(values), "median_ms": round(statistics.median(values), 2) if values else 0,
                                 "p99_ms": round(percentile(values, 99), 2), "max_ms": round(max(values or [0]), 2)}
        report["total_calls"] += len(values)
    report["calls_per_second"] = round(report["total_calls"] / seconds, 1)
    return report


