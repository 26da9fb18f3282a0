"""Shared text helpers of the analysis: the pattern constructor and the post text the keyword rules read.

The keyword rules must not fire on a brand's @handle or inside a link, so every part cleans the text the same way.
"""
from __future__ import annotations

import re


def rx(pattern: str) -> re.Pattern[str]:
    """A case-insensitive pattern: every cue list is written in lower case and matched regardless."""
    return re.compile(pattern, re.IGNORECASE)


URL_RE = rx(r"\b(?:https?://[^\s]+|(?:[a-z0-9-]+\.)+(?:com|net|org|io|ly|co|uk|example|gd|at|me|app)/?[^\s]*)")
MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{1,30})")


def clean(text: str, handles: set[str]) -> tuple[str, int, int]:
    """Text without @mentions and URLs for the keyword rules; plus the count of brand and all mentions."""
    brand_mentions = 0
    mentions = 0
    for m in MENTION_RE.finditer(text):
        mentions += 1
        if m.group(1).lower() in handles:
            brand_mentions += 1
    cleaned = MENTION_RE.sub(" ", text)
    cleaned = URL_RE.sub(lambda m: " " + m.group(0) + " ", cleaned)
    cleaned = cleaned.replace("’", "'")
    return re.sub(r"\s+", " ", cleaned).strip(), brand_mentions, mentions

