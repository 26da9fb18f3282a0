"""Load: 20 concurrent agents (suggest, tone, queue, a WebSocket each) against the real server process on loopback
for a bounded time: no errors, no 5xx, bounded memory growth; p99 latencies go to tests/artifacts/soak.json.

The server process and the soak driver live in tests/support (servers.py, load.py); bench/bench_soak.py uses them too.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.load import RSS_GROWTH_BOUND_MB, soak
from tests.support.paths import ARTIFACTS
from tests.support.servers import ServerProcess

SOAK_SECONDS = float(os.environ.get("REPLYDESK_SOAK_SECONDS", "15"))


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
