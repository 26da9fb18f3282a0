"""Agents of a team: each has a name, initials and a token of their own, stored only as a SHA-256 hash.

The token is random (32 bytes), so a plain hash is enough (no password stretching is needed for a secret nobody
chose) and a lookup by hash is one index probe. Authentication results are cached for a few seconds per token
because every API call authenticates; a revocation therefore takes effect within `CACHE_SECONDS` on every process.
The single-agent pairing token keeps working: it is the desk's own agent (`cfg.agent_name`), a supervisor.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from server.core.errors import Conflict, Invalid, NotFound
from server.store.database import Database

CACHE_SECONDS = 5.0
NAME_RE = re.compile(r"^[^\W\d_][\w .'-]{0,39}$")
INITIALS_RE = re.compile(r"^[^\W\d_]{1,4}$")


@dataclass(frozen=True)
class Agent:
    """Who a request acts as: recorded with every write, shown to teammates ("Dana is replying")."""

    name: str
    initials: str = ""
    supervisor: bool = False


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256 (hex); the token itself is shown once and kept nowhere."""
    return hashlib.sha256(token.encode()).hexdigest()


class Agents:
    """The team's agents in the queue store's database (one table, so every server process sees the same)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[str, tuple[float, Agent | None]] = {}
        self._lock = threading.Lock()

    def add(self, name: str, initials: str = "", supervisor: bool = False) -> str:
        """Create an agent; returns their token (shown once, never stored)."""
        name = (name or "").strip()
        if not NAME_RE.match(name):
            raise Invalid("invalid_agent", "An agent's name is 1-40 letters, spaces, '.', '-' or \"'\", starting "
                                           "with a letter.")
        initials = (initials or "".join(w[0] for w in name.split()[:3])).upper()
        if not INITIALS_RE.match(initials):
            raise Invalid("invalid_initials", "Initials are 1-4 letters, such as KM.")
        token = secrets.token_urlsafe(32)
        fields = {"n": name, "i": initials, "h": token_hash(token), "s": int(supervisor), "t": time.time()}
        try:
            with self.db.write() as conn:
                # A revoked agent's row is reused (their history keeps their name): a new token, a fresh start.
                renewed = conn.execute(text("UPDATE agents SET initials = :i, token_hash = :h, supervisor = :s, "
                                            "created_at = :t, revoked_at = NULL "
                                            "WHERE name = :n AND revoked_at IS NOT NULL"), fields).rowcount
                if not renewed:
                    conn.execute(text("INSERT INTO agents (name, initials, token_hash, supervisor, created_at) "
                                      "VALUES (:n, :i, :h, :s, :t)"), fields)
        except IntegrityError:
            raise Conflict("agent_exists", f"There is already an agent named {name}; revoke-agent first to "
                                           "give them a new token.") from None
        return token

    def list(self) -> list[dict[str, Any]]:
        """Every agent, revoked ones included (revoked_at set), by name; never a token or its hash."""
        with self.db.read() as conn:
            return [dict(r) for r in conn.execute(text(
                "SELECT name, initials, supervisor, created_at, revoked_at FROM agents ORDER BY name")).mappings()]

    def revoke(self, name: str) -> None:
        """Revoke an agent's token at once on this process (the cache is dropped) and within `CACHE_SECONDS` on
        the others; the row stays, so add-agent with the same name issues them a new token."""
        with self.db.write() as conn:
            gone = conn.execute(text("UPDATE agents SET revoked_at = :t WHERE name = :n AND revoked_at IS NULL"),
                                {"n": name, "t": time.time()}).rowcount
        if not gone:
            raise NotFound("unknown_agent", f"There is no active agent named {name}.")
        with self._lock:
            self._cache.clear()

    def authenticate(self, token: str) -> Agent | None:
        """The active agent a token belongs to, or None (cached per token for `CACHE_SECONDS`, misses too)."""
        if not token:
            return None
        key = token_hash(token)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        with self.db.read() as conn:
            row = conn.execute(text("SELECT name, initials, supervisor FROM agents WHERE token_hash = :h "
                                    "AND revoked_at IS NULL"), {"h": key}).mappings().first()
        agent = Agent(row["name"], row["initials"] or "", bool(row["supervisor"])) if row else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now, agent)
        return agent


def current_agent() -> Agent:
    """Who the current request acts as: `g.agent` when the security layer set it, else the request's own bearer
    token (an agent's, or the pairing token: the desk's own agent, a supervisor). Outside a request, the desk.

    The security layer has already refused unknown tokens before any route runs, so the fallback is the desk."""
    from flask import current_app, g, has_app_context, has_request_context, request

    from server.services import services

    if not has_request_context():
        name = services().config.agent_name if has_app_context() else "agent"
        return Agent(name, "", supervisor=True)
    agent = g.get("agent")
    if isinstance(agent, Agent):
        return agent
    cfg = current_app.config["REPLYDESK"]
    header = request.headers.get("Authorization") or ""
    agents = getattr(services(), "agents", None)
    if header.startswith("Bearer ") and agents is not None:
        token = header[7:].strip()
        if not secrets.compare_digest(token.encode(), str(current_app.config.get("REPLYDESK_TOKEN", "")).encode()):
            found = agents.authenticate(token)
            if found is not None:
                return found
    return Agent(cfg.agent_name, "", supervisor=True)
