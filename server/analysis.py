"""Post analysis (placeholder until the full analysis lands): intent, severity, name, entities."""
from __future__ import annotations

from typing import Any


def analyze(post: dict[str, Any], pack: Any) -> dict[str, Any]:
    name = (post.get("author") or {}).get("name") or ""
    return {"intent": "complaint", "severity": "normal", "sentiment": 0.0,
            "name": name.split()[0] if name else None, "handle": (post.get("author") or {}).get("handle"),
            "entities": {}}
