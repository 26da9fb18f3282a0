"""Who may use the supervisor console: named supervisors with hashed passwords, separate from the agents' token.

Supervisors live in `<data_dir>/supervisors.json` (user-only file, written atomically) or, on a team server, in
the team database's `supervisors` table (every process and host signs in against one list), as salted
scrypt/pbkdf2 hashes from werkzeug; the server re-reads them at each sign-in, so `python -m server add-supervisor`
works while the server runs. Browser sessions are Flask's signed cookie with a secret kept in the OS keyring (or a
user-only file), and every form carries a per-session CSRF token. Failed sign-ins are rate-limited per address and name.
"""
from __future__ import annotations

import hmac
import json
import re
import secrets
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from werkzeug.security import check_password_hash, generate_password_hash

from server.store.database import Database
from server.web.keystore import _write_private, get_or_create_secret

USERS_FILE = "supervisors.json"
SECRET_FILE = "admin-session-secret"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
# A hash to check against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password", method="pbkdf2:sha256:1000")


class SupervisorError(ValueError):
    """A supervisor name or password that cannot be accepted."""


def users_path(data_dir: Path) -> Path:
    return Path(data_dir) / USERS_FILE


Home = Path | Database  # where the supervisors live: a data folder's file, or the team database


def home_of(svc: Any) -> Home:
    """Where this app's supervisors live: the team database on a team server, else the data folder."""
    if svc.config.team and svc.queue is not None:
        return svc.queue.store.db
    return svc.config.data_dir


def load_users(data_dir: Home) -> dict[str, dict[str, Any]]:
    if isinstance(data_dir, Database):
        with data_dir.read() as conn:
            return {r["name"]: dict(r) for r in conn.execute(
                text("SELECT name, hash, created, updated FROM supervisors")).mappings()}
    path = users_path(data_dir)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}
    users = raw.get("supervisors") if isinstance(raw, dict) else None
    return {k: v for k, v in (users or {}).items() if isinstance(v, dict) and isinstance(v.get("hash"), str)}


PASSWORD_RULE = f"at least {MIN_PASSWORD} and at most {MAX_PASSWORD} characters; a passphrase of a few words is best."


def check_name(name: str) -> None:
    if not NAME_RE.match(name or ""):
        raise SupervisorError("A supervisor name is 1-40 letters, digits, '.', '_' or '-', starting with a letter "
                              "or digit.")


def check_new(name: str, password: str) -> None:
    check_name(name)
    if len(password) < MIN_PASSWORD:
        raise SupervisorError(f"The password must be at least {MIN_PASSWORD} characters long.")
    if len(password) > MAX_PASSWORD:
        raise SupervisorError(f"The password must be at most {MAX_PASSWORD} characters long.")


def add_supervisor(data_dir: Home, name: str, password: str) -> bool:
    """Create or update a supervisor; returns True when the name is new."""
    check_new(name, password)
    if isinstance(data_dir, Database):
        return _add_to_database(data_dir, name, password)
    users = load_users(data_dir)
    is_new = name not in users
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entry = users.get(name, {"created": now})
    entry.update({"hash": generate_password_hash(password), "updated": now})
    users[name] = entry
    _write_private(users_path(data_dir), json.dumps({"supervisors": users}, indent=2, sort_keys=True) + "\n")
    return is_new


def _add_to_database(db: Database, name: str, password: str) -> bool:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with db.write() as conn:
        found = conn.execute(text(f"SELECT name FROM supervisors WHERE name = :n{db.for_update}"), {"n": name}).first()
        conn.execute(text("INSERT INTO supervisors (name, hash, created, updated) VALUES (:n, :h, :t, :t) "
                          "ON CONFLICT (name) DO UPDATE SET hash = excluded.hash, updated = excluded.updated"),
                     {"n": name, "h": generate_password_hash(password), "t": now})
    return found is None


def verify(data_dir: Home, name: str, password: str) -> bool:
    """True when the name exists and the password matches (constant work either way)."""
    if not isinstance(name, str) or not isinstance(password, str) or len(password) > MAX_PASSWORD:
        return False
    entry = load_users(data_dir).get(name)
    if entry is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(entry["hash"], password)


def session_secret(data_dir: Path) -> str:
    """The key that signs console cookies: the OS keyring, else a user-only file; created once per data folder."""
    return get_or_create_secret("admin-session-secret", data_dir, SECRET_FILE, 48)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


class LoginLimiter:
    """Counts failed sign-ins per key in a sliding window; in memory, per app (a restart forgives)."""

    def __init__(self, max_failures: int = 5, window_seconds: float = 300.0) -> None:
        self.max_failures, self.window = max_failures, window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def blocked_for(self, key: str, now: float | None = None) -> float:
        """Seconds until this key may try again (0 when it may try now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            q = self._prune(key, now)
            if len(q) < self.max_failures:
                return 0.0
            return max(0.0, self.window - (now - q[0]))

    def failed(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._prune(key, now).append(now)
            if len(self._failures) > 10_000:  # a flood of names must not grow memory without bound
                self._failures = {k: v for k, v in self._failures.items() if v}

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
