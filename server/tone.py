"""Tone check (placeholder until the full check lands)."""
from __future__ import annotations

from typing import Any


def check(text: str, platform: str, pack: Any = None, post: Any = None, analysis: Any = None) -> dict[str, Any]:
    return {"score": 100, "verdict": "ok", "labels": {}, "findings": [], "length": {"count": len(text),
                                                                                  "limit": 280}}
