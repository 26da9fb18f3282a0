"""Faults: SIGKILL of the real server during writes loses nothing acknowledged and corrupts nothing; the LLM
server dying mid-stream ends in the playbook reply.

The kill loop runs `python -m server run` in a subprocess and, for at least 50 rounds, keeps three writers busy
(tracking posts, marking them replied, saving the pack through the supervisor console) and kills the server with
SIGKILL at a random moment, often mid-request. Between rounds, with the server dead, it checks the files as a
restart will find them; after restarting, it checks through the API that every acknowledged write is there.
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from server.config import REPO_ROOT
from server.packs.store import digest_of, parse_pack, read_files, recover
from tests.support.admin import add_supervisor_by_cli, console_login
from tests.support.fake_llm import DEFAULT_REPLY
from tests.support.paths import ARTIFACTS
from tests.support.servers import ServerProcess, free_port

ROUNDS = int(os.environ.get("REPLYDESK_KILL_ROUNDS", "50"))
MARK_RE = re.compile(r"kill-loop r(\d+) s(\d+)")



def marked(files: dict[str, str], rnd: int, k: int) -> dict[str, str]:
    """The pack with the same mark in two of its files, so a save that was only half written would show."""
    mark = f"kill-loop r{rnd} s{k}"
    out = dict(files)
    out["pack.toml"] = re.sub(r'^description = ".*"$', f'description = "{mark}"', files["pack.toml"], count=1,
                              flags=re.M)
    llm = re.sub(r"^# kill-loop .*\n", "", files["llm.toml"], flags=re.M)
    out["llm.toml"] = f"# {mark}\n{llm}"
    assert out["pack.toml"] != files["pack.toml"] or mark in files["pack.toml"]
    return out


def mark_of(files: dict[str, str]) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    def find(text: str) -> tuple[int, int] | None:
        m = MARK_RE.search(text)
        return (int(m.group(1)), int(m.group(2))) if m else None

    return find(files.get("pack.toml", "")), find(files.get("llm.toml", ""))


class Writers:
    """Three writers hammering the server; each keeps the writes the server acknowledged."""

    def __init__(self, srv: ServerProcess, rnd: int, pack_files: dict[str, str], console: Any, rng: random.Random):
        self.srv, self.rnd, self.rng = srv, rnd, rng
        self.pack_files, self.console = pack_files, console
        self.tracked: dict[str, int] = {}      # post_id -> item id (acknowledged 200/201)
        self.replied: set[int] = set()          # item ids acknowledged as replied
        self.saved: list[tuple[int, int]] = []  # (round, save) marks acknowledged by the console
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.requests = 0
        self.cut = 0  # requests in flight when the server died (no answer at all)

    def _ok(self, what: str, r: requests.Response, codes: tuple[int, ...]) -> bool:
        if r.status_code in codes:
            return True
        self.errors.append(f"{what}: {r.status_code} {r.text[:200]}")
        return False

    def track(self) -> None:
        s = requests.Session()
        s.headers.update(self.srv.headers)
        k = 0
        while not self.stop.is_set():
            k += 1
            post_id = f"kill-{self.rnd}-{k}"
            post = {"platform": "x", "post_id": post_id, "url": f"https://x.com/c/status/{k}",
                    "author": {"handle": f"cust{k % 5}", "name": "Kate Mink"},
                    "text": f"@AcmeShop order {self.rnd}{k} never arrived, help", "created_at": None}
            try:
                r = s.post(f"{self.srv.url}/api/queue", json={"post": post}, timeout=30)
            except requests.RequestException:
                self.cut += 1  # the server was killed: this write was never acknowledged
                return
            self.requests += 1
            if self._ok("track", r, (200, 201)):
                self.tracked[post_id] = r.json()["id"]

    def reply(self) -> None:
        s = requests.Session()
        s.headers.update(self.srv.headers)
        while not self.stop.is_set():
            pending = [i for i in self.tracked.values() if i not in self.replied]
            if not pending:
                time.sleep(0.005)
                continue
            item_id = self.rng.choice(pending)
            try:
                r = s.post(f"{self.srv.url}/api/queue/{item_id}/replied", timeout=30)
            except requests.RequestException:
                self.cut += 1
                return
            self.requests += 1
            if self._ok("replied", r, (200,)):
                assert r.json()["state"] == "replied"
                self.replied.add(item_id)

    def save(self) -> None:
        if self.console is None:
            return
        session, csrf = self.console
        base = digest_of(self.pack_files)
        k = 0
        while not self.stop.is_set():
            k += 1
            files = marked(self.pack_files, self.rnd, k)
            form = {"csrf_token": csrf, "base": base, "action": "save", "note": f"round {self.rnd} save {k}",
                    **{f"file:{name}": text for name, text in files.items()}}
            try:
                r = session.post(f"{self.srv.url}/admin/packs/default", data=form, allow_redirects=False,
                                 timeout=30)
            except requests.RequestException:
                self.cut += 1
                return
            self.requests += 1
            if self._ok("pack save", r, (302, 303)):
                self.saved.append((self.rnd, k))
                base = digest_of(files)


def check_files(data_dir: Path, packs_dir: Path, pack_files: set[str], acked_mark: tuple[int, int] | None,
                report: dict) -> None:
    """With the server dead: the database is sound and every pack a restart could load parses, whole."""
    with sqlite3.connect(data_dir / "replydesk.sqlite3", timeout=30) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    db.close()
    folders = [packs_dir / "default"]
    good = data_dir / "packs-last-good" / "default"
    if good.is_dir():
        folders.append(good)
    for folder in folders:
        recover(folder)  # exactly what the restart does first: finish a pack save the kill interrupted
        names = {p.name for p in folder.glob("*.toml")}
        assert names == pack_files, f"{folder}: files a restart would load as pack files: {sorted(names)}"
        files = read_files(folder)
        parse_pack("default", files)  # raises PackError on a truncated or mixed-up file
        pack_mark, llm_mark = mark_of(files)
        if pack_mark != llm_mark:
            report["half_saved_packs"].append({"folder": folder.name, "pack.toml": pack_mark, "llm.toml": llm_mark})
        if folder == packs_dir / "default" and acked_mark is not None:
            assert pack_mark is not None and pack_mark >= acked_mark, \
                f"an acknowledged pack save was lost: disk has {pack_mark}, acknowledged {acked_mark}"
        report["temp_files_left"] = max(report["temp_files_left"], len(list(folder.glob(".*.tmp"))))
    history = data_dir / "pack-history" / "default"
    for entry in history.glob("*.json") if history.is_dir() else ():
        json.loads(entry.read_text(encoding="utf-8"))  # every history entry is whole


@pytest.mark.timeout(400)
def test_kill_9_during_writes_loses_nothing(tmp_path):
    packs_dir = tmp_path / "packs"
    shutil.copytree(REPO_ROOT / "prompts", packs_dir)
    file_names = {p.name for p in (packs_dir / "default").glob("*.toml")}
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    has_console = (REPO_ROOT / "server" / "admin" / "__init__.py").exists()
    if has_console:
        add_supervisor_by_cli(data_dir)
    srv = ServerProcess(data_dir, packs_dir=packs_dir, port=free_port())
    rng = random.Random(int(os.environ.get("REPLYDESK_KILL_SEED", "9")))
    tracked: dict[str, int] = {}
    replied: set[int] = set()
    acked_mark: tuple[int, int] | None = None
    report: dict[str, Any] = {"rounds": 0, "requests": 0, "acknowledged_tracks": 0, "acknowledged_replied": 0,
                              "acknowledged_pack_saves": 0, "kills_mid_request": 0, "half_saved_packs": [],
                              "temp_files_left": 0, "console": has_console, "restart_seconds": []}
    started = time.monotonic()
    try:
        for rnd in range(1, ROUNDS + 1):
            t0 = time.monotonic()
            srv.start()
            report["restart_seconds"].append(round(time.monotonic() - t0, 3))
            # What the previous rounds were told is saved must be there after the restart.
            if tracked:
                listing = requests.get(f"{srv.url}/api/queue", params={"state": "all", "limit": 1000},
                                       headers=srv.headers, timeout=30).json()
                assert listing["total"] >= len(tracked)
                states = {}
                offset = 0
                while True:
                    page = requests.get(f"{srv.url}/api/queue", params={"state": "all", "limit": 1000,
                                                                        "offset": offset},
                                        headers=srv.headers, timeout=30).json()
                    states.update({it["post_id"]: (it["id"], it["state"]) for it in page["items"]})
                    offset += len(page["items"])
                    if not page["items"] or offset >= page["total"]:
                        break
                lost = [p for p in tracked if p not in states]
                assert not lost, f"round {rnd}: acknowledged tracked posts lost: {lost[:10]}"
                assert all(states[p][0] == i for p, i in tracked.items()), "item ids changed across a restart"
                by_id = {i: st for i, st in states.values()}
                unreplied = [i for i in replied if by_id.get(i) != "replied"]
                assert not unreplied, f"round {rnd}: acknowledged replies lost: {unreplied[:10]}"
            pack_files = read_files(packs_dir / "default")
            live = requests.get(f"{srv.url}/api/packs/default", headers=srv.headers, timeout=30).json()
            assert live["digest"] == digest_of(pack_files) and live["error"] is None, live.get("error")
            console = console_login(srv.url) if has_console else None
            writers = Writers(srv, rnd, pack_files, console, rng)
            threads = [threading.Thread(target=fn, daemon=True) for fn in (writers.track, writers.reply,
                                                                             writers.save)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.05, 0.6))
            srv.kill()
            writers.stop.set()
            for t in threads:
                t.join(timeout=30)
                assert not t.is_alive(), "a writer hung after the kill"
            assert not writers.errors, writers.errors[:5]
            report["kills_mid_request"] += 1 if writers.cut else 0
            report["requests_cut"] = report.get("requests_cut", 0) + writers.cut
            tracked.update(writers.tracked)
            replied |= writers.replied
            if writers.saved:
                acked_mark = max(writers.saved)
            report["requests"] += writers.requests
            report["acknowledged_pack_saves"] += len(writers.saved)
            check_files(data_dir, packs_dir, file_names, acked_mark, report)
            report["rounds"] = rnd
        # A last restart, and the whole record checked straight from the database as well.
        srv.start()
        r = requests.post(f"{srv.url}/api/suggest", json={"post": {"platform": "x", "post_id": "after",
                          "text": "@AcmeShop still there?"}}, headers=srv.headers, timeout=30)
        assert r.status_code == 200
        srv.stop()
    finally:
        srv.kill()
    with sqlite3.connect(data_dir / "replydesk.sqlite3") as db:
        rows = dict(db.execute("SELECT post_id, replied_at IS NOT NULL FROM items WHERE platform = 'x'").fetchall())
    db.close()
    assert all(p in rows for p in tracked), "acknowledged tracked posts missing from the database"
    assert all(rows[p] for p, i in tracked.items() if i in replied), "acknowledged replies missing"
    report.update(acknowledged_tracks=len(tracked), acknowledged_replied=len(replied),
                  seconds=round(time.monotonic() - started, 1),
                  restart_median_seconds=sorted(report["restart_seconds"])[len(report["restart_seconds"]) // 2])
    del report["restart_seconds"]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "kill_loop.json").write_text(json.dumps(report, indent=2))
    print("\nkill loop:", json.dumps(report))
    assert report["rounds"] >= 50 or ROUNDS < 50
    assert report["half_saved_packs"] == [], "a pack save left files of two different saves"
    assert report["temp_files_left"] == 0, "temp files of killed writers were left behind"
    assert report["acknowledged_tracks"] > 0 and report["acknowledged_replied"] > 0
    if has_console:
        assert report["acknowledged_pack_saves"] > 0


# -- the LLM server dies mid-stream ---------------------------------------------------------------------------
FAKE_LLM_MAIN = """
import sys, threading, time
from http.server import ThreadingHTTPServer
from tests.support import fake_llm
llm = fake_llm.FakeLLM(chunk_delay=float(sys.argv[2]))
class Handler(fake_llm._Handler):
    owner = llm
llm._server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
llm._server.daemon_threads = True
threading.Thread(target=llm._server.serve_forever, daemon=True).start()
print(llm.port, flush=True)
while True:
    time.sleep(1)
"""


def start_fake_llm(port: int = 0, chunk_delay: float = 0.2) -> tuple[subprocess.Popen, int]:
    """The fake model server in a process of its own, so it can die as a real one does."""
    proc = subprocess.Popen([sys.executable, "-c", FAKE_LLM_MAIN, str(port), str(chunk_delay)], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    assert line.strip().isdigit(), f"fake LLM did not start: {line!r}"
    return proc, int(line)


class WsClient:
    def __init__(self, url: str, token: str) -> None:
        from simple_websocket import Client

        self.ws = Client.connect(url)
        self.ws.send(json.dumps({"type": "auth", "token": token}))
        assert self.next(lambda m: m.get("type") == "hello")

    def send(self, msg: dict) -> None:
        self.ws.send(json.dumps(msg))

    def next(self, match: Any, timeout: float = 60) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            raw = self.ws.receive(timeout=max(0.05, deadline - time.monotonic()))
            if raw is not None and match(msg := json.loads(raw)):
                return msg
        return None

    def close(self) -> None:
        from simple_websocket import ConnectionClosed

        try:
            self.ws.close()
        except ConnectionClosed:
            pass


POST = {"platform": "x", "post_id": "llm-1", "author": {"handle": "kate", "name": "Kate Mink"},
        "text": "@AcmeShop my order 1234 never arrived and I'm really upset", "created_at": None}


def test_llm_server_killed_mid_stream_ends_in_playbook_reply(tmp_path):
    llm, llm_port = start_fake_llm(chunk_delay=0.2)
    srv = ServerProcess(tmp_path / "data", env={"REPLYDESK_LLM_BASE_URL": f"http://127.0.0.1:{llm_port}/v1",
                                                 "REPLYDESK_LLM_MODEL": "fake-model", "REPLYDESK_LLM_TIMEOUT": "20"})
    ws = None
    try:
        srv.start()
        ws = WsClient(srv.ws_url, srv.token)
        ws.send({"type": "suggest", "id": "a", "post": POST})
        first = ws.next(lambda m: m.get("id") == "a")
        assert first and first["type"] == "delta" and first["text"], first
        os.kill(llm.pid, signal.SIGKILL)  # the model server dies with the stream half sent
        llm.wait(timeout=30)
        done = ws.next(lambda m: m.get("id") == "a" and m.get("type") in ("done", "error"))
        assert done and done["type"] == "done", done
        assert done["engine"] == "playbook" and done["fallback_reason"], done
        assert done["reply"] and done["reply"] != DEFAULT_REPLY
        # With the model server gone, the next suggestion is the playbook's at once, over HTTP and /ws alike.
        r = requests.post(f"{srv.url}/api/suggest", json={"post": {**POST, "post_id": "llm-2"}},
                          headers=srv.headers, timeout=60)
        assert r.status_code == 200 and r.json()["engine"] == "playbook" and r.json()["fallback_reason"]
        # The model server comes back on its port: replies come from it again, with no restart of Reply Desk.
        llm, _ = start_fake_llm(port=llm_port, chunk_delay=0.0)
        r = requests.post(f"{srv.url}/api/suggest", json={"post": {**POST, "post_id": "llm-3"}},
                          headers=srv.headers, timeout=60)
        assert r.status_code == 200 and r.json()["engine"] == "openai", r.json()
        assert "unexpected error" not in srv.log_text()
    finally:
        if ws:
            ws.close()
        srv.stop()
        if llm.poll() is None:
            llm.kill()
            llm.wait(timeout=30)
