"""Team mode's people: agents with tokens of their own (agents.py) and claims on posts (server/queue/claims.py)."""
