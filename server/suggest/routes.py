"""The agent-facing API: suggest, tone and packs (the queue has its own blueprint)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify

from server.core import analysis, tone
from server.core.errors import Invalid, TooLarge
from server.core.posts import MAX_TEXT, validate_post
from server.core.vocab import PLATFORMS
from server.services import services
from server.suggest import service as suggest_mod
from server.web.errors import read_json

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.post("/suggest")
def suggest() -> Any:
    svc = services()
    body = read_json()
    post, pack, options = suggest_mod.parse_request(body, svc.packs, svc.config.default_pack)
    answer = suggest_mod.suggest(post, pack, options, llm=svc.llm, queue=svc.queue)
    for hook in svc.after_suggest:
        hook(post, pack, answer)
    return jsonify(answer)


@bp.post("/tone")
def tone_check() -> Any:
    svc = services()
    body = read_json()
    text = body.get("text")
    if not isinstance(text, str):
        raise Invalid("invalid_text", "'text' (the draft reply) is required and must be a string.")
    if len(text) > MAX_TEXT:
        raise TooLarge("text_too_long", "The draft is longer than 10,000 characters.")
    platform = body.get("platform", "x")
    if platform not in PLATFORMS:
        raise Invalid("unknown_platform", f"Unknown platform; use one of: {', '.join(PLATFORMS)}.")
    pack = suggest_mod.resolve_pack(svc.packs, body.get("pack"), svc.config.default_pack)
    post = None
    facts = None
    if body.get("post") is not None:
        post = validate_post(body["post"])
        facts = analysis.analyze(post, pack)
    return jsonify(tone.check(text, platform, pack=pack, post=post, analysis=facts))


@bp.get("/packs")
def packs() -> Any:
    svc = services()
    return jsonify({"packs": svc.packs.status(), "default": svc.config.default_pack})


@bp.get("/packs/<name>")
def pack(name: str) -> Any:
    svc = services()
    p = suggest_mod.resolve_pack(svc.packs, name, svc.config.default_pack)
    error = svc.packs.errors.get(name)
    return jsonify({**p.summary(), "data": p.data, "error": error.as_dict() if error else None})


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
