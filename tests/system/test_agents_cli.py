"""Agents from the command line (`python -m server add-agent / list-agents / revoke-agent`) against real server
processes: on a single desk's SQLite file, and on a team's PostgreSQL shared by two processes, where agents
claiming the same post at the same instant through different processes get exactly one winner."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from server.config import REPO_ROOT
from tests.support.servers import ServerProcess, server_env
from tests.support.team import TeamProcess


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server", *args, "--data-dir", str(data_dir)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60, env={**os.environ, **server_env(data_dir)})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_add_list_and_revoke_agents_on_a_running_desk(tmp_path: Path):
    data = tmp_path / "data"
    added = cli(data, "add-agent", "Dana Kim", "--initials", "DK")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]  # the token: the last line, and only there
    assert len(token) >= 40 and " " not in token
    assert cli(data, "add-agent", "Lee", "--supervisor").returncode == 0
    again = cli(data, "add-agent", "Dana Kim")
    assert again.returncode == 2 and "already an agent named Dana Kim" in again.stderr
    srv = ServerProcess(data).start()
    try:
        mine = requests.get(f"{srv.url}/api/queue", headers=bearer(token), timeout=10)
        assert mine.status_code == 200
        listed = cli(data, "list-agents")
        assert listed.stdout.splitlines() == ["Dana Kim\tDK\tagent", "Lee\tL\tsupervisor"]
        assert token not in listed.stdout
        revoked = cli(data, "revoke-agent", "Dana Kim")
        assert revoked.returncode == 0, revoked.stderr
        deadline = time.monotonic() + 8  # the server caches a token for 5 s
        while requests.get(f"{srv.url}/api/queue", headers=bearer(token), timeout=10).status_code != 401:
            assert time.monotonic() < deadline, "a revoked token still works after the cache window"
            time.sleep(0.25)
        assert requests.get(f"{srv.url}/api/queue", headers=srv.headers, timeout=10).status_code == 200
        assert "revoked" in cli(data, "list-agents").stdout
        assert cli(data, "revoke-agent", "Nobody").returncode == 2
    finally:
        srv.stop()


def test_two_processes_on_postgresql_one_claim_wins(tmp_path: Path, pg_url: str):
    tokens = {}
    for name in ("Dana", "Sam"):
        out = subprocess.run([sys.executable, "-m", "server", "add-agent", name, "--database-url", pg_url,
                              "--data-dir", str(tmp_path / "cli")], cwd=REPO_ROOT, capture_output=True, text=True,
                             timeout=60, env={**os.environ, **server_env(tmp_path / "cli")})
        assert out.returncode == 0, out.stderr
        tokens[name] = out.stdout.strip().splitlines()[-1]
    a = TeamProcess(tmp_path / "a", pg_url).start(wait=False)
    b = TeamProcess(tmp_path / "b", pg_url).start(wait=False)
    try:
        a.wait_ready()
        b.wait_ready()
        via = {"Dana": a, "Sam": b}
        for n in range(20):
            post = {"platform": "x", "post_id": f"race-{n}", "author": {"handle": "kim"}, "text": "Still waiting"}
            item = requests.post(f"{a.url}/api/queue", json={"post": post}, headers=bearer(tokens["Dana"]),
                                 timeout=10).json()["id"]
            barrier, codes = threading.Barrier(2), {}

            def go(who: str, item: int = item, barrier: threading.Barrier = barrier, codes: dict = codes) -> None:
                session = requests.Session()
                barrier.wait()
                codes[who] = session.post(f"{via[who].url}/api/queue/{item}/claim", headers=bearer(tokens[who]),
                                          timeout=10)

            threads = [threading.Thread(target=go, args=(w,)) for w in via]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            assert sorted(r.status_code for r in codes.values()) == [200, 409], (n, codes)
            loser = next(r for r in codes.values() if r.status_code == 409).json()
            winner = next(w for w, r in codes.items() if r.status_code == 200)
            assert loser == {"error": "claimed", "message": f"{winner} is replying", "claimed_by": winner}
    finally:
        a.stop()
        b.stop()
