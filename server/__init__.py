"""Reply Desk's local server: suggested replies, tone checks and the response-time queue."""
from __future__ import annotations

__version__ = "0.1.0"

from server.app import create_app  # noqa: E402

__all__ = ["create_app", "__version__"]
