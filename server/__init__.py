"""Reply Desk's local server: suggested replies, tone checks and the response-time queue.

Importing the package loads nothing else: `server.core` (the pure logic) must stay importable without Flask.
The app factory is `server.app.create_app`.
"""
from __future__ import annotations

__version__ = "0.1.0"
