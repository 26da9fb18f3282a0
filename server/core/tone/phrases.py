"""Patterns built from the pack: its banned and required phrases and its signature format.

Packs change rarely and drafts change on every keystroke, so each distinct phrase list or format is compiled once
(lru caches keyed by the pack's values) rather than per check.
"""
from __future__ import annotations

import re
from functools import lru_cache

from server.core.tone.rx import rx


@lru_cache(maxsize=64)
def phrase_re(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern for the pack's phrases: whole words, any whitespace between them, straight or curly quotes."""
    parts = []
    for p in phrases:
        p = p.strip().replace("’", "'")
        if not p:
            continue
        body = r"\s+".join(re.escape(w).replace("'", "['’]") for w in p.split())
        parts.append((r"\b" if p[0].isalnum() else "") + body + (r"\b" if p[-1].isalnum() else ""))
    return rx("|".join(f"(?:{p})" for p in parts)) if parts else None


@lru_cache(maxsize=32)
def signature_re(fmt: str, default: str) -> re.Pattern[str]:
    """A signature in the pack's format (e.g. "^{initials}") or its default one, at the end of a draft."""
    parts = re.split(r"(\{[a-z_]+\})", fmt)
    pat = ""
    for part in parts:
        if part == "{initials}":
            pat += r"[A-Z][A-Za-z]{0,3}"
        elif part in ("{name}", "{first_name}", "{agent}"):
            pat += r"[A-Z][a-z]+"
        elif part.startswith("{") and part.endswith("}"):
            pat += r"\S+"
        else:
            pat += r"\s*".join(re.escape(w) for w in part.split()) if part.strip() else r"\s*"
    alts = [pat] + ([re.escape(default.strip())] if default.strip() else [])
    return re.compile(r"(?:^|[\s.!?,;:)])(?:" + "|".join(alts) + r")\.?\s*$")
