"""The check as a pipeline: features once, every rule over them, then labels, score, scored rules, verdict."""
from __future__ import annotations

from typing import Any

import server.core.tone.rules  # noqa: F401  (registers every rule)
import server.core.tone.scoring as scoring
from server.core.tone.draft import Draft
from server.core.tone.registry import Finding, Scored, all_rules

_DRAFT_RULES = tuple(r.fn for r in all_rules() if r.phase == "draft")
_SCORED_RULES = tuple(r.fn for r in all_rules() if r.phase == "scored")


def check(text: str, platform: str, pack: Any = None, post: Any = None, analysis: Any = None, *,
          system_prompt: str | None = None) -> dict[str, Any]:
    """The ToneReport of docs/DESIGN.md for a draft reply on `platform` ("x" or "facebook").

    `pack` (a Pack, its data dict, or a partial dict) supplies the supervisor's rules; `post` and `analysis` the
    customer context; `system_prompt` (the LLM guard's) turns on the prompt-leak rule.
    """
    draft = Draft(text, platform, pack, post, analysis, system_prompt)
    findings: list[Finding] = []
    for fn in _DRAFT_RULES:
        findings.extend(fn(draft))
    labels = scoring.labels(draft, findings)
    score = scoring.score(findings, labels)
    scored = Scored(score, list(findings))
    for fn in _SCORED_RULES:
        findings.extend(fn(draft, scored))
    findings.sort(key=lambda f: (f["span"][0], f["span"][1]))
    return {"score": score, "verdict": scoring.verdict(findings), "labels": labels, "findings": findings,
            "length": {"count": draft.length.count, "limit": draft.length.limit}}
