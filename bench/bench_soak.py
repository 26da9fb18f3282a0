"""Soak: 20 concurrent agents (suggest over HTTP and /ws, tone, queue track/list/replied, a WebSocket each) against
the real server process on loopback for 60 s; median and p99 per call type, errors, and the server's memory growth.

The same driver (tests/support/load.py) as tests/system/test_soak.py (which runs it for 15 s in `make test`);
REPLYDESK_SOAK_BENCH_SECONDS changes the length.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
SECONDS = float(os.environ.get("REPLYDESK_SOAK_BENCH_SECONDS", "60"))
TARGETS = {"suggest": "p99 < 500 ms under load", "ws_suggest": "p99 < 500 ms under load",
           "tone": "p99 < 500 ms under load", "queue_track": "p99 < 500 ms under load",
           "queue_list": "p99 < 500 ms under load", "queue_replied": "p99 < 500 ms under load"}


def run() -> list[dict]:
    from tests.support.load import AGENTS, RSS_GROWTH_BOUND_MB, soak
    from tests.support.paths import ARTIFACTS
    from tests.support.servers import ServerProcess

    with tempfile.TemporaryDirectory() as tmp:
        srv = ServerProcess(Path(tmp) / "data").start()
        try:
            report = soak(srv, SECONDS)
        finally:
            srv.stop()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "soak_bench.json").write_text(json.dumps(report, indent=2))
    if report["errors"]:
        raise RuntimeError(f"{report['error_count']} errors under load, e.g. {report['errors'][:3]}")
    note = f"{AGENTS} agents, {SECONDS:.0f} s, {report['calls_per_second']} calls/s overall, 0 errors"
    rows = [{"name": f"soak {kind}", "median_ms": c["median_ms"], "p99_ms": c["p99_ms"],
             "target": TARGETS.get(kind, "informational"), "n": c["n"], "note": note}
            for kind, c in report["calls"].items() if c["n"]]
    rss = report["rss_mb"]
    rows.append({"name": "soak server memory growth after warm-up", "median_ms": rss["growth_after_warmup"],
                 "p99_ms": rss["max"] - rss["after_warmup"], "target": f"< {RSS_GROWTH_BOUND_MB:.0f} MB",
                 "n": report["total_calls"], "unit": "MB",
                 "note": f"RSS {rss['after_warmup']} -> {rss['end']} MB (max {rss['max']}); p99 column = peak growth"})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
