"""Load: 20 concurrent agents (suggest, tone, queue, a WebSocket each) against the real server process on loopback
for a bounded time: no errors, no 5xx, bounded memory growth; p99 latencies go to tests/artifacts/soak.json.

This module also holds `ServerProcess` (the real `python -m server run` in a subprocess, with its own data
folder) and the soak driver, which the fault, schemathesis and hostile-input tests and bench/bench_soak.py reuse.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import requests

from server.config import REPO_ROOT

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
AGENTS = 20
SOAK_SECONDS = float(os.environ.get("REPLYDESK_SOAK_SECONDS", "15"))
WARMUP_SECONDS = 3.0
# Resident memory the server may gain between the end of the warm-up and the end of the soak.
RSS_GROWTH_BOUND_MB = 50.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(data_dir: Path, packs_dir: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPLYDESK_", "OPENAI_"))}
    env.update(PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", REPLYDESK_DATA_DIR=str(data_dir),
               PYTHONUNBUFFERED="1")
    if packs_dir is not None:
        env["REPLYDESK_PACKS_DIR"] = str(packs_dir)
    env.update(extra)
    return env


class ServerProcess:
    """`python -m server run` on a free loopback port; `kill()` is a real SIGKILL, `start()` again restarts."""

    def __init__(self, data_dir: Path, packs_dir: Path | None = None, port: int | None = None,
                 env: dict[str, str] | None = None, log_path: Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        if packs_dir is None:  # a copy, so nothing a test does can touch the repository's prompts/
            packs_dir = self.data_dir.parent / f"packs-{self.data_dir.name}"
            if not packs_dir.exists():
                shutil.copytree(REPO_ROOT / "prompts", packs_dir)
        self.packs_dir = packs_dir
        self.port = port or free_port()
        self.extra_env = env or {}
        self.log_path = log_path or self.data_dir.parent / f"server-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def token(self) -> str:
        return (self.data_dir / "pairing-token").read_text().strip()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server", "run", "--port", str(self.port), "--data-dir", str(self.data_dir)],
                cwd=REPO_ROOT, env=server_env(self.data_dir, self.packs_dir, **self.extra_env),
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            log.close()
        self.starts += 1
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"server not ready within {timeout} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no atexit, no flush; what a power cut or the OOM killer does."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the soak driver ---------------------------------------------------------------------------------------------
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


@pytest.fixture
def soak_server(tmp_path: Path):
    srv = ServerProcess(tmp_path / "data").start()
    yield srv
    srv.stop()


def test_soak_20_agents(soak_server):
    report = soak(soak_server, SOAK_SECONDS)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "soak.json").write_text(json.dumps(report, indent=2))
    print("\nsoak:", json.dumps({k: report[k] for k in ("agents", "seconds", "total_calls", "calls_per_second",
                                                         "error_count", "rss_mb")}))
    for kind, row in report["calls"].items():
        print(f"  {kind:14s} n={row['n']:6d}  median {row['median_ms']:8.2f} ms  p99 {row['p99_ms']:8.2f} ms")
    assert not report["errors"], report["errors"][:10]
    assert not report["hung_agents"], report["hung_agents"]
    for kind in ("suggest", "ws_suggest", "tone", "queue_track", "queue_list", "queue_replied"):
        assert report["calls"].get(kind, {}).get("n", 0) > 0, f"no {kind} calls completed: {report['calls']}"
    assert report["rss_mb"]["growth_after_warmup"] < RSS_GROWTH_BOUND_MB, report["rss_mb"]
    assert soak_server.proc is not None and soak_server.proc.poll() is None, "the server died under load"
    assert "unexpected error" not in soak_server.log_text(), soak_server.log_tail()
