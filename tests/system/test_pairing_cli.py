"""Pairing from the command line: `python -m server pair CODE` against a real server process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from server.config import REPO_ROOT
from tests.support.servers import ServerProcess, free_port

OTHER_EXT = {"Origin": "moz-extension://0b7e3f5c-1111-2222-3333-444455556666"}


def test_cli_approves_on_the_running_server(tmp_path: Path):
    """`python -m server pair CODE` against a real server process, as the person at the machine runs it."""
    import requests

    srv = ServerProcess(tmp_path / "data", port=free_port()).start()
    try:
        req = requests.post(f"{srv.url}/api/pair", json={"client": "Firefox"}, headers=OTHER_EXT, timeout=10).json()
        assert req["code"] in srv.log_text()  # the server shows the code to compare with the extension's
        env = {**srv.extra_env, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        cli = [sys.executable, "-m", "server", "pair", "--data-dir", str(srv.data_dir), "--port", str(srv.port)]
        wrong = subprocess.run([*cli, "AAA-AAA"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                               env={**os.environ, **env})
        assert wrong.returncode == 2 and "No pairing request" in wrong.stderr
        ok = subprocess.run([*cli, req["code"]], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, **env})
        assert ok.returncode == 0 and "Firefox" in ok.stdout, ok.stderr
        got = requests.get(f"{srv.url}/api/pair/{req['id']}", headers=OTHER_EXT, timeout=10).json()
        assert got["token"] == srv.token
    finally:
        srv.stop()
    down = subprocess.run([*cli, req["code"]], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})
    assert down.returncode == 1 and "make run" in down.stderr
