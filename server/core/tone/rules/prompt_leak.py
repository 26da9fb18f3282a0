"""Prompt leaks: with the LLM guard's system prompt in hand, a reply that repeats it is blocked."""
from __future__ import annotations

from server.core.tone.draft import Draft
from server.core.tone.leak import leak_span
from server.core.tone.registry import Finding, finding, rule


@rule("prompt_leak", "block", "The draft repeats the system prompt.")
def prompt_leak(d: Draft) -> list[Finding]:
    """Eight or more consecutive words of the system prompt: enough to rule out common phrases."""
    if not d.system_prompt:
        return []
    leak = leak_span(d.text, d.system_prompt, 8)
    if leak is None:
        return []
    return [finding("prompt_leak", "The reply repeats the system prompt; it must never reach a customer.", leak,
                    None)]
