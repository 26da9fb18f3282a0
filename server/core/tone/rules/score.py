"""The score floor: a pack can ask for drafts that read well overall, not just free of findings."""
from __future__ import annotations

from server.core.tone.draft import Draft
from server.core.tone.registry import Finding, Scored, finding, rule


@rule("low_score", "warn", "The overall tone score is below the pack's minimum.", phase="scored")
def low_score(d: Draft, scored: Scored) -> list[Finding]:
    """Runs after scoring (the score cannot count it); quiet when a blocking finding already says more."""
    min_score = d.pack.tone.min_score
    if min_score is None or scored.score >= float(min_score):
        return []
    if any(f["severity"] == "block" for f in scored.findings):
        return []
    return [finding("low_score", f"Tone score {scored.score} is below the pack's minimum of {min_score:g}.",
                    (0, d.end))]
