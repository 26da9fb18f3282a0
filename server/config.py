"""Settings in force, from defaults, environment variables and CLI flags (in that order of precedence).

One immutable object is handed to `create_app`, so tests can run several servers side by side in one process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

APP_NAME = "reply-desk"
REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_PACKS = REPO_ROOT / "prompts"  # the packs that ship with Reply Desk: read-only for the server
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8765
    data_dir: Path = field(default_factory=default_data_dir)
    # None: `<data_dir>/packs`, seeded from the repository's `prompts/` (the shipped default, which the server
    # never writes) on first start. An explicit folder (flag, env, tests) is used as it is, as before.
    packs_dir: Path = None  # type: ignore[assignment]
    seed_packs_from: Path | None = None
    default_pack: str = "default"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_timeout: float = 20.0
    # Extra Host header names accepted besides loopback (only when an admin binds elsewhere on purpose).
    allowed_hosts: tuple[str, ...] = ()
    # Seconds between scheduler ticks that turn waiting posts into due_soon/overdue events.
    scheduler_interval: float = 1.0
    testing: bool = False
    # Team mode (issue 16). None: the embedded SQLite file in the data folder (`make run`); a
    # postgresql:// URL puts every part of the state in that database, shared by every server process.
    database_url: str | None = None
    # Worker processes of the team server (gunicorn, threaded workers); 0 serves with Werkzeug in-process.
    workers: int = 0
    # Each open /ws holds a thread for as long as it is open (an agent's extension and tray: two), so a worker
    # needs its WebSockets plus room for calls; gunicorn starts threads only as connections need them.
    threads: int = 128
    # Off loopback the server wants TLS in front of it (X-Forwarded-Proto: https from a reverse proxy);
    # plain HTTP there is refused unless this is set on purpose.
    insecure_http: bool = False
    # How many reverse proxies sit in front of the server (their X-Forwarded-* headers are trusted).
    trusted_proxies: int = 0
    # A claim lapses when its holder has shown no activity on the post for this long.
    claim_idle_seconds: float = 120.0
    # Who the single-agent pairing token writes as (agents added with add-agent have their own names).
    agent_name: str = "agent"

    def __post_init__(self) -> None:
        if self.packs_dir is None:
            object.__setattr__(self, "packs_dir", Path(self.data_dir) / "packs")
            if self.seed_packs_from is None:
                object.__setattr__(self, "seed_packs_from", SHIPPED_PACKS)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Config:
        """Build settings from REPLYDESK_* variables; keyword overrides (CLI flags) win when not None."""
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        if env.get("REPLYDESK_HOST"):
            values["host"] = env["REPLYDESK_HOST"]
        if env.get("REPLYDESK_PORT"):
            values["port"] = int(env["REPLYDESK_PORT"])
        if env.get("REPLYDESK_DATA_DIR"):
            values["data_dir"] = Path(env["REPLYDESK_DATA_DIR"])
        if env.get("REPLYDESK_PACKS_DIR"):
            values["packs_dir"] = Path(env["REPLYDESK_PACKS_DIR"])
        if env.get("REPLYDESK_DEFAULT_PACK"):
            values["default_pack"] = env["REPLYDESK_DEFAULT_PACK"]
        if env.get("REPLYDESK_LLM_BASE_URL"):
            values["llm_base_url"] = env["REPLYDESK_LLM_BASE_URL"]
        if env.get("REPLYDESK_LLM_MODEL"):
            values["llm_model"] = env["REPLYDESK_LLM_MODEL"]
        if env.get("REPLYDESK_LLM_TIMEOUT"):
            values["llm_timeout"] = float(env["REPLYDESK_LLM_TIMEOUT"])
        if env.get("REPLYDESK_ALLOWED_HOSTS"):
            values["allowed_hosts"] = tuple(h.strip() for h in env["REPLYDESK_ALLOWED_HOSTS"].split(",") if h.strip())
        if env.get("REPLYDESK_DATABASE_URL"):
            values["database_url"] = env["REPLYDESK_DATABASE_URL"]
        if env.get("REPLYDESK_WORKERS"):
            values["workers"] = int(env["REPLYDESK_WORKERS"])
        if env.get("REPLYDESK_THREADS"):
            values["threads"] = int(env["REPLYDESK_THREADS"])
        if env.get("REPLYDESK_INSECURE_HTTP"):
            values["insecure_http"] = env["REPLYDESK_INSECURE_HTTP"].strip().lower() in ("1", "true", "yes", "on")
        if env.get("REPLYDESK_TRUSTED_PROXIES"):
            values["trusted_proxies"] = int(env["REPLYDESK_TRUSTED_PROXIES"])
        if env.get("REPLYDESK_CLAIM_IDLE_SECONDS"):
            values["claim_idle_seconds"] = float(env["REPLYDESK_CLAIM_IDLE_SECONDS"])
        if env.get("REPLYDESK_AGENT_NAME"):
            values["agent_name"] = env["REPLYDESK_AGENT_NAME"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("data_dir", "packs_dir"):
            if key in values:
                values[key] = Path(values[key]).expanduser().resolve()  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> Config:
        if "data_dir" in changes and "packs_dir" not in changes and self.seed_packs_from is not None:
            changes["packs_dir"] = None  # the default packs folder follows the data folder
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def db_path(self) -> Path:
        return self.data_dir / "replydesk.sqlite3"

    @property
    def team(self) -> bool:
        """A team server: state in PostgreSQL, shared by several processes and agents."""
        return bool(self.database_url)

    @property
    def database(self) -> str:
        """The store's address: the team database's URL, or the embedded SQLite file's."""
        return self.database_url or f"sqlite:///{self.db_path}"
