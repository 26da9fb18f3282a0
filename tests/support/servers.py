"""The real server as a child process: `python -m server run` on a free loopback port with its own data folder.

One helper for every test and benchmark that needs a separate server process (soak, faults, crash, hostile input,
schemathesis, pairing's CLI, the tray's real tests, bench/). `kill()` is a real SIGKILL; `start()` again restarts
on the same port and data folder.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from server.config import REPO_ROOT


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(data_dir: Path, packs_dir: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPLYDESK_", "OPENAI_"))}
    env.update(PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", REPLYDESK_DATA_DIR=str(data_dir),
               PYTHONUNBUFFERED="1")
    if packs_dir is not None:
        env["REPLYDESK_PACKS_DIR"] = str(packs_dir)
    env.update(extra)
    return env


class ServerProcess:
    """`python -m server run` on a free loopback port; `kill()` is a real SIGKILL, `start()` again restarts."""

    def __init__(self, data_dir: Path, packs_dir: Path | None = None, port: int | None = None,
                 env: dict[str, str] | None = None, log_path: Path | None = None,
                 python: str | Path = sys.executable) -> None:
        self.python = str(python)
        self.data_dir = Path(data_dir)
        if packs_dir is None:  # a copy, so nothing a test does can touch the repository's prompts/
            packs_dir = self.data_dir.parent / f"packs-{self.data_dir.name}"
            if not packs_dir.exists():
                shutil.copytree(REPO_ROOT / "prompts", packs_dir)
        self.packs_dir = Path(packs_dir)
        self.port = port or free_port()
        self.extra_env = env or {}
        self.log_path = log_path or self.data_dir.parent / f"server-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def token(self) -> str:
        return (self.data_dir / "pairing-token").read_text().strip()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [self.python, "-m", "server", "run", "--port", str(self.port), "--data-dir", str(self.data_dir)],
                cwd=REPO_ROOT, env=server_env(self.data_dir, self.packs_dir, **self.extra_env),
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            log.close()
        self.starts += 1
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"server not ready within {timeout} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no atexit, no flush; what a power cut or the OOM killer does."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
