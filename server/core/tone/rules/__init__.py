"""Every tone rule, one small function each, registered with `@rule(id, severity, doc)` (see `registry.py`).

Importing this package registers them all. `MODULES` below is the order rules run in, which only
decides the order of findings that share a span (findings are sorted by span):

- `pack_phrases`: the pack's banned and required phrases.
- `hostile`: defensive, blaming, argumentative and sarcastic wording, insults.
- `shouting`: capitals and piles of ! or ?.
- `sentiment`: a draft that reads negative overall.
- `empathy`, `personal`, `usefulness`: what the customer's context asks for (acknowledgement, their name,
  an answer or next step rather than a deflection).
- `signature`: the agent's sign-off.
- `privacy`: asking for or showing private data.
- `context`: the draft against its post (thanks to a complaint, asks for what was given, deadlines, claims).
- `channel`: length, reading grade, links, emoji.
- `prompt_leak`: the LLM's system prompt repeated.
- `score`: rules that need the score (run last, by phase).
"""
from __future__ import annotations

from importlib import import_module

# The run order, as data rather than import statements (an import sorter must not be able to reorder rules).
MODULES: tuple[str, ...] = ("pack_phrases", "hostile", "shouting", "sentiment", "empathy", "personal", "usefulness",
                            "signature", "privacy", "context", "channel", "prompt_leak", "score")

for _module in MODULES:
    import_module(f"{__name__}.{_module}")
