"""The supervisor console at /admin: sign-in, pack editor with validation and preview, history, dashboard.

Server-rendered pages with a little plain JavaScript (line numbers, TOML highlighting, live checks); no build
step. Supervisors sign in with their own passwords (`python -m server add-supervisor`); the agents' Bearer token
grants nothing here, and the agent API has no way to write packs.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask

from server.admin import auth
from server.admin.state import AdminState
from server.packs.history import PackHistory
from server.packs.history_db import DbPackHistory
from server.services import Services

SESSION_HOURS = 12


def init_app(app: Flask, svc: Services) -> None:
    from server.admin import dashboard, form_views, knowledge_views  # noqa: F401  (routes on the blueprint)
    from server.admin.views import bp

    cfg = svc.config
    # A team's history lives in the team database (every process sees every save); one agent's in files.
    history = DbPackHistory(svc.queue.store.db) if cfg.team and svc.queue is not None \
        else PackHistory(cfg.data_dir / "pack-history")
    svc.admin = AdminState(
        history=history,
        limiter=auth.LoginLimiter(max_failures=5, window_seconds=300),
        ip_limiter=auth.LoginLimiter(max_failures=30, window_seconds=300),
        session_max_age=timedelta(hours=SESSION_HOURS),
    )
    if not app.secret_key:
        app.secret_key = auth.session_secret(cfg.data_dir)
    # The console's cookie: never readable by scripts, never sent on cross-site requests.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    if app.config.get("SESSION_COOKIE_NAME", "session") == "session":
        app.config["SESSION_COOKIE_NAME"] = "replydesk_admin"
    app.register_blueprint(bp)
