"""Rewrites for the "apply" button: every suggestion is the whole draft with one fix, tidied.

The extension replaces the draft with a suggestion as is, so these keep the draft's own words and signature and
only touch the part the finding is about.
"""
from __future__ import annotations

import re

from server.core.tone.rx import rx


def replace_span(text: str, span: tuple[int, int], replacement: str | None, tidy: bool = True) -> str | None:
    """The whole draft with `span` replaced, tidied (spaces, a leading comma, sentence case): suggestions are
    always complete drafts, so the extension can offer "apply" without stitching text itself."""
    if replacement is None:
        return None
    s, e = span
    out = text[:s] + replacement + text[e:]
    if not tidy:
        return out
    out = re.sub(r"\s{2,}", " ", out)
    out = re.sub(r"\s+([,.!?;:])", r"\1", out)
    out = re.sub(r"(^|[.!?]\s+)[,;:]\s*", r"\1", out.strip())
    return re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), out)


def sentence_case(s: str) -> str:
    """`s` in sentence case (a shouted stretch calmed down), keeping "I" capital."""
    low = re.sub(r"\bi\b", "I", s.lower())
    return re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), low)


SIG_TAIL_RE = re.compile(r"\s*(?:\^\s?[A-Z][A-Za-z]{0,3}|[-–—~/]\s?[A-Z][A-Za-z]{0,15}(?: [A-Z][A-Za-z]*)?)\.?\s*$")
GREETING_RE = rx(r"^\s*(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening))(?: there)?\b[,!]?\s*")


def add_before_signature(text: str, addition: str) -> str:
    """The draft with a sentence added at the end, before the agent's signature if there is one."""
    body = text.rstrip()
    m = SIG_TAIL_RE.search(body)
    head, tail = (body[:m.start()], body[m.start():]) if m else (body, "")
    head = head.rstrip()
    sep = " " if not head or head[-1] in ".!?" else ". "
    return (head + sep + addition if head else addition) + tail


def add_at_start(text: str, sentence: str, name: str | None) -> str:
    """The draft opening with `sentence` (after the customer's name when the draft starts with it)."""
    body = text.lstrip()
    if name and body.lower().startswith(name.lower()):
        rest = body[len(name):].lstrip(" ,")
    else:
        rest = body
    rest = rest[:1].upper() + rest[1:]
    return f"{(name + ', ') if name else ''}{sentence} {rest}".rstrip()


def add_name(text: str, who: str) -> str:
    """The draft addressing the customer: after a greeting ("Hi Kate,"), else in front ("Kate, ...")."""
    m = GREETING_RE.match(text)
    if m:
        greeting = re.sub(r"(?i)\s*there\b", "", m.group(0).rstrip(" ,!"))
        return f"{greeting} {who}, {text[m.end():]}"
    body = text.lstrip()
    if body[:1].isupper() and not re.match(r"I\b|I'", body):
        body = body[0].lower() + body[1:]
    return f"{who}, {body}"

