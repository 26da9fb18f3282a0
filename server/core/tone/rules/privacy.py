"""Privacy: secrets are never asked for (not even in a private message); personal details only in private; a
public reply never shows or repeats private data."""
from __future__ import annotations

import re

from server.core.tone.draft import Draft
from server.core.tone.patterns import (
    ACCOUNT_NO_RE,
    ASK_RE,
    CARD_RE,
    DM_RE,
    EMAIL_RE,
    NEGATION_RE,
    OWNER_RE,
    PERSONAL_RE,
    PUBLIC_RE,
    SECRET_RE,
    STREET_RE,
)
from server.core.tone.registry import Finding, finding, rule
from server.core.tone.rewrite import replace_span
from server.core.tone.text import Span, digits, domain_allowed, luhn, phones


def _dm_phrase(d: Draft) -> str:
    return d.channel.dm_phrase or ("send us a DM" if d.platform == "x" else "send us a private message")


# "Please delete this post, as it shows your card details": asking to remove what the customer exposed is the
# right reply, not a request for it.
REMOVAL_RE = re.compile(r"\b(?:delete|remove|take down|hide|edit|borra|elimina|supprime[zr]?|retire[zr]?)\b"
                        r"[^.?!]{0,60}?\b(?:post|tweet|comment|message|reply|publicación|mensaje|commentaire)\b",
                        re.I)
SHOWS_RE = re.compile(r"\b(?:shows?|showing|contains?|includes?|has|with|reveals?|muestra|contiene|montre|contient)\b"
                      r"[^.?!]{0,40}$", re.I)


def _shown(sent: str, at: int) -> bool:
    """Whether the item at `at` is what a removal request says the post shows (not something asked for)."""
    removal = REMOVAL_RE.search(sent, 0, at)
    return removal is not None and SHOWS_RE.search(sent, removal.end(), at) is not None


def _asks(sent: str) -> list[tuple[str, re.Match[str], re.Match[str]]]:
    """(kind, the ask, the item asked for) in one sentence: "secret" anywhere, "personal" only in public.

    An item counts when it follows an ask within 90 characters, belongs to the customer ("your", "the") and is
    not negated ("never send your password").
    """
    public = not DM_RE.search(sent) or bool(PUBLIC_RE.search(sent))
    seen: set[int] = set()
    out = []
    for ask in ASK_RE.finditer(sent):
        window_end = min(len(sent), ask.end() + 90)
        for kind, item_re in (("secret", SECRET_RE), ("personal", PERSONAL_RE)):
            if kind == "personal" and not public:
                continue
            for m in item_re.finditer(sent, ask.end(), window_end):
                if m.start() in seen or not OWNER_RE.search(sent, ask.start(), m.start()):
                    continue
                if NEGATION_RE.search(sent, 0, m.start()) or _shown(sent, m.start()):
                    continue
                if kind == "personal" and SECRET_RE.match(sent, m.start()):
                    continue
                seen.add(m.start())
                out.append((kind, ask, m))
    return out


@rule("private_data_request", "block",
      "Asks for private data in public, or for secrets (password, card number) at all.")
def private_data_request(d: Draft) -> list[Finding]:
    text, dm = d.text, _dm_phrase(d)
    out = []
    for s, e in d.sentences:
        for kind, ask, m in _asks(d.flat[s:e]):
            item = m.group(0).lower()
            span = (s + ask.start(), s + m.end())
            if kind == "secret":
                out.append(finding(
                    "private_data_request", f"Never ask for a {item}, not even in a private message: it is a "
                    "security risk and customers are taught to treat it as a scam.", span,
                    replace_span(text, (s, e), f"Please don't share your {item} with anyone, including us. "
                                 f"{dm[0].upper() + dm[1:]} and I'll help securely.")))
            else:
                out.append(finding(
                    "private_data_request", f"Asking for their {item} in public exposes it to everyone. Move this "
                    "to a private message.", span, replace_span(text, (s, e), f"Could you {dm} with your {item}?")))
    return out


def _street(s: str) -> str:
    return re.sub(r"\W+", " ", s.lower()).strip()


def _repeated(d: Draft) -> list[tuple[Span, str, str]]:
    """The customer's own phone numbers and addresses (from their post) that the draft repeats."""
    post_text = d.customer.post_text
    if not post_text:
        return []
    out = []
    post_phones = {digits(p.group(0)) for p in phones(post_text)}
    for m in d.phones:
        if digits(m.group(0)) in post_phones:
            out.append((m.span(), "This repeats the customer's phone number in public.", "your number"))
    post_streets = {_street(a.group(0)) for a in STREET_RE.finditer(post_text)}
    for m in STREET_RE.finditer(d.flat):
        if _street(m.group(0)) in post_streets:
            out.append((m.span(), "This repeats the customer's address in public.", "your address"))
    return out


@rule("private_data_exposed", "block",
      "Repeats or shows private data (email, phone, card, address, account number).")
def private_data_exposed(d: Draft) -> list[Finding]:
    """Emails (not the brand's own allowed domains), card numbers (Luhn-valid), account numbers, and the
    customer's phone or address repeated from their post."""
    text, t = d.text, d.flat
    hits: list[tuple[Span, str, str]] = []
    allowed = d.pack.tone.allowed_domains
    for m in EMAIL_RE.finditer(t):
        if allowed and domain_allowed(m.group(0).rsplit("@", 1)[1], allowed):
            continue
        hits.append((m.span(), "An email address in a public reply exposes it. Remove it and move the conversation "
                     "to a private message.", "your email"))
    for m in CARD_RE.finditer(t):
        num = digits(m.group(0))
        if 13 <= len(num) <= 19 and luhn(num):
            hits.append((m.span(), "This looks like a card number; never post it.", "your card"))
    for m in ACCOUNT_NO_RE.finditer(t):
        hits.append((m.span(), "An account number in a public reply exposes it.", "your account"))
    hits.extend(_repeated(d))
    return [finding("private_data_exposed", msg, span, replace_span(text, span, repl)) for span, msg, repl in hits]
