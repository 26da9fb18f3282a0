"""Secrets (the pairing token, the LLM API key) in the OS keyring, never in files or logs.

When no keyring backend is usable (a bare server, CI) the pairing token falls back to a file readable only by
the user, and we say so once on stderr. The LLM key has no file fallback: OPENAI_API_KEY covers containers.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import sys
from pathlib import Path

import keyring
from keyring.errors import KeyringError

SERVICE = "reply-desk"
TOKEN_FILE = "pairing-token"
_warned: set[str] = set()


def _account(kind: str, data_dir: Path) -> str:
    # One token per data folder, so two installs (or test servers) on one machine do not share it.
    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:16]
    return f"{kind}:{digest}"


def _warn(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        print(f"reply-desk: {message}", file=sys.stderr)


def keyring_get(account: str) -> str | None:
    try:
        return keyring.get_password(SERVICE, account)
    except (KeyringError, RuntimeError) as exc:  # NoKeyringError and backend failures
        _warn(f"no usable OS keyring ({type(exc).__name__}); using the fallback")
        return None


def keyring_set(account: str, value: str) -> bool:
    try:
        keyring.set_password(SERVICE, account, value)
        return True
    except (KeyringError, RuntimeError) as exc:
        _warn(f"no usable OS keyring ({type(exc).__name__}); using the fallback")
        return False


def keyring_delete(account: str) -> None:
    try:
        keyring.delete_password(SERVICE, account)
    except (KeyringError, RuntimeError):
        pass


def _write_private(path: Path, value: str) -> None:
    """Atomically write a file only the user can read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def get_or_create_secret(kind: str, data_dir: Path, file_name: str, nbytes: int = 32) -> str:
    """A random secret for this data folder, created on first use: in the OS keyring, else in a user-only file.

    First writer wins, so a server and `python -m server token` started together agree on the same value."""
    account = _account(kind, data_dir)
    value = keyring_get(account)
    if value:
        return value
    path = Path(data_dir) / file_name
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    value = secrets.token_urlsafe(nbytes)
    if keyring_set(account, value) and keyring_get(account) == value:
        return value
    _warn(f"the {kind.replace('-', ' ')} is kept in a file readable only by you: {path.name} in the data folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
            fh.flush()
            os.fsync(fh.fileno())
    except FileExistsError:
        return path.read_text().strip() or value
    return value


def get_or_create_token(data_dir: Path) -> str:
    """The pairing token for this data folder, created on first use."""
    return get_or_create_secret("pairing-token", data_dir, TOKEN_FILE)


def token_storage(data_dir: Path) -> str:
    """Where the token lives, for `python -m server config`."""
    if keyring_get(_account("pairing-token", data_dir)):
        return "OS keyring"
    if (Path(data_dir) / TOKEN_FILE).exists():
        return "user-only file in the data folder"
    return "not created yet"


def get_api_key(data_dir: Path | None = None) -> str | None:
    """The LLM API key: keyring first, then OPENAI_API_KEY (for CI and containers)."""
    key = keyring_get("llm-api-key")
    return key or os.environ.get("OPENAI_API_KEY") or None


def set_api_key(value: str) -> bool:
    return keyring_set("llm-api-key", value)


__all__ = ["get_or_create_secret", "get_or_create_token", "token_storage", "get_api_key", "set_api_key",
           "keyring_get", "keyring_set", "keyring_delete", "_write_private"]
