"""Overall sentiment: a reply can be polite word by word and still read hostile."""
from __future__ import annotations

from server.core.tone.draft import Draft
from server.core.tone.registry import Finding, finding, rule


@rule("negative_sentiment", "warn", "The draft reads negative or hostile overall (VADER), apart from its apologies.")
def negative_sentiment(d: Draft) -> list[Finding]:
    """One clearly hostile sentence, or a negative draft overall (a draft about a fix may name the problem, so it
    must be more negative before it counts); apology and empathy sentences are not scored."""
    s = d.sentiment
    if s.hostile_sentence or (s.overall <= (-0.65 if s.scored_action else -0.45) and len(d.sentences) > 1):
        return [finding("negative_sentiment", "This reads negative or hostile. Keep the wording positive and about "
                        "what you will do.", s.worst_span)]
    return []
