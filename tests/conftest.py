"""Shared fixtures: real servers on loopback with their own data folders, and the sample posts."""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Choose keyring's backend before anything imports keyring: a bare CI machine has none; the product falls back.
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
for var in ("OPENAI_API_KEY", "REPLYDESK_LLM_BASE_URL", "REPLYDESK_LLM_MODEL"):
    os.environ.pop(var, None)

from server.app import create_app  # noqa: E402
from server.config import REPO_ROOT, Config  # noqa: E402

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
ARTIFACTS = TESTS / "artifacts"


@pytest.fixture(scope="session")
def sample_posts() -> list[dict[str, Any]]:
    return json.loads((DATA / "sample_posts.json").read_text())


def make_config(tmp: Path, **kw: Any) -> Config:
    return Config(data_dir=tmp, packs_dir=kw.pop("packs_dir", REPO_ROOT / "prompts"), testing=True,
                  scheduler_interval=kw.pop("scheduler_interval", 0.2), **kw)


@pytest.fixture(scope="module")
def fake():
    """A real chat-completions server on loopback (tests/fake_llm.py), one per test module; tests set its mode."""
    from tests.fake_llm import FakeLLM

    with FakeLLM(slow_seconds=30, trickle_interval=0.1) as server:
        yield server


@pytest.fixture
def app(tmp_path: Path):
    return create_app(make_config(tmp_path / "data"))


@pytest.fixture
def client(app):
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {app.config['REPLYDESK_TOKEN']}"
    return c


class LiveServer:
    """A real threaded Werkzeug server on a free loopback port."""

    def __init__(self, app) -> None:
        from werkzeug.serving import make_server

        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.token = app.config["REPLYDESK_TOKEN"]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        stop = self.app.extensions["replydesk"].close
        if stop:
            stop()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    srv = LiveServer(create_app(make_config(tmp_path / "data"))).start()
    yield srv
    srv.stop()
