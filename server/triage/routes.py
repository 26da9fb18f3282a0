"""POST /api/triage/correction: an agent says which intent a post really had; it becomes a pack example."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify

from server.core import analysis
from server.core.errors import Invalid
from server.core.posts import validate_post
from server.core.vocab import INTENTS
from server.services import services
from server.suggest.service import resolve_pack
from server.web.errors import read_json

bp = Blueprint("triage", __name__, url_prefix="/api/triage")


@bp.post("/correction")
def correction() -> Any:
    from server.triage import store_of  # the app's store; imported here so the package loads without Flask state
    svc = services()
    body = read_json()
    post = validate_post(body.get("post"))
    intent = body.get("intent")
    if intent not in INTENTS:
        raise Invalid("invalid_intent", f"'intent' must be one of: {', '.join(INTENTS)}.")
    text = str(post.get("text") or "").strip()
    if not text:
        raise Invalid("empty_post", "post.text is empty: there is nothing to learn from.")
    pack = resolve_pack(svc.packs, body.get("pack"), svc.config.default_pack)
    count = store_of().add(pack.name, text, intent, post.get("post_id"))
    facts = analysis.analyze(post, pack)
    return jsonify({"stored": True, "pack": pack.name, "intent": intent, "corrections": count,
                    "analysis": {k: facts[k] for k in ("intent", "severity", "sarcasm", "urgent", "lang")}}), 201


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
