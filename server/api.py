"""The agent-facing API: suggest, tone and packs (the queue has its own blueprint)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from server import suggest as suggest_mod
from server import tone
from server.errors import ApiError, read_json
from server.posts import MAX_TEXT, PLATFORMS, PostError, validate_post

bp = Blueprint("api", __name__, url_prefix="/api")


def services() -> dict[str, Any]:
    return current_app.extensions["replydesk"]


@bp.post("/suggest")
def suggest() -> Any:
    svc = services()
    body = read_json()
    post, pack, options = suggest_mod.parse_request(body, svc["packs"], svc["config"].default_pack)
    answer = suggest_mod.suggest(post, pack, options, llm=svc.get("llm"))
    for hook in svc.get("after_suggest", []):
        hook(post, pack, answer)
    return jsonify(answer)


@bp.post("/tone")
def tone_check() -> Any:
    svc = services()
    body = read_json()
    text = body.get("text")
    if not isinstance(text, str):
        raise ApiError(400, "invalid_text", "'text' (the draft reply) is required and must be a string.")
    if len(text) > MAX_TEXT:
        raise ApiError(413, "text_too_long", "The draft is longer than 10,000 characters.")
    platform = body.get("platform", "x")
    if platform not in PLATFORMS:
        raise ApiError(400, "unknown_platform", f"Unknown platform; use one of: {', '.join(PLATFORMS)}.")
    pack = suggest_mod.resolve_pack(svc["packs"], body.get("pack"), svc["config"].default_pack)
    post = None
    facts = None
    if body.get("post") is not None:
        try:
            post = validate_post(body["post"])
        except PostError as exc:
            raise ApiError(400, exc.code, exc.message) from None
        from server import analysis

        facts = analysis.analyze(post, pack)
    return jsonify(tone.check(text, platform, pack=pack, post=post, analysis=facts))


@bp.get("/packs")
def packs() -> Any:
    return jsonify({"packs": services()["packs"].status(), "default": services()["config"].default_pack})


@bp.get("/packs/<name>")
def pack(name: str) -> Any:
    p = suggest_mod.resolve_pack(services()["packs"], name, services()["config"].default_pack)
    return jsonify({**p.summary(), "data": p.data, "error": (lambda e: e.as_dict() if e else None)(
        services()["packs"].errors.get(name))})
