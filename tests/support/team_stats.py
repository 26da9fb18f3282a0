"""A desk with replies by several agents, for the per-agent and per-channel figures (API and console tests).

The posts are tracked and marked replied over the API; who replied is then written through the store's change()
(the same column the replied action fills), so the figures do not depend on how a request names its agent.
"""
from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.app import create_app
from server.config import REPO_ROOT
from tests.support.live import make_config
from tests.support.packs import FLAT_SLA, write_pack

T0 = datetime(2037, 11, 24, 8, 0, tzinfo=UTC).timestamp()  # a Tuesday; the desk's clock stands still here
DAY = "2037-11-24"
TEXT = "Where is my parcel? It was due yesterday."

# (agent or None for "no replied_by", platform, minutes after the post the reply went out); targets: x 60, fb 120
REPLIES: list[tuple[str | None, str, int]] = [
    ("Dana", "x", 10), ("Dana", "x", 20), ("Dana", "x", 30), ("Dana", "x", 80),
    ("Kim", "x", 5), ("Kim", "x", 70),
    (None, "facebook", 100),
]
POSTED_MINUTES_AGO = 200


class FixedClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def packs_copy(tmp: Path) -> Path:
    """The repository's packs plus "flat" (x: 60 minutes, facebook: 120, no business hours)."""
    root = tmp / "packs"
    shutil.copytree(REPO_ROOT / "prompts", root)
    write_pack(root, "flat", FLAT_SLA)
    return root


def make_app(tmp: Path, **kw: Any):
    """An app over its own data and packs whose queue clock stands at T0."""
    app = create_app(make_config(tmp / "data", packs_dir=packs_copy(tmp), **kw))
    app.extensions["replydesk"].queue.clock = FixedClock(T0)
    return app


def post(n: int, minutes_ago: float, platform: str = "x", handle: str | None = None) -> dict[str, Any]:
    handle = handle or f"c{n}"
    return {"platform": platform, "post_id": str(n), "url": f"https://x.com/{handle}/status/{n}",
            "author": {"handle": handle, "name": f"Customer {n}"}, "text": TEXT,
            "created_at": iso(T0 - minutes_ago * 60)}


def _call(client: Any, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    resp = client.post(path, json=body if body is not None else {})
    assert resp.status_code in (200, 201), (path, resp.status_code, resp.get_json())
    return resp.get_json()


def set_replied_by(app: Any, item_id: int, agent: str | None) -> None:
    def decide(row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "replied_by_set", {"replied_by": agent, "updated_at": row["updated_at"]}

    assert app.extensions["replydesk"].queue.store.change(item_id, decide)


def seed(app: Any, client: Any) -> dict[str, Any]:
    """REPLIES, plus posts no agent answered: one open past its deadline (x), one open not yet due
    (facebook), one dismissed (x), and a next response replied by Kim (out of the first-response figures).
    `client` sends the agent token. Returns the tracked items by role."""
    items: dict[str, Any] = {"replied": []}
    for n, (agent, platform, after) in enumerate(REPLIES):
        item = _call(client, "/api/queue", {"post": post(100 + n, POSTED_MINUTES_AGO, platform), "pack": "flat"})
        replied_at = T0 - (POSTED_MINUTES_AGO - after) * 60
        _call(client, f"/api/queue/{item['id']}/replied", {"replied_at": iso(replied_at)})
        set_replied_by(app, item["id"], agent)
        items["replied"].append(item)
    items["overdue"] = _call(client, "/api/queue", {"post": post(200, 90), "pack": "flat"})
    items["fresh"] = _call(client, "/api/queue", {"post": post(201, 10, "facebook"), "pack": "flat"})
    gone = _call(client, "/api/queue", {"post": post(202, 150), "pack": "flat"})
    items["dismissed"] = _call(client, f"/api/queue/{gone['id']}/dismiss")
    # c100's first post was replied 190 minutes ago (Dana, after 10); a new post from c100 is a next response
    nxt = _call(client, "/api/queue", {"post": post(203, 100, handle="c100"), "pack": "flat"})
    _call(client, f"/api/queue/{nxt['id']}/replied", {"replied_at": iso(T0 - 99 * 60)})
    set_replied_by(app, nxt["id"], "Kim")
    items["next"] = nxt
    return items
