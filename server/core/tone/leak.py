"""Prompt leaks: a reply that repeats a run of the system prompt's words must never reach a customer.

Word n-grams rather than substrings, so punctuation, case and curly quotes cannot hide a copy; template
placeholders like {brand} break runs, so the raw and the formatted prompt both work.
"""
from __future__ import annotations

import re

_TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_PLACEHOLDER_RE = re.compile(r"\{[^{}]*\}")


def leak_span(text: str, secret_text: str, min_words: int) -> tuple[int, int] | None:
    """The span of `text` covered by runs of `min_words` consecutive words of `secret_text`, or None."""
    if not secret_text or min_words < 1:
        return None
    grams: set[tuple[str, ...]] = set()
    for chunk in _PLACEHOLDER_RE.split(secret_text.lower().replace("’", "'")):
        toks = _TOKEN_RE.findall(chunk)
        for i in range(len(toks) - min_words + 1):
            grams.add(tuple(toks[i:i + min_words]))
    if not grams:
        return None
    low = text.lower().replace("’", "'")
    toks = [(m.group(0), m.start(), m.end()) for m in _TOKEN_RE.finditer(low)] if len(low) == len(text) else [
        (m.group(0), m.start(), m.end()) for m in _TOKEN_RE.finditer(text.replace("’", "'"))]
    start: int | None = None
    end = 0
    for i in range(len(toks) - min_words + 1):
        if tuple(t[0].lower() for t in toks[i:i + min_words]) in grams:
            if start is None:
                start = toks[i][1]
            end = max(end, toks[i + min_words - 1][2])
    return (start, end) if start is not None else None


def echoes(text: str, secret_text: str, min_words: int = 8) -> bool:
    """True when `text` repeats `min_words` or more consecutive words of `secret_text` (e.g. the system prompt).

    Template placeholders like {brand} in the secret break runs, so a formatted or raw prompt both work.
    """
    return leak_span(text or "", secret_text or "", min_words) is not None

