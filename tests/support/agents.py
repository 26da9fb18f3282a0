"""A team desk in this process: the app with three agents (Dana, Sam; Lee a supervisor) and a settable clock."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from server.app import create_app
from tests.support.live import make_config

IDLE = 60.0  # claim_idle_seconds of the desk


class TeamDesk:
    def __init__(self, data: Path) -> None:
        self.app = create_app(make_config(data, claim_idle_seconds=IDLE))
        self.svc = self.app.extensions["replydesk"]
        self.t = 1_900_000_000.0
        self.svc.queue.clock = lambda: self.t
        self.tokens = {"Dana": self.svc.agents.add("Dana", "DK"), "Sam": self.svc.agents.add("Sam"),
                       "Lee": self.svc.agents.add("Lee", supervisor=True)}

    def client(self, who: str) -> Any:
        """A test client with `who`'s token ("desk": the pairing token)."""
        c = self.app.test_client()
        token = self.app.config["REPLYDESK_TOKEN"] if who == "desk" else self.tokens[who]
        c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return c

    def track(self, n: int = 1, who: str = "Dana") -> int:
        post = {"platform": "x", "post_id": str(n), "author": {"handle": "kate", "name": "Kate"},
                "text": "My order never arrived and nobody answers."}
        return self.client(who).post("/api/queue", json={"post": post}).json["id"]

    def history(self, item: int) -> list[tuple[str, str | None]]:
        return [(h["event"], h["by"]) for h in self.svc.queue.store.history(item)]

    def close(self) -> None:
        self.svc.close()
