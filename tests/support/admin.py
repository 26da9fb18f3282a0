"""The supervisor console in tests: an app with supervisors (Flask test client side), pack edits by key, and a
signed-in console session over HTTP against a real server process."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from server.admin.auth import add_supervisor
from server.app import create_app
from server.config import REPO_ROOT
from server.packs.store import key_line, parse_pack
from tests.support.live import make_config

PASSWORD = "correct horse battery"
CLI_SUPERVISOR = "kill-loop"  # the supervisor `add_supervisor_by_cli` creates; signs in with PASSWORD
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_admin_app(tmp: Path, **kw: Any):
    """An app over a private copy of the packs, with supervisors alice and bob."""
    packs = tmp / "prompts"
    shutil.copytree(REPO_ROOT / "prompts", packs)
    app = create_app(make_config(tmp / "data", packs_dir=packs, **kw))
    add_supervisor(tmp / "data", "alice", PASSWORD)
    add_supervisor(tmp / "data", "bob", PASSWORD)
    return app


def set_value(files: dict[str, str], dotted: str, literal: str) -> tuple[dict[str, str], str, int]:
    """Change one `key = value` line of whichever file defines it (the packs evolve; tests should not care).

    Returns (files, file name, line number)."""
    pack = parse_pack("default", files)
    path = dotted.split(".")
    fname = pack.origin[path[0]]
    line_no = key_line(files[fname], path)
    assert line_no, dotted
    lines = files[fname].split("\n")
    assert re.match(rf"^\s*{re.escape(path[-1])}\s*=", lines[line_no - 1]), lines[line_no - 1]
    lines[line_no - 1] = re.sub(r"=.*$", f"= {literal}", lines[line_no - 1])
    return {**files, fname: "\n".join(lines)}, fname, line_no


def signature(files: dict[str, str]) -> str:
    return parse_pack("default", files).data["signature"]["default"]


def example_count(files: dict[str, str]) -> int:
    return len(parse_pack("default", files).data.get("llm", {}).get("examples", []))


def add_supervisor_by_cli(data_dir: Path) -> None:
    """`python -m server add-supervisor` for CLI_SUPERVISOR, as an operator would."""
    r = subprocess.run([sys.executable, "-m", "server", "add-supervisor", CLI_SUPERVISOR, "--data-dir",
                        str(data_dir)], input=PASSWORD + "\n", text=True, capture_output=True, cwd=REPO_ROOT,
                       timeout=60, env={**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    assert r.returncode == 0, r.stderr


def console_login(base: str) -> tuple[requests.Session, str]:
    """Sign in to /admin like a browser: the login form's CSRF token, then the session's."""
    s = requests.Session()
    page = s.get(f"{base}/admin/login", timeout=30)
    token = CSRF_RE.search(page.text)
    assert page.status_code == 200 and token, page.text[:300]
    r = s.post(f"{base}/admin/login", data={"name": CLI_SUPERVISOR, "password": PASSWORD,
                                            "csrf_token": token.group(1), "next": ""},
               allow_redirects=False, timeout=30)
    assert r.status_code in (302, 303), r.text[:300]
    page = s.get(f"{base}/admin/packs/default", timeout=30)
    token = CSRF_RE.search(page.text)
    assert page.status_code == 200 and token, page.text[:300]
    return s, token.group(1)
