"""Domain errors: plain exceptions that say what went wrong in the customer's terms, with no HTTP in them.

The web layer maps each kind to a status in one table (`server.web.errors.STATUS`); the WebSocket layer sends
the same `code` and `message` as an "error" event. Domain code never picks a status code.
"""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request the domain refuses: `code` is machine-readable, `message` is for a person."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.extra = code, message, extra


class Invalid(DomainError, ValueError):
    """The input is malformed or breaks a rule (a missing field, a time in the future)."""


class TooLarge(Invalid):
    """The input is well-formed but longer than the product accepts (a 10,001-character post)."""


class NotFound(DomainError, LookupError):
    """The thing asked for does not exist (a queue item, a pack)."""


class Conflict(DomainError):
    """The request contradicts the current state (dismissing a replied post)."""


class Unavailable(DomainError):
    """A part the request needs is down for now (the database); trying again later may work."""


class Forbidden(DomainError):
    """The caller may not do this (taking over another agent's claim needs a supervisor)."""
