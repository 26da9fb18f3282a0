"""Channel fit: what the channel and the pack allow (length, reading grade, links, emoji)."""
from __future__ import annotations

from server.core.tone.draft import Draft
from server.core.tone.readability import readability_grade, readability_tolerance
from server.core.tone.registry import Finding, finding, rule
from server.core.tone.rewrite import replace_span
from server.core.tone.text import domain_allowed, host, plain_for_readability, words


@rule("length_over_limit", "block", "Longer than the channel allows.")
def length_over_limit(d: Draft) -> list[Finding]:
    """Counted the channel's way (X's weighted count); the span starts where the count passes the limit."""
    length = d.length
    if length.count <= length.limit:
        return []
    where = "X" if d.platform == "x" else d.platform
    return [finding("length_over_limit", f"{length.count} characters: {length.count - length.limit} over the "
                    f"{where} limit of {length.limit}.", (length.over_at, d.n), None)]


@rule("length_over_recommended", "info", "Longer than the pack recommends for the channel.")
def length_over_recommended(d: Draft) -> list[Finding]:
    """Within the limit but over the pack's recommendation (over the limit, length_over_limit says it all)."""
    length, rec = d.length, d.channel.recommended
    if length.count > length.limit or not rec or length.count <= int(rec):
        return []
    rec = int(rec)
    return [finding("length_over_recommended", f"{length.count} characters; the pack recommends at most {rec} on "
                    f"{d.platform}.", (min(rec, d.n), d.n))]


@rule("readability", "warn", "Harder to read than the pack's target grade.")
def readability(d: Draft) -> list[Finding]:
    """Flesch-Kincaid on the prose (no links, handles or signature), from 12 words, with a tolerance for short
    drafts: a single sentence swings the formula by a grade or two."""
    max_grade = d.channel.readability_max_grade
    if not max_grade:
        return []
    plain = plain_for_readability(d.text, d.url_spans)
    nwords = len(words(plain))
    if nwords < 12:
        return []
    grade = readability_grade(plain)
    if grade <= float(max_grade) + readability_tolerance(nwords):
        return []
    return [finding("readability", f"Reads at school grade {grade:.1f}; the pack's target is {float(max_grade):g} "
                    "or below. Use shorter sentences and plainer words.", (0, d.end))]


@rule("url_not_allowed", "block", "A link to a domain outside the pack's tone.allowed_domains.")
def url_not_allowed(d: Draft) -> list[Finding]:
    """Only when the pack lists allowed domains (subdomains of one are allowed too)."""
    allowed = d.pack.tone.allowed_domains
    if not allowed:
        return []
    out = []
    for m in d.urls:
        h = host(m.group(0))
        if not domain_allowed(h, allowed):
            out.append(finding("url_not_allowed", f"Links to {h} are not allowed by the pack (allowed: "
                               f"{', '.join(allowed)}).", m.span(), replace_span(d.text, m.span(), "")))
    return out


@rule("emoji_not_allowed", "info", "The pack's voice does not use emoji.")
def emoji_not_allowed(d: Draft) -> list[Finding]:
    """Only when the pack says `emoji: false`; the span is the first emoji."""
    if d.pack.emoji is not False or not d.emojis:
        return []
    return [finding("emoji_not_allowed", "The pack's voice does not use emoji.", min(d.emojis.items()))]
