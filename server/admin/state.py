"""What the console keeps per app: pack history, sign-in rate limits, the save lock, the session lifetime."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

from server.admin.auth import LoginLimiter
from server.packs.history import PackHistory


@dataclass
class AdminState:
    history: PackHistory
    limiter: LoginLimiter
    ip_limiter: LoginLimiter
    session_max_age: timedelta
    # check-the-base-version-then-write must not interleave between two supervisors' saves
    save_lock: threading.Lock = field(default_factory=threading.Lock)
