"""Text helpers the features and rules share: sentences, words, spans, phone and card numbers, link hosts.

Kept apart from the rules so a feature computed once (in `draft.py`) and a rule that needs the same reading of
the text can never disagree about where a sentence ends or what counts as a phone number.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from server.core.tone.patterns import (
    ACK_RE,
    HANDLE_RE,
    PHONE_RE,
    PLEASANTRY_RE,
    REFERENCE_BEFORE_RE,
    SENTENCE_RE,
    SIGNATURE_RE,
    STOPWORDS,
    URL_RE,
    WORD_RE,
)

Span = tuple[int, int]


def words(text: str) -> list[str]:
    return WORD_RE.findall(text)


def sentences(text: str) -> list[Span]:
    """Sentence spans with surrounding whitespace trimmed (a "." inside a URL does not end one)."""
    out = []
    for m in SENTENCE_RE.finditer(text):
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def overlaps(span: Span, spans: Iterable[Span]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in spans)


def digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def luhn(num: str) -> bool:
    """The card-number checksum: tells a card number from any other long run of digits."""
    total, alt = 0, False
    for ch in reversed(num):
        d = ord(ch) - 48
        if alt:
            d *= 2
            if d > 9:
                d -= 9
        total += d
        alt = not alt
    return total % 10 == 0


def phones(text: str) -> list[re.Match[str]]:
    """Phone-number-like runs: 10+ digits, or 7+ digits written with separators; not an order or case reference,
    and not a card number (that is its own finding)."""
    out = []
    for m in PHONE_RE.finditer(text):
        raw = m.group(0).strip()
        d = digits(raw)
        if len(d) < 7 or (len(d) < 10 and raw.isdigit()) or len(d) > 15:
            continue
        if REFERENCE_BEFORE_RE.search(text, max(0, m.start() - 14), m.start()):
            continue
        if 13 <= len(d) <= 19 and luhn(d):
            continue
        out.append(m)
    return out


def host(url: str) -> str:
    u = re.sub(r"^[a-z]+://", "", url, flags=re.IGNORECASE)
    return re.split(r"[/?#:]", u, maxsplit=1)[0]


def domain_allowed(host_name: str, allowed: Iterable[str]) -> bool:
    """Whether `host_name` is one of the `allowed` domains or a subdomain of one (www. ignored)."""
    h = host_name.lower().rstrip(".")
    if h.startswith("www."):
        h = h[4:]
    return any(h == d or h.endswith("." + d) for d in (a.lower().lstrip(".") for a in allowed))


def has_substance(t: str, spans: list[Span], name: str | None, handle: str | None) -> bool:
    """Whether some sentence says something beyond greetings, thanks, apologies and empathy: an answer."""
    for s, e in spans:
        chunk = SIGNATURE_RE.sub("", t[s:e]) if e == len(t.rstrip()) else t[s:e]
        chunk = ACK_RE.sub(" ", PLEASANTRY_RE.sub(" ", URL_RE.sub(" ", HANDLE_RE.sub(" ", chunk))))
        found = [w.lower() for w in WORD_RE.findall(chunk)]
        left = [w for w in found if w not in STOPWORDS and w != (name or "").lower() and w != (handle or "").lower()]
        if len(left) >= 2:
            return True
    return False


def plain_for_readability(text: str, url_spans: list[Span]) -> str:
    """The draft without links, @handles and the signature: none of them is prose a grade formula should score."""
    out = text
    for s, e in sorted(url_spans, reverse=True):
        out = out[:s] + out[e:]
    out = HANDLE_RE.sub("", out)
    out = SIGNATURE_RE.sub("", out.rstrip())
    return out
