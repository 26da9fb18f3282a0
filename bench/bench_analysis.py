"""Speed of the offline path: post analysis and the playbook engine, per post, on the hand-labelled posts.

Both run on every suggest (the playbook reply is also the LLM's safety net), so they must stay far below the
time an agent notices. Also reports the intent accuracy on the labelled posts and the 22 samples (unit "%").
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

DATA = ROOT / "tests" / "data"
ROUNDS = 20


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def _row(name: str, ms: list[float], target: str, note: str) -> dict:
    return {"name": name, "median_ms": round(statistics.median(ms), 4), "p99_ms": round(_p99(ms), 4),
            "target": target, "n": len(ms), "note": note}


def run() -> list[dict]:
    from server.core.analysis import analyze
    from server.core.playbook import generate
    from server.packs.store import PackStore

    store = PackStore(ROOT / "prompts")
    posts = json.loads((DATA / "analysis_posts.json").read_text(encoding="utf-8"))
    samples = json.loads((DATA / "sample_posts.json").read_text(encoding="utf-8"))
    everything = posts + samples
    rows: list[dict] = []
    for name in ("default", "skyway"):
        pack = store.get(name)
        analyze(everything[0], pack)  # warm the regex and VADER caches
        a_ms: list[float] = []
        g_ms: list[float] = []
        for r in range(ROUNDS):
            for post in everything:
                t0 = time.perf_counter()
                facts = analyze(post, pack)
                t1 = time.perf_counter()
                # a new variant each round, so the engine's length cache does not flatter the figure
                generate(post, facts, pack, {"variant": r})
                t2 = time.perf_counter()
                a_ms.append((t1 - t0) * 1000)
                g_ms.append((t2 - t1) * 1000)
        rows.append(_row(f"analysis.analyze per post ({name} pack)", a_ms, "median < 1 ms",
                         f"{len(everything)} posts x {ROUNDS} rounds"))
        rows.append(_row(f"playbook.generate per post ({name} pack)", g_ms, "median < 5 ms",
                         "includes X weighted-length counting with twitter-text"))
    pack = store.get("default")
    right = sum(analyze(p, pack)["intent"] == p["expected_intent"] for p in everything)
    pct = 100.0 * right / len(everything)
    rows.append({"name": "intent accuracy (labelled + samples)", "median_ms": round(pct, 1), "p99_ms": round(pct, 1),
                 "target": ">= 90 %", "n": len(everything), "unit": "%",
                 "note": "rules only (no model passed); figure on posts the rules were tuned with; "
                         "with the model: bench_triage"})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
