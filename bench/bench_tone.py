"""Tone check speed: one call on a 280-character draft, the way the extension calls it on every edit.

Drafts are the labelled replies of tests/data/tone_labelled.json, each cut or repeated to 280 characters, so the
mix holds good replies, every kind of bad one, emoji, CJK and links; half the calls carry post context.
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

from server.core import tone  # noqa: E402

CALLS = 2000
TARGET = "median < 2 ms, p99 < 10 ms"


def drafts() -> tuple[dict, list[str]]:
    doc = json.loads((ROOT / "tests" / "data" / "tone_labelled.json").read_text())
    out = []
    for item in doc["items"]:
        text = item["text"]
        while len(text) < 280:
            text = f"{text} {item['text']}"
        out.append(text[:280])
    return doc["pack"], out


def timed(fn, n: int) -> list[float]:
    times = []
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - started) * 1000)
    return times


def row(name: str, times: list[float], note: str) -> dict:
    times = sorted(times)
    p99 = times[min(len(times) - 1, int(round(0.99 * len(times))) - 1)]
    return {"name": name, "median_ms": statistics.median(times), "p99_ms": p99, "target": TARGET, "n": len(times),
            "note": note}


def run() -> list[dict]:
    pack, texts = drafts()
    analysis = {"intent": "complaint", "severity": "high", "sentiment": -0.6, "name": "Mike", "handle": "mike_r",
                "entities": {}}
    post = {"platform": "x", "post_id": "1", "author": {"handle": "mike_r", "name": "Mike R"},
            "text": "THIRD time my order 88231-A hasn't shown up. Call me on 07700 900123!!!"}

    def call(i: int) -> None:
        ctx = {"post": post, "analysis": analysis} if i % 2 else {}
        tone.check(texts[i % len(texts)], "x", pack=pack, **ctx)

    timed(call, 200)  # warm-up: regex and lru caches, VADER's first call
    times = timed(call, CALLS)
    cjk = [t for t in texts if not t.isascii()]
    cjk_times = timed(lambda i: tone.check(cjk[i % len(cjk)], "x", pack=pack), 500)
    return [
        row("check(), 280-char drafts", times, f"{len(texts)} labelled drafts, half with post context"),
        row("check(), non-ASCII drafts only", cjk_times, "emoji, CJK and curly quotes: the emoji-regex path"),
    ]


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    for r in run():
        print(f"{r['name']}: median {r['median_ms']:.3f} ms, p99 {r['p99_ms']:.3f} ms (n={r['n']}, {r['target']})")
