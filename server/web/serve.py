"""The team server's HTTP front: gunicorn with threaded workers, one Flask app per worker process.

Why gunicorn: a team shares one server, and one Python process is one core; N worker processes use N cores
and survive each other's crashes (the master starts a new worker). Why "gthread" workers: flask-sock's
WebSockets need a real thread per connection, which gthread gives (each /ws holds one of its `threads` while
open); gthread's timeout watches the worker's main loop, not a request, so long-lived /ws connections are fine.

Each worker builds its app after the fork (no preload): stores, connection pools, the queue scheduler and the
event listener are per process, never shared across a fork. The master prepares what the workers would
otherwise race to create on a first start (the data folder, the seeded packs, the pairing token), and each
worker closes its services when it exits.
"""
from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from server.config import Config

TIMEOUT = 120  # seconds a worker's main loop may stay silent before the master replaces it
KEEPALIVE = 75  # seconds an idle HTTP/1.1 connection stays open (longer than common proxies' 60 s)
GRACEFUL_TIMEOUT = 10  # on shutdown, seconds for requests in flight (open /ws connections are cut after it)


def gunicorn_options(cfg: Config) -> dict[str, Any]:
    """The settings gunicorn runs with, for `cfg` (its workers, threads, address)."""
    return {
        "bind": [f"[{cfg.host}]:{cfg.port}" if ":" in cfg.host else f"{cfg.host}:{cfg.port}"],
        "workers": max(1, int(cfg.workers)),
        "threads": max(1, int(cfg.threads)),
        "worker_class": "gthread",
        "preload_app": False,
        "timeout": TIMEOUT,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        "keepalive": KEEPALIVE,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "replydesk",
        "worker_exit": _worker_exit,
    }


def _worker_exit(server: Any, worker: Any) -> None:
    """A worker stopping (shutdown, restart, max requests): stop its scheduler, listener and stores."""
    app = getattr(worker, "wsgi", None)
    if app is None or not hasattr(app, "extensions"):
        return
    from server.services import services

    services(app).close()


class TeamServer(BaseApplication):
    """gunicorn's application for Reply Desk: `load()` runs in each worker, after the fork."""

    def __init__(self, cfg: Config, options: dict[str, Any] | None = None) -> None:
        self.cfg_replydesk = cfg
        self.options = {**gunicorn_options(cfg), **(options or {})}
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        from server.app import create_app

        return create_app(self.cfg_replydesk)


def prepare(cfg: Config) -> None:
    """What every worker needs to exist before they start together (else each would create its own token)."""
    from server.packs.seed import seed_packs
    from server.web.keystore import get_or_create_token

    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    seed_packs(cfg)
    get_or_create_token(cfg.data_dir)


def serve(cfg: Config) -> None:
    """Run gunicorn in the foreground until it is stopped (SIGTERM / SIGINT)."""
    prepare(cfg)
    TeamServer(cfg).run()
