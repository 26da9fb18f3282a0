"""Suggest latency: in-process (the suggest() call the API makes) and over HTTP on a live server on loopback.

1,000 calls each over the sample posts, playbook engine (no LLM configured). The HTTP figure includes the Flask
request handling, the JSON body both ways, the queue tracking hook and Werkzeug's one connection per request.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
N = int(os.environ.get("REPLYDESK_BENCH_N", "1000"))


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))]


def _row(name: str, values: list[float], target: str, note: str) -> dict:
    return {"name": name, "median_ms": statistics.median(values), "p99_ms": _pct(values, 99), "target": target,
            "n": len(values), "note": note}


def _posts() -> list[dict]:
    posts = json.loads((ROOT / "tests" / "data" / "sample_posts.json").read_text())
    out = []
    for p in posts:
        post = p.get("post", p) if isinstance(p, dict) else p
        if isinstance(post, dict) and post.get("text") and post.get("platform"):
            out.append(post)
    return out or [{"platform": "x", "post_id": "1", "text": "@AcmeShop where is my order 1234?"}]


def _with_memory(app, pack, posts: list[dict], suggest_mod) -> list[float]:
    """Suggest as the API calls it (queue given), after 1,000 replies were sent from the queue."""
    queue = app.extensions["replydesk"].queue
    for i in range(1000):
        base = posts[i % len(posts)]
        post = {**base, "post_id": f"sent-{i}", "author": {"handle": f"cust{i}", "name": "Sam Lee"}}
        item, _ = queue.track(post, pack)
        queue.act(item["id"], "replied", {"reply": f"Hi Sam, thanks! {base['text'][:120]} ^AC"})
    times = []
    for i in range(min(N, 300)):
        post = {**posts[i % len(posts)], "post_id": f"memory-{i}"}
        started = time.perf_counter()
        suggest_mod.suggest(post, pack, {}, queue=queue)
        times.append((time.perf_counter() - started) * 1000)
    return times


def run() -> list[dict]:
    import requests

    from server.app import create_app
    from server.config import REPO_ROOT, Config
    from server.suggest import service as suggest_mod
    from tests.support.servers import ServerProcess

    posts = _posts()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Config(data_dir=Path(tmp) / "data", packs_dir=REPO_ROOT / "prompts", testing=True))
        pack = app.extensions["replydesk"].packs.get("default")
        for post in posts[:20]:  # warm-up: imports, caches
            suggest_mod.suggest(suggest_mod.parse_request({"post": post}, app.extensions["replydesk"].packs,
                                                          "default")[0], pack, {})
        direct = []
        for i in range(N):
            post = posts[i % len(posts)]
            started = time.perf_counter()
            parsed, pk, opts = suggest_mod.parse_request({"post": post, "options": {"variant": i % 3}},
                                                         app.extensions["replydesk"].packs, "default")
            suggest_mod.suggest(parsed, pk, opts)
            direct.append((time.perf_counter() - started) * 1000)
        with_memory = _with_memory(app, pack, posts, suggest_mod)
        stop = app.extensions["replydesk"].close
        if stop:
            stop()

        srv = ServerProcess(Path(tmp) / "live").start()
        try:
            session = requests.Session()
            session.headers.update(srv.headers)
            for post in posts[:20]:
                session.post(f"{srv.url}/api/suggest", json={"post": post}, timeout=30)
            http = []
            for i in range(N):
                post = {**posts[i % len(posts)], "post_id": f"bench-{i}"}
                started = time.perf_counter()
                r = session.post(f"{srv.url}/api/suggest", json={"post": post}, timeout=30)
                http.append((time.perf_counter() - started) * 1000)
                if r.status_code != 200:
                    raise RuntimeError(f"suggest answered {r.status_code}: {r.text[:200]}")
            healthz = []  # the same server, the same session, right after: a ratio measured in one run
            for _ in range(N):
                started = time.perf_counter()
                session.get(f"{srv.url}/healthz", timeout=30)
                healthz.append((time.perf_counter() - started) * 1000)
        finally:
            srv.stop()
    ratio = statistics.median(http) / statistics.median(healthz)
    return [
        _row("suggest in-process (playbook)", direct, "< 50 ms p99", f"{len(posts)} sample posts, parse+analyse+"
             "playbook+tone"),
        _row("suggest in-process with the queue, 1,000 sent replies", with_memory, "< 50 ms p99",
             "tracks the post, searches articles and sent replies, reads the customer's history"),
        _row("POST /api/suggest over loopback HTTP", http, "< 200 ms p99 (issue 2)",
             "live `python -m server run`, new post each call (queue tracking included)"),
        _row("GET /healthz over loopback HTTP (same server, same run)", healthz, "-", "the floor of one HTTP call"),
        {"name": "suggest over HTTP / empty /healthz, medians (same run)", "median_ms": ratio, "p99_ms": ratio,
         "target": "< 25 x (issue 13)", "n": len(http), "unit": "x",
         "note": "triage model, retrieval, queue tracking and tone check included"},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
