"""The pack's own phrase rules: supervisors ban and require wording in `tone.*` without a code change."""
from __future__ import annotations

from server.core.tone.draft import Draft
from server.core.tone.lexicon import lexicon_suggestion
from server.core.tone.phrases import phrase_re
from server.core.tone.registry import Finding, finding, rule
from server.core.tone.rewrite import add_before_signature, replace_span


@rule("banned_phrase", "block", "A phrase the pack bans (tone.banned_phrases).")
def banned_phrase(d: Draft) -> list[Finding]:
    """Every banned phrase in the draft; the rewrite borrows the lexicons' suggestion when one covers it."""
    return [finding("banned_phrase", f"'{d.text[m.start():m.end()]}' is banned by the {d.pack.name} pack's tone "
                    "rules. Remove or rephrase it.", m.span(),
                    replace_span(d.text, m.span(), lexicon_suggestion(m.group(0))))
            for m in d.banned]


@rule("required_phrase", "warn", "A phrase the pack requires (tone.required_phrases) is missing.")
def required_phrase(d: Draft) -> list[Finding]:
    """Each required phrase the draft lacks, offered at the end (before the signature)."""
    out = []
    for phrase in d.pack.tone.required_phrases:
        rx = phrase_re((phrase,))
        if rx is not None and not rx.search(d.flat):
            out.append(finding("required_phrase", f"The pack requires the phrase '{phrase}'.", (d.end, d.end),
                               add_before_signature(d.text, phrase)))
    return out
