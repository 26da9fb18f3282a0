"""The Flask app factory: every piece of state lives on the app, so tests can run many servers in one process.

Every part is listed here, in the order it is wired: no part registers itself by module name, and a part that
fails to import fails the start-up instead of silently vanishing.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify

from server import __version__, admin, demo, triage
from server.config import Config
from server.llm import engine as llm_engine
from server.packs.seed import seed_packs
from server.packs.store import PackStore
from server.queue import routes as queue_routes
from server.services import EXTENSION_KEY, Services
from server.suggest import routes as suggest_routes
from server.suggest import socket as suggest_socket
from server.web import errors, notify, openapi, pairing, security, sockets
from server.web.events import EventHub
from server.web.keystore import get_or_create_token

MAX_BODY = 64 * 1024


def create_app(config: Config | None = None) -> Flask:
    cfg = config or Config.from_env()
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    seed_packs(cfg)  # first start: the shipped packs are copied into the data folder, where the console edits
    app = Flask(__name__)
    token = get_or_create_token(cfg.data_dir)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY,
        JSON_SORT_KEYS=False,
        REPLYDESK=cfg,
        REPLYDESK_VERSION=__version__,
        REPLYDESK_TOKEN=token,
        TESTING=cfg.testing,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    svc = Services(config=cfg, hub=EventHub(), token=token,
                   packs=PackStore(cfg.packs_dir, good_dir=cfg.data_dir / "packs-last-good"))
    app.extensions[EXTENSION_KEY] = svc
    if cfg.database_url:  # a team server: the other processes' events reach this one's clients too
        notify.attach(svc)

    errors.register(app)
    security.register(app)
    sockets.register(app, svc)
    suggest_routes.init_app(app)
    queue_routes.init_app(app, svc)
    llm_engine.init_app(app, svc)
    admin.init_app(app, svc)
    demo.init_app(app)
    suggest_socket.init_app(svc)
    pairing.init_app(app, svc)
    openapi.init_app(app)
    triage.init_app(app, svc)

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"ok": True, "version": __version__})

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return app
