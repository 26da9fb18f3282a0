"""The typed services object: every long-lived part of one app, created by `create_app`, closed by one `close()`.

It lives at `app.extensions["replydesk"]`; code reaches it with `services()` (inside a request or app context)
or `services(app)`. A typed object rather than a string-keyed dict so that a missing part is an attribute error
at the line that asks for it, and so that shutdown has one owner: parts register their closers with `on_close`,
and `close()` runs them once, newest first.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from server.admin.state import AdminState
    from server.config import Config
    from server.llm.engine import OpenAIEngine
    from server.packs.store import PackStore
    from server.queue.service import QueueService
    from server.team.agents import Agents
    from server.web.events import EventHub
    from server.web.pairing import Pairings
    from server.web.sockets import Handler, Session

EXTENSION_KEY = "replydesk"
log = logging.getLogger(__name__)

AfterSuggest = Callable[[dict[str, Any], Any, dict[str, Any]], None]


@dataclass
class Services:
    config: Config
    packs: PackStore
    hub: EventHub
    token: str
    queue: QueueService | None = None
    llm: OpenAIEngine | None = None
    engine_name: str = "playbook"
    pairings: Pairings | None = None
    admin: AdminState | None = None
    agents: Agents | None = None
    ws_handlers: dict[str, Handler] = field(default_factory=dict)
    ws_connect_hooks: list[Callable[[Session], None]] = field(default_factory=list)
    after_suggest: list[AfterSuggest] = field(default_factory=list)
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _closed: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on_close(self, closer: Callable[[], None]) -> None:
        """Run `closer` when the app shuts down (after every closer registered later)."""
        self._closers.append(closer)

    def close(self) -> None:
        """Stop schedulers, close stores and clients; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            closers, self._closers = self._closers[::-1], []
        for closer in closers:
            try:
                closer()
            except Exception:  # one part failing to close must not keep the others open
                log.exception("closing a service failed")


def services(app: Flask | None = None) -> Services:
    """The app's services (the current app's when none is given)."""
    target = app if app is not None else current_app
    return target.extensions[EXTENSION_KEY]
