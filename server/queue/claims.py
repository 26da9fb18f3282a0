"""Claims: "who is on this post", so two agents never answer the same customer twice in public.

POST /api/queue/<id>/claim takes the post for the caller (a repeat by the holder renews it), DELETE releases it.
A claim is live while its holder keeps working on the post (claim renewals, a suggestion for it); after
`claim_idle_seconds` without that it lapses and anyone may take the post. A supervisor may take over a live
claim with {"takeover": true}. The decision runs inside the store's write transaction with the row locked
(`QueueStore.change`), so of two agents claiming at the same instant, in any processes, exactly one wins.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from server.core.errors import Conflict, Forbidden, Invalid, NotFound
from server.queue.service import QueueService
from server.queue.store import Row
from server.services import services
from server.team.agents import current_agent
from server.web.errors import read_json

bp = Blueprint("claims", __name__, url_prefix="/api")


def holder(row: Row, now: float, idle: float) -> str | None:
    """Who holds the post at `now` (None when unclaimed, or when the claim has lapsed)."""
    active = row.get("claim_active_at")
    if row.get("claimed_by") is None or active is None or now >= active + idle:
        return None
    return row["claimed_by"]


def decide_claim(row: Row, agent: Any, now: float, idle: float, takeover: bool) -> tuple[str, Row] | None:
    """The claim decision (pure): the fields to set, or a refusal."""
    if row["replied_at"] is not None or row["dismissed_at"] is not None:
        raise Conflict("closed", "This post is already " + ("replied" if row["replied_at"] is not None
                                                            else "dismissed") + ": there is nothing to claim.")
    current = holder(row, now, idle)
    if current is not None and current != agent.name:
        if not takeover:
            raise Conflict("claimed", f"{current} is replying", claimed_by=current)
        if not agent.supervisor:
            raise Forbidden("takeover_not_allowed", f"{current} is replying; only a supervisor can take the "
                                                    "post over.", claimed_by=current)
        return "claim_taken_over", {"claimed_by": agent.name, "claimed_at": now, "claim_active_at": now,
                                    "updated_at": now}
    if current == agent.name:
        return "claim_renewed", {"claim_active_at": now, "updated_at": now}
    return "claimed", {"claimed_by": agent.name, "claimed_at": now, "claim_active_at": now, "updated_at": now}


def decide_release(row: Row, agent: Any, now: float, idle: float) -> tuple[str, Row] | None:
    current = holder(row, now, idle)
    if current is None and row.get("claimed_by") is None:
        return None  # nothing to release: a no-op, not an error
    if current is not None and current != agent.name and not agent.supervisor:
        raise Forbidden("not_the_holder", f"{current} is replying; only they or a supervisor can release the post.",
                        claimed_by=current)
    return "released", {"claimed_by": None, "claimed_at": None, "claim_active_at": None, "updated_at": now}


MAX_ID = 9223372036854775807


def change_claim(queue: QueueService, item_id: int, agent: Any, release: bool = False,
                 takeover: bool = False) -> dict[str, Any]:
    if item_id > MAX_ID:  # ids are 64-bit in both databases: larger ones name nothing
        raise NotFound("not_found", f"No queue item with id {item_id}.")
    now = queue.clock()
    idle = queue.claim_idle_seconds

    def decide(row: Row) -> tuple[str, Row] | None:
        return decide_release(row, agent, now, idle) if release else decide_claim(row, agent, now, idle, takeover)

    result = queue.store.change(item_id, decide, by=agent.name)
    if result is None:
        raise NotFound("not_found", f"No queue item with id {item_id}.")
    row, changed = result
    if not changed:
        return queue.item_json(row)
    return queue.publish_upsert(row, action="released" if release else "claimed")


def touch(queue: QueueService, item_id: int, agent_name: str) -> None:
    """The holder worked on the post (a suggestion for it): their claim stays live. Others' claims are untouched."""
    now = queue.clock()

    def decide(row: Row) -> tuple[str, Row] | None:
        if holder(row, now, queue.claim_idle_seconds) != agent_name:
            return None
        return "claim_renewed", {"claim_active_at": now}

    queue.store.change(item_id, decide, by=agent_name)


@bp.post("/queue/<int:item_id>/claim")
def claim(item_id: int) -> Any:
    body = read_json() if request.get_data(cache=True) else {}
    if not isinstance(body.get("takeover", False), bool):
        raise Invalid("invalid_takeover", "'takeover' is true or false.")
    queue = services().queue
    assert queue is not None
    return jsonify(change_claim(queue, item_id, current_agent(), takeover=body.get("takeover") is True))


@bp.delete("/queue/<int:item_id>/claim")
def release(item_id: int) -> Any:
    queue = services().queue
    assert queue is not None
    return jsonify(change_claim(queue, item_id, current_agent(), release=True))
