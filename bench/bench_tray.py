"""The tray's idle cost with 500 tracked posts: CPU share and resident memory of the real tray process.

A real server gets 500 posts (deadlines spread over the next hours, some already late), then the real tray runs
under Xvfb with a tray host, a D-Bus session and a notification daemon, and is left alone: its CPU time is read
over a quiet window with psutil. Rows use `unit` ("%" or "MB"); the value sits in median_ms/p99_ms for the table.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

from tests.support.desktop import VirtualDesktop  # noqa: E402
from tests.support.packs import short_sla_packs  # noqa: E402
from tests.support.servers import ServerProcess  # noqa: E402

POSTS = 500
SETTLE = 8.0  # seconds after the snapshot before measuring (startup, first drawing, summary notification)
WINDOW = 30.0  # seconds of idle measured (covers one menu refresh and the icon's minute ticks)


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _track_many(server: ServerProcess, n: int) -> None:
    rnd = random.Random(7)
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {server.token}"
    now = datetime.now(UTC)
    for i in range(n):
        platform = "x" if i % 2 else "facebook"
        age = timedelta(minutes=rnd.uniform(0, 70 if platform == "facebook" else 12))
        name = f"Customer {i:03d}"
        post = {"platform": platform, "post_id": f"bench-{i}", "author": {"handle": f"cust{i}", "name": name},
                "url": f"https://x.com/cust{i}/status/{i}", "text": "My order has not arrived, can you check?",
                "created_at": _iso(now - age)}
        resp = http.post(server.url + "/api/queue", json={"post": post}, timeout=30)
        resp.raise_for_status()


def _measure(python: Path, backend: str, server: ServerProcess, work: Path) -> dict[str, float]:
    with VirtualDesktop(work / f"desktop-{backend}", width=800, height=600) as desk:
        env = dict(desk.env, REPLYDESK_DATA_DIR=str(server.data_dir), PYSTRAY_BACKEND=backend,
                   REPLYDESK_TRAY_NOTIFY_LOG=str(work / f"notes-{backend}.jsonl"))
        proc = subprocess.Popen([str(python), "-m", "tray", "--server", server.url], cwd=REPO, env=env,
                                stdin=subprocess.DEVNULL, stdout=open(work / f"tray-{backend}.log", "wb"),
                                stderr=subprocess.STDOUT)
        try:
            notes = work / f"notes-{backend}.jsonl"
            deadline = time.monotonic() + 60
            while not notes.exists() and time.monotonic() < deadline:  # the startup summary = snapshot handled
                if proc.poll() is not None:
                    raise RuntimeError((work / f"tray-{backend}.log").read_text()[-2000:])
                time.sleep(0.2)
            time.sleep(SETTLE)
            ps = psutil.Process(proc.pid)
            rss0 = ps.memory_info().rss / 2**20
            t0, c0 = time.monotonic(), ps.cpu_times()
            time.sleep(WINDOW)
            t1, c1 = time.monotonic(), ps.cpu_times()
            rss = ps.memory_info().rss / 2**20
            full = ps.memory_full_info()
            cpu = ((c1.user - c0.user) + (c1.system - c0.system)) / (t1 - t0) * 100
            return {"cpu": cpu, "rss": rss, "growth": rss - rss0, "uss": full.uss / 2**20, "pss": full.pss / 2**20}
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def run() -> list[dict]:
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-tray-") as tmp:
        work = Path(tmp)
        packs = short_sla_packs(REPO / "prompts", work / "packs", x_minutes=10, facebook_minutes=60)
        server = ServerProcess(work / "data", packs, log_path=work / "server.log",
                               python=REPO / ".venv" / "bin" / "python").start()
        try:
            started = time.perf_counter()
            _track_many(server, POSTS)
            track_ms = (time.perf_counter() - started) * 1000 / POSTS
            runs = [(REPO / ".venv-tray" / "bin" / "python", "gtk")] if (REPO / ".venv-tray").exists() else []
            runs.append((REPO / ".venv" / "bin" / "python", "xorg"))
            for python, backend in runs:
                got = _measure(python, backend, server, work)
                rows.append({"name": f"idle CPU, {backend} backend, {POSTS} posts", "median_ms": got["cpu"],
                             "p99_ms": got["cpu"], "unit": "%", "target": "< 1 %", "n": 1,
                             "note": f"value is % of one core over {WINDOW:.0f} s idle, not ms"})
                rows.append({"name": f"memory (RSS), {backend} backend, {POSTS} posts", "median_ms": got["rss"],
                             "p99_ms": got["rss"], "unit": "MB", "target": "< 60 MB", "n": 1,
                             "note": f"value is MB resident, not ms (unique {got['uss']:.1f} MB, proportional "
                                     f"{got['pss']:.1f} MB: the rest is shared libraries; "
                                     f"{got['growth']:+.1f} MB over the idle window)"})
            rows.append({"name": "tracking a post (setup of this benchmark)", "median_ms": track_ms,
                         "p99_ms": track_ms, "target": "-", "n": POSTS, "note": "mean per POST /api/queue"})
        finally:
            server.stop()
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
