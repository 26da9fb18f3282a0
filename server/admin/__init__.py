"""The supervisor console at /admin: sign-in, pack editor with validation and preview, history, dashboard.

Server-rendered pages with a little plain JavaScript (line numbers, TOML highlighting, live checks); no build
step. Supervisors sign in with their own passwords (`python -m server add-supervisor`); the agents' Bearer token
grants nothing here, and the agent API has no way to write packs.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

from server.admin import auth
from server.admin.state import AdminState
from server.packs.history import PackHistory
from server.packs.history_db import DbPackHistory
from server.services import Services

SESSION_HOURS = 12


class ConsoleSessions(SecureCookieSessionInterface):
    """The console's signed cookie, marked Secure whenever the browser's request came over HTTPS (directly, or
    through REPLYDESK_TRUSTED_PROXIES proxies whose X-Forwarded-Proto ProxyFix has applied by then).

    A team server off loopback is only reached over HTTPS (server/web/security.py), so its cookie never leaves
    TLS; a desk on loopback over plain HTTP (`make run`), or a server told REPLYDESK_INSECURE_HTTP=1, keeps a
    plain cookie: a browser would not keep or send back a Secure one over plain HTTP."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


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
    # The console's cookie: never readable by scripts, never sent on cross-site requests, Secure over HTTPS.
    app.session_interface = ConsoleSessions()
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    if app.config.get("SESSION_COOKIE_NAME", "session") == "session":
        app.config["SESSION_COOKIE_NAME"] = "replydesk_admin"
    app.register_blueprint(bp)
