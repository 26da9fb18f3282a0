"""The Flask app factory: every piece of state lives on the app, so tests can run many servers in one process."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify

from server import errors, security, ws
from server.config import Config
from server.events import EventHub
from server.keystore import get_or_create_token
from server.packs import PackStore

MAX_BODY = 64 * 1024


def create_app(config: Config | None = None) -> Flask:
    from server import __version__

    cfg = config or Config.from_env()
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY,
        JSON_SORT_KEYS=False,
        REPLYDESK=cfg,
        REPLYDESK_VERSION=__version__,
        REPLYDESK_TOKEN=get_or_create_token(cfg.data_dir),
        TESTING=cfg.testing,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    services: dict[str, Any] = {
        "config": cfg,
        "packs": PackStore(cfg.packs_dir, good_dir=cfg.data_dir / "packs-last-good"),
        "after_suggest": [],
    }
    app.extensions["replydesk"] = services
    app.extensions["replydesk_hub"] = EventHub()
    errors.register(app)
    security.register(app)
    ws.register(app)

    from server.api import bp as api_bp

    app.register_blueprint(api_bp)
    _register_optional(app)

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"ok": True, "version": __version__})

    return app


def _register_optional(app: Flask) -> None:
    """Parts that hook themselves in (queue, LLM engine, console, demo) via an `init_app(app)` each."""
    import importlib

    for module in ("server.queue_api", "server.llm", "server.admin", "server.demo", "server.suggest_ws",
                   "server.pairing", "server.openapi"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        mod.init_app(app)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
