"""Team-mode servers as real processes: `python -m server run --database-url ...` (Werkzeug, or gunicorn with
--workers), each in a process group of its own so `kill()` takes a gunicorn master and its workers down at once
(SIGKILL, what a crashed machine does), plus a WebSocket client that records every event it is sent."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simple_websocket import Client, ConnectionClosed

from server.config import REPO_ROOT
from tests.support.servers import ServerProcess, server_env

Event = dict[str, Any]


class TeamProcess(ServerProcess):
    """One server process of a team on `database_url`; workers 0 is Werkzeug, workers >= 1 gunicorn."""

    def __init__(self, data_dir: Path, database_url: str, workers: int = 0, threads: int = 8,
                 packs_dir: Path | None = None) -> None:
        super().__init__(data_dir, packs_dir=packs_dir)
        self.database_url, self.workers, self.threads = database_url, workers, threads

    def command(self) -> list[str]:
        return [self.python, "-m", "server", "run", "--port", str(self.port), "--data-dir", str(self.data_dir),
                "--database-url", self.database_url, "--workers", str(self.workers), "--threads", str(self.threads)]

    def start(self, timeout: float = 60.0, wait: bool = True) -> TeamProcess:
        """Start the process; with wait=False the caller starts others meanwhile and calls `wait_ready`."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command(), cwd=REPO_ROOT, env=server_env(self.data_dir, self.packs_dir),
                                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        self.starts += 1
        if wait:
            self.wait_ready(timeout)
        return self

    def kill(self) -> None:
        """SIGKILL to the whole process group: the master and its workers die together, nothing is flushed."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class EventLog:
    """A /ws client that keeps reading on a thread of its own: tests wait for events and count them after."""

    def __init__(self, server: ServerProcess) -> None:
        self.ws = Client.connect(server.ws_url)
        self.ws.send(json.dumps({"type": "auth", "token": server.token}))
        self.events: list[Event] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        self.wait_for(lambda e: e.get("type") == "queue" and "items" in e, what="the queue snapshot")

    def _read(self) -> None:
        while True:
            try:
                raw = self.ws.receive(timeout=0.2)
            except ConnectionClosed:
                return
            if raw is None:
                continue
            with self._cond:
                self.events.append(json.loads(raw))
                self._cond.notify_all()

    def wait_for(self, pred: Callable[[Event], bool], timeout: float = 10.0, what: str = "") -> Event:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                hit = next((e for e in self.events if pred(e)), None)
                if hit is not None:
                    return hit
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {what or 'matching event'} within {timeout} s; saw "
                                         f"{[e.get('type') for e in self.events]}")
                self._cond.wait(left)

    def count(self, pred: Callable[[Event], bool]) -> int:
        with self._cond:
            return sum(1 for e in self.events if pred(e))

    def close(self) -> None:
        try:
            self.ws.close()
        except ConnectionClosed:
            pass
