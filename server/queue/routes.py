"""The queue's HTTP routes (/api/queue, /api/stats), its /ws hooks and the after-suggest hook, and their wiring."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, has_request_context, jsonify, request

from server.core import sla
from server.core.errors import DomainError, Invalid
from server.core.posts import validate_post
from server.core.vocab import ACTIVE_STATES, PLATFORMS
from server.queue import claims
from server.queue.scheduler import Scheduler
from server.queue.service import DEFAULT_LIMIT, MAX_LIMIT, MAX_STATS_DAYS, QueueService
from server.queue.store import QueueStore
from server.services import Services, services
from server.team.agents import Agent, Agents, current_agent
from server.web.errors import read_json

log = logging.getLogger(__name__)
bp = Blueprint("queue", __name__, url_prefix="/api")


# -- HTTP ------------------------------------------------------------------------------------------------------
def service() -> QueueService:
    svc = services().queue
    assert svc is not None, "the queue is wired in create_app"
    return svc


def _optional_json() -> dict[str, Any]:
    return read_json() if request.get_data(cache=True) else {}


def _resolve_pack(name: Any) -> Any:
    from server.suggest.service import resolve_pack

    svc = services()
    return resolve_pack(svc.packs, name, svc.config.default_pack)


@bp.post("/queue")
def track() -> Any:
    body = read_json()
    if "post" not in body:
        raise Invalid("invalid_post", "The request needs a 'post' object (see docs/DESIGN.md).")
    post = validate_post(body["post"])
    pack = _resolve_pack(body.get("pack"))
    item, created = service().track(post, pack, by=_agent())
    return jsonify(item), 201 if created else 200


def _states(raw: str | None) -> list[str] | None:
    if raw is None or raw.strip() == "":
        return list(ACTIVE_STATES)
    wanted = [s.strip() for s in raw.split(",") if s.strip()]
    if wanted == ["all"]:
        return None
    if wanted == ["active"]:
        return list(ACTIVE_STATES)
    bad = [s for s in wanted if s not in sla.STATES]
    if bad or not wanted:
        raise Invalid("invalid_state", f"Unknown state '{(bad or [raw])[0][:40]}'; use a comma list of "
                                             f"{', '.join(sla.STATES)}, or 'active' or 'all'.")
    return wanted


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"invalid_{name}", f"'{name}' must be a whole number from {lo} to {hi}.") from None
    if not lo <= value <= hi:
        raise Invalid(f"invalid_{name}", f"'{name}' must be a whole number from {lo} to {hi}.")
    return value


def _platform_arg() -> str | None:
    platform = request.args.get("platform") or None
    if platform is not None and platform not in PLATFORMS:
        raise Invalid("unknown_platform", f"Unknown platform '{platform[:40]}'; use one of: "
                                                f"{', '.join(PLATFORMS)}.")
    return platform


@bp.get("/queue")
def listing() -> Any:
    """The queue, most urgent first. Default: the active states (waiting, due_soon, overdue, snoozed), first 200;
    `state=all` for every item, `limit` (1..1000) and `offset` to page, `total` and `counts` for badges."""
    states = _states(request.args.get("state"))
    return jsonify(service().listing(states, _platform_arg(), _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
                                     _int_arg("offset", 0, 0, 10**9), escalated=_bool_arg("escalated")))


def _bool_arg(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise Invalid(f"invalid_{name}", f"'{name}' must be true or false.")


@bp.get("/queue/export")
def export() -> Any:
    """Every tracked post with the reply the team sent, as one JSON document (the brand's data, to keep)."""
    svc = service()
    items = list(svc.export())
    body = {"exported_at": sla.iso(datetime.fromtimestamp(svc.clock(), UTC)), "count": len(items), "items": items}
    response = jsonify(body)
    response.headers["Content-Disposition"] = 'attachment; filename="replydesk-queue.json"'
    return response


def _agent() -> str:
    """Who is acting (recorded with every write): the agent whose token the request carries; the pairing token
    acts as the desk's own agent (config agent_name)."""
    return current_agent().name


@bp.get("/queue/<int(max=9223372036854775807):item_id>")  # SQLite ids are 64-bit: larger is 404
def get_item(item_id: int) -> Any:
    return jsonify(service().get(item_id))


@bp.post("/queue/<int(max=9223372036854775807):item_id>/<action>")
def act(item_id: int, action: str) -> Any:
    return jsonify(service().act(item_id, action, _optional_json(), agent=_agent()))


def _time_arg(name: str, default: float, is_end: bool) -> float:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    value = sla.parse_instant(raw)
    if value is None:
        raise Invalid(f"invalid_{name}", f"'{name}' must be an ISO-8601 date or time, e.g. 2026-11-24 or "
                                               "2026-11-24T08:00:00Z.")
    if is_end and len(raw.strip()) == 10:  # a bare date as the end means the whole of that day
        value += timedelta(days=1)
    return value.timestamp()


@bp.get("/stats")
def stats() -> Any:
    """Response-time figures over ?since=&until= (ISO dates or times; default the last 30 days),
    ?platform=, ?tz= (IANA name for the per-day split; default UTC), ?group=agent|channel|agent,channel
    (adds by_agent / by_channel_list; replies with no replied_by count under the desk's agent_name)."""
    from server.queue.stats import parse_groups

    groups = parse_groups(request.args.get("group"))
    now = service().clock()
    until = _time_arg("until", now, is_end=True)
    since = _time_arg("since", until - 30 * 86400, is_end=False)
    if since >= until:
        raise Invalid("invalid_range", "'since' must be before 'until'.")
    if until - since > MAX_STATS_DAYS * 86400:
        raise Invalid("invalid_range", f"The range can span at most {MAX_STATS_DAYS} days.")
    tz = request.args.get("tz") or "UTC"
    try:
        sla.ZoneInfo(tz)
    except (sla.ZoneInfoNotFoundError, ValueError):
        raise Invalid("invalid_tz", f"Unknown time zone '{tz[:60]}'; use an IANA name such as "
                                          "Europe/London.") from None
    return jsonify(service().stats(since, until, _platform_arg(), tz, groups, services().config.agent_name))


# -- wiring ----------------------------------------------------------------------------------------------------
def init_app(app: Flask, svc: Services) -> None:
    """Open the store, start the scheduler, register routes, /ws hooks and the after-suggest hook."""
    cfg = svc.config
    store = QueueStore(cfg.database)
    queue = QueueService(store, svc.hub, svc.packs, cfg.default_pack)
    queue.claim_idle_seconds = cfg.claim_idle_seconds
    queue.agent_name = cfg.agent_name
    svc.agents = Agents(store.db)
    scheduler = Scheduler(queue, cfg.scheduler_interval)
    queue.scheduler = scheduler
    scheduler.load()
    scheduler.start()
    svc.queue = queue
    svc.on_close(store.close)
    svc.on_close(scheduler.stop)  # closers run newest first: the scheduler stops before the store closes
    app.register_blueprint(bp)
    app.register_blueprint(claims.bp)
    svc.ws_connect_hooks.append(lambda session: _on_connect(queue, session))
    svc.ws_handlers["queue_action"] = lambda session, msg: _on_action(queue, session, msg)
    svc.ws_handlers["queue_snapshot"] = lambda session, msg: session.send(queue.snapshot())
    svc.after_suggest.append(lambda post, pack, answer: _after_suggest(queue, post, pack, answer))


def _on_connect(queue: QueueService, session: Any) -> None:
    try:
        session.send(queue.snapshot())
    except Exception:  # the connection must survive a queue problem; the client can ask again
        log.exception("queue snapshot failed")
        session.error("queue_unavailable", "The queue could not be read; send {\"type\": \"queue_snapshot\"} "
                                           "to try again.")


WS_ACTIONS = ("replied", "dismiss", "snooze", "escalate", "claim", "release")


def _session_agent(queue: QueueService, session: Any) -> Agent:
    """Who a /ws session acts as: the agent it authenticated as (when the socket layer keeps it), else the desk."""
    agent = getattr(session, "agent", None)
    if isinstance(agent, Agent):
        return agent
    if isinstance(agent, str) and agent:
        return Agent(agent)
    return Agent(queue.agent_name, "", supervisor=True)


def _on_action(queue: QueueService, session: Any, msg: dict[str, Any]) -> None:
    """{"type": "queue_action", "id": item id, "action": replied|dismiss|snooze|escalate|claim|release, ...body fields}
    ("reply": the text as sent, with replied)."""
    item_id, action = msg.get("id"), msg.get("action")
    if isinstance(item_id, bool) or not isinstance(item_id, int) or action not in WS_ACTIONS:
        session.error("invalid_action", "Send {\"type\": \"queue_action\", \"id\": <item id>, \"action\": "
                                        "\"replied\"|\"dismiss\"|\"snooze\"|\"escalate\"|\"claim\"|"
                                        "\"release\"}.", msg.get("id"))
        return
    agent = _session_agent(queue, session)
    try:
        if action in ("claim", "release"):
            item = claims.change_claim(queue, item_id, agent, release=action == "release",
                                       takeover=msg.get("takeover") is True)
        else:
            item = queue.act(item_id, action, msg, agent=agent.name)
    except DomainError as exc:
        session.error(exc.code, exc.message, item_id)
        return
    session.send({"type": "queue_action_done", "id": item_id, "action": action, "item": item})


def _after_suggest(queue: QueueService, post: dict[str, Any], pack: Any, answer: dict[str, Any]) -> None:
    """Track the post the agent is answering and tell the extension its target and deadline.

    A post the queue cannot track (no id, no URL) still gets the target and deadline its policy gives, so the
    panel shows the server's clock and computes none of its own."""
    try:
        if post.get("post_id") or post.get("url"):
            name = current_agent().name if has_request_context() else None
            item, _ = queue.track(post, pack, analysis=answer.get("analysis"), by=name)
            if name and item.get("claimed_by") == name:
                claims.touch(queue, item["id"], name)  # working on the post keeps the holder's claim live
            answer["deadline"] = item["deadline"]
            answer["target_minutes"] = item["target_minutes"]
            answer["queue_item"] = item
            return
        policy, clock = queue.clock_for(post, pack, answer.get("analysis"))
    except Exception:  # a queue problem must never cost the agent their suggested reply
        log.exception("could not track the suggested post")
        return
    answer["deadline"] = sla.iso(datetime.fromtimestamp(clock.deadline, UTC))
    answer["target_minutes"] = int(policy.target_minutes) if float(policy.target_minutes).is_integer() \
        else policy.target_minutes
