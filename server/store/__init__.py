"""The one store of every part of the state, over SQLite (one agent, embedded) or PostgreSQL (a team).

`Database` hides the differences that matter (how a write transaction takes its lock, index hints, row locks)
so that the queue, agents and claims write their SQL once, with SQLAlchemy Core and named parameters.
"""
from server.store.database import Database, StoreError, StoreUnavailable

__all__ = ["Database", "StoreError", "StoreUnavailable"]
