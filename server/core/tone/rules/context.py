"""A draft judged against its post: what fits this customer's words, not only what reads well alone.

Thanking a complaint or a sarcastic post, "Great question" to an outage, asking again for what the post already
gave, promising a time past the deadline the customer stated, claiming an action nobody took. These apply to an
agent's own drafts as much as the engine's, and stay quiet when the check has no post to compare with.
"""
from __future__ import annotations

import re

from server.core.deadlines import promised_minutes, stated_deadline
from server.core.tone.draft import Draft
from server.core.tone.registry import Finding, finding, rule

UPSET = frozenset({"complaint", "outage", "legal_safety", "threat", "abuse"})
THANKS_RE = re.compile(r"\b(?:thanks|thank you|many thanks|gracias|merci)\b(?:\s+(?:so|very)\s+much)?"
                       r"(?:\s+for\s+(?:the|your)\s+(?:kind\s+words|feedback|love|support|shout-?out|compliment|"
                       r"lovely|comment|post|tweet|message))?", re.I)
CHEER_RE = re.compile(r"\b(?:great|good|excellent|fantastic) question\b|\bhappy to help\b|\bglad you asked\b|"
                      r"\blove that you asked\b|\bwe love to hear\b|\bso glad\b|\bawesome\b", re.I)
# Thanks that acknowledge the customer's effort, not the complaint: fine after a problem (not after sarcasm).
PARDON_RE = re.compile(r"\s+(?:so much\s+|very much\s+)?for\s+(?:your\s+patience|bearing|waiting|telling|letting|"
                       r"flagging|reporting|raising|bringing|your\s+understanding)", re.I)
_ASK = r"(?:send|share|give|provide|tell|confirm|dm|message|let us know|let me know|could you|can you|what(?:'s| is))"
# What a reply might ask for, and how to know the post already gave it (analysis entity, or a pattern).
GIVEN: tuple[tuple[str, str, str | None], ...] = (
    ("order number", r"order (?:number|no\.?|#|id|ref(?:erence)?)", "orders"),
    ("booking reference", r"booking (?:reference|ref|number|code)|reservation (?:number|code)|confirmation code",
     "bookings"),
    ("flight number", r"flight (?:number|no\.?)", "flights"),
    ("email address", r"e-?mail(?: address)?", "emails"),
    ("phone number", r"(?:phone|mobile|contact) number", "phones"),
    ("ticket number", r"(?:ticket|case) (?:number|no\.?|#)", "tickets"),
)
# Claims that the product's one action, escalation, was taken. Other actions (a refund, a new link) are taken in
# other tools by the agent, so the check cannot know and says nothing about them.
CLAIM_RE = re.compile(r"\b(?:I|we)(?:'ve| have)\s+(?:already\s+|now\s+|just\s+)?escalated\b"
                      r"|\b(?:this|it|your case|your report|your complaint) (?:has been|was|is now) escalated\b"
                      r"|\b(?:I'm|I am|we're|we are) escalating\b|\bescalated (?:this|it) (?:as urgent|to)\b", re.I)
ORDER_IN_POST = re.compile(r"\b(?:order|booking|ref(?:erence)?)\s*(?:#|no\.?|number|ref)?\s*:?\s*[A-Z0-9-]*\d{4,}",
                           re.I)
ESCALATION_WORD = re.compile(r"escalat", re.I)


def _first_sentence(d: Draft) -> tuple[int, int]:
    return d.sentences[0] if d.sentences else (0, d.n)


@rule("thanks_complaint", "warn", "Thanks a complaint or a sarcastic post, which reads as not having read it.")
def thanks_complaint(d: Draft) -> list[Finding]:
    intent, sarcastic = d.customer.intent, bool(d.analysis.get("sarcasm"))
    if not (sarcastic or intent in UPSET):
        return []
    s, e = _first_sentence(d)
    m = THANKS_RE.search(d.flat, s, e)
    if m is None or (not sarcastic and PARDON_RE.match(d.flat, m.end())):
        return []
    why = "The post is sarcastic" if sarcastic else "The customer is complaining"
    return [finding("thanks_complaint", f"{why}: opening with thanks reads as if nobody read the post. "
                    "Acknowledge the problem instead.", m.span())]


@rule("cheer_mismatch", "warn", "A cheerful stock opener (\"Great question\") to a complaint, outage or upset post.")
def cheer_mismatch(d: Draft) -> list[Finding]:
    c = d.customer
    if not (c.intent in UPSET or d.analysis.get("sarcasm") or (c.known and c.upset)):
        return []
    return [finding("cheer_mismatch", f"\"{m.group(0)}\" does not fit a customer with a problem: say you're "
                    "sorry or get straight to the answer.", m.span()) for m in CHEER_RE.finditer(d.flat)]


def _post_has(d: Draft, key: str | None, label_re: str) -> bool:
    ents = d.analysis.get("entities") or {}
    if key and ents.get(key):
        return True
    if key == "emails":
        return bool(re.search(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b", d.customer.post_text))
    if key in ("orders", "bookings"):
        found = ORDER_IN_POST.search(d.customer.post_text)
        return found is not None and (key == "orders") == found.group(0).lower().startswith("order")
    return False


@rule("asks_given", "warn", "Asks the customer for something their post already gave (an order number, an email).")
def asks_given(d: Draft) -> list[Finding]:
    if not d.customer.post_text:
        return []
    out = []
    for label, label_re, key in GIVEN:
        if not _post_has(d, key, label_re):
            continue
        rx = re.compile(rf"\b{_ASK}\b[^.?!]{{0,60}}?\b(?:your|the|ur)\s+(?:{label_re})\b", re.I)
        for m in rx.finditer(d.flat):
            out.append(finding("asks_given", f"The post already gives the {label}: asking again tells the customer "
                               "nobody read it. Use it instead.", m.span()))
    return out


@rule("past_deadline", "warn", "Promises a time past the deadline the customer stated (\"flight in 2 hours\").")
def past_deadline(d: Draft) -> list[Finding]:
    deadline = stated_deadline(d.customer.post_text)
    if deadline is None:
        return []
    return [finding("past_deadline", f"The customer has about {_human(deadline)}; this promises {_human(minutes)}. "
                    "Promise a time inside their deadline, or say plainly what can be done before it.", span)
            for span, minutes in promised_minutes(d.flat) if minutes >= deadline]


def _human(minutes: float) -> str:
    if minutes < 90:
        return f"{int(minutes)} minutes"
    if minutes < 2880:
        return f"{round(minutes / 60)} hours"
    return f"{round(minutes / 1440)} days"


@rule("untaken_action", "warn", "Says the post was escalated when the queue shows it was not.")
def untaken_action(d: Draft) -> list[Finding]:
    """Judged when the check knows: the suggest flow says whether the post's QueueItem is escalated; a safety post
    checked without that is flagged too, since only the queue escalates it (issue 14: promises the product keeps)."""
    known = "escalated" in d.analysis or "escalated" in d.post
    escalated = bool(d.analysis.get("escalated") or d.post.get("escalated"))
    if escalated or not (known or d.customer.intent == "legal_safety"):
        return []
    return [finding("untaken_action", "This says the post was escalated; the queue shows no escalation. Say what "
                    "you will do, or escalate it first.", m.span()) for m in CLAIM_RE.finditer(d.flat)]
