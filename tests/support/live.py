"""The app in this process: a test config, and a real threaded Werkzeug server on a free loopback port."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from server.config import REPO_ROOT, Config


def make_config(tmp: Path, **kw: Any) -> Config:
    return Config(data_dir=tmp, packs_dir=kw.pop("packs_dir", REPO_ROOT / "prompts"), testing=True,
                  scheduler_interval=kw.pop("scheduler_interval", 0.2), **kw)


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


def watched_live_server(tmp: Path) -> LiveServer:
    """A started LiveServer over a private copy of the packs that lists every authenticated WebSocket in
    `app.extensions["test_ws_connections"]` (so a test can tell that none got through)."""
    import shutil

    from server.app import create_app

    shutil.copytree(REPO_ROOT / "prompts", tmp / "packs")
    srv = LiveServer(create_app(make_config(tmp / "data", packs_dir=tmp / "packs")))
    connections: list[str] = []
    srv.app.extensions["test_ws_connections"] = connections
    srv.app.extensions["replydesk"].ws_connect_hooks.append(lambda session: connections.append("authenticated"))
    return srv.start()
