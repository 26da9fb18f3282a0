"""Offline playbook engine (placeholder until the full engine lands)."""
from __future__ import annotations

from typing import Any


def generate(post: dict[str, Any], analysis: dict[str, Any], pack: Any, options: dict[str, Any]) -> dict[str, Any]:
    name = analysis.get("name") or ("@" + (analysis.get("handle") or "there"))
    sig = options.get("signature") or pack.data["signature"].get("default", "")
    return {"reply": f"Hi {name}, I'm sorry about this. I'm looking into it now and will update you today. {sig}"}
