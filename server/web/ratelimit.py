"""Failed sign-ins per client address: after `max_failures` in `window` seconds, the address waits.

A team server is reachable from the network, so wrong bearer tokens and wrong console passwords are counted per
address in a sliding window. Only failures count (a successful request neither adds nor forgives), so an agent
typing the right token is never slowed by their own traffic. The counts live in memory, one limiter per app: each
worker process counts on its own and a restart forgives (enough to make guessing a 32-byte token or a passphrase
hopeless; the docs say so).
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque

from flask import Flask, current_app

EXTENSION_KEY = "replydesk.ratelimit"
MAX_FAILURES = 10
WINDOW_SECONDS = 60.0
MAX_KEYS = 10_000  # a flood of addresses must not grow memory without bound


class SlidingWindowLimiter:
    """Thread-safe: the server's threads (and gunicorn's threaded workers) share one instance per app."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_seconds: float = WINDOW_SECONDS) -> None:
        self.max_failures, self.window = max_failures, window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] >= self.window:
            q.popleft()
        return q

    def retry_after(self, key: str, now: float | None = None) -> float:
        """Seconds until `key` may try again; 0 when it may try now."""
        now = time.monotonic() if now is None else now
        with self._lock:
            q = self._recent(key, now)
            if len(q) < self.max_failures:
                if not q:
                    self._failures.pop(key, None)
                return 0.0
            # Blocked until enough of the failures have left the window to drop below the limit.
            return max(0.0, self.window - (now - q[len(q) - self.max_failures]))

    def failed(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._recent(key, now).append(now)
            if len(self._failures) > MAX_KEYS:
                self._failures = {k: v for k, v in self._failures.items() if v and now - v[-1] < self.window}


def retry_seconds(wait: float) -> int:
    """Whole seconds for Retry-After (never 0 while still blocked)."""
    return max(1, math.ceil(wait))


def attach(app: Flask) -> SlidingWindowLimiter:
    """One limiter per app (tests run several apps side by side in one process)."""
    limiter = app.extensions.get(EXTENSION_KEY)
    if limiter is None:
        limiter = app.extensions[EXTENSION_KEY] = SlidingWindowLimiter()
    return limiter


def limiter(app: Flask | None = None) -> SlidingWindowLimiter:
    return attach(app or current_app)  # type: ignore[arg-type]
