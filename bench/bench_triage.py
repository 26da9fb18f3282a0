"""Triage with the model loaded (server/triage): time per post in-process, load time, and the memory of a server
process with the model loaded. Targets from issue 13: median < 10 ms per post, server RSS < 300 MB.

Posts: the real airline tweets kept for evaluation (server/triage/data) and the team's hand-labelled posts.
"""
from __future__ import annotations

import csv
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

ROUNDS = 3
# A fresh server process: create_app (which loads the model), one suggest through the app, then its RSS.
_SERVER_RSS = """
import os, sys, tempfile, psutil
sys.path.insert(0, sys.argv[1])
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
from server.app import create_app
from tests.support.live import make_config
from pathlib import Path
app = create_app(make_config(Path(tempfile.mkdtemp()) / "data"))
c = app.test_client()
c.environ_base["HTTP_AUTHORIZATION"] = "Bearer " + app.config["REPLYDESK_TOKEN"]
r = c.post("/api/suggest", json={"post": {"platform": "x", "text": "my flight leaves in 2 hours, still no refund"}})
assert r.status_code == 200, r.get_data()
print(psutil.Process().memory_info().rss / 2**20)
"""


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def _row(name: str, ms: list[float], target: str, note: str) -> dict:
    return {"name": name, "median_ms": round(statistics.median(ms), 3), "p99_ms": round(_p99(ms), 3),
            "target": target, "n": len(ms), "note": note}


def _posts() -> list[dict]:
    with open(ROOT / "server" / "triage" / "data" / "eval_airline_tweets_nc.csv", encoding="utf-8") as f:
        tweets = [{"platform": "x", "text": r["text"]} for r in csv.DictReader(f)]
    labelled = json.loads((ROOT / "tests" / "data" / "analysis_posts.json").read_text(encoding="utf-8"))
    return tweets + labelled


def run() -> list[dict]:
    from server.core.analysis import analyze
    from server.packs.store import PackStore
    from server.triage.model import TriageModel

    t0 = time.perf_counter()
    model = TriageModel()
    load_ms = (time.perf_counter() - t0) * 1000
    pack = PackStore(ROOT / "prompts").get("skyway")
    posts = _posts()
    for post in posts[:20]:
        analyze(post, pack, model=model)
    full, read = [], []
    for _ in range(ROUNDS):
        for post in posts:
            t1 = time.perf_counter()
            analyze(post, pack, model=model)
            t2 = time.perf_counter()
            model.read(post["text"], "skyway", pack.view.examples)
            t3 = time.perf_counter()
            full.append((t2 - t1) * 1000)
            read.append((t3 - t2) * 1000)
    rss = float(subprocess.run([sys.executable, "-c", _SERVER_RSS, str(ROOT)], capture_output=True, text=True,
                               check=True, timeout=300).stdout.strip().splitlines()[-1])
    return [
        _row("triage: analyze with the model, per post", full, "median < 10 ms",
             f"{len(posts)} posts (real airline tweets + labelled) x {ROUNDS}; rules, heads, lang, pack examples"),
        _row("triage: model.read per post (heads + lang + neighbours)", read, "median < 10 ms", "part of the above"),
        {"name": "triage: model load (npz + lingua, 6 languages)", "median_ms": round(load_ms, 1),
         "p99_ms": round(load_ms, 1), "target": "< 1000 ms", "n": 1, "note": "once per process"},
        {"name": "triage: server RSS with the model loaded", "median_ms": round(rss, 1), "p99_ms": round(rss, 1),
         "target": "< 300 MB", "n": 1, "unit": "MB", "note": "fresh process: create_app + one suggest"},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
