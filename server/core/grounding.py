"""What grounds a reply beyond the playbook: the pack's knowledge, the team's sent replies, the customer's history,
what the post already shows, and the customer's deadline. Pure helpers the offline engine (playbook.py) calls.

The suggest flow gathers the context (server/suggest/context.py: retrieval, the queue); this module only decides
what of it to say, in which words, so it can be tested without a server.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from server.core.tone.patterns import STREET_RE

# The engine's own sentence frames, by name; a pack (or a language file) may override any of them (`[phrases]`).
PHRASES: Mapping[str, Sequence[str]] = {
    "remove_private": ["Please delete your post, as it shows your {shown}, and {dm} so we can carry on there.",
                       "For your security, please remove this post (it shows your {shown}) and {dm}; "
                       "we'll continue there."],
    "deadline": ["I know you only have {left}.", "I know you have {left} to go."],
    "deadline_tight": ["I know time is very short."],
    "history_replied": ["I can see we replied to you about this on {day}, and I'm sorry it still isn't sorted.",
                        "I can see we answered you on {day}; sorry you're having to come back to us."],
    "history_asked": ["I can see you asked us about this on {day}.",
                      "I can see your earlier post from {day} too."],
    "private_answer": ["I can go through this with you in a private message."],
    "escalated": ["I've escalated this as urgent to our safety team."],
    "dm_plain": ["Please {dm} and I'll take it from there.", "If you {dm}, I'll pick it up from there."],
    "known_details": ["I have the details from your post, so there's no need to send them again."],
    "answer_then_check": ["If you {dm} with {details}, I'll look into your case {eta}.",
                          "{dm_cap} with {details} and I'll look into your case {eta}."],
}
SHOWN_WORDS = {"card": "card details", "email": "email address", "phone": "phone number", "address": "address"}
LANG_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "de": "German", "it": "Italian", "pt": "Portuguese",
              "nl": "Dutch"}
# Words frequent in one language and rare in the others: enough to tell en/es/fr/de apart in a short post.
_LANG_WORDS = {
    "en": set("the and is are my you your was have not with for this that it of to".split()),
    "es": set("el la los las es mi mis con para por pero que una no hola gracias pedido mí está".split()),
    "fr": set("le la les est mon ma mes avec pour mais que une pas bonjour merci commande je".split()),
    "de": set("der die das ist mein meine mit für aber nicht und ich bestellung hallo danke".split()),
}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def _lang_counts(text: str) -> dict[str, int]:
    words = [w.lower() for w in _WORD.findall(text or "")]
    return {lang: sum(w in vocab for w in words) for lang, vocab in _LANG_WORDS.items()}


def detect_lang(text: str, least: int = 2) -> str | None:
    """The post's language by its function words, or None when too few to tell (short or mixed posts)."""
    counts = _lang_counts(text)
    best = max(counts, key=lambda k: counts[k])
    ordered = sorted(counts.values(), reverse=True)
    if ordered[0] < least or ordered[0] == ordered[1]:
        return None
    return best


def post_lang(post: Mapping[str, Any], analysis: Mapping[str, Any]) -> str | None:
    """The language to answer in: the post's own `lang` (the page's), else the analysis' `lang` unless the post's
    function words clearly say otherwise (a model's guess on a short post can be wrong), else a guess."""
    own = post.get("lang")
    if isinstance(own, str) and re.match(r"^[a-z]{2}$", own.lower()):
        return own.lower()
    guess = analysis.get("lang")
    clear = detect_lang(str(post.get("text") or ""), least=3)
    if isinstance(guess, str) and re.match(r"^[a-z]{2}$", guess.lower()):
        counts = _lang_counts(str(post.get("text") or ""))
        if guess.lower() != "en" and counts["en"] > counts.get(guess.lower(), 0):
            return "en"  # more English function words than the guessed language's: a short post misread
        return clear if clear and clear != guess.lower() else guess.lower()
    return clear or detect_lang(str(post.get("text") or ""))


def shown_private(post: Mapping[str, Any], analysis: Mapping[str, Any]) -> list[str]:
    """What private data the post itself shows in public (card, email, phone, address), in that order."""
    ents = analysis.get("entities") or {}
    text = str(post.get("text") or "")
    out = []
    if ents.get("cards"):
        out.append("card")
    if ents.get("emails") or re.search(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b", text):
        out.append("email")
    if ents.get("phones"):
        out.append("phone")
    if STREET_RE.search(text):
        out.append("address")
    return out


def join_words(items: Sequence[str], conj: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conj} " + items[-1]


_TOKEN = re.compile(r"[a-z0-9]{3,}")
_COMMON = set("the and for you your our with this that have has was are not but from they what when will".split())


def _words(text: str) -> set[str]:
    return {w for w in _TOKEN.findall(text.lower()) if w not in _COMMON}


def trim_fact(fact: str, limit: int = 130) -> str:
    """A long fact cut at its first clause boundary (", or", ";", " and ") so that it fits beside the rest of the
    reply on X; the clause kept is still true on its own. Short facts are kept whole."""
    if len(fact) <= limit:
        return fact
    for sep in ("; ", ", or ", ", and ", ", which ", ": "):
        cut = fact.find(sep)
        if 40 <= cut <= limit:
            return fact[:cut].rstrip(",;: ") + "."
    return fact


def pick_facts(facts: Sequence[str], post_text: str, most: int) -> list[str]:
    """The article's facts that speak to this post: the first (the article's main answer) and those sharing the
    most words with the post, at most `most`, in the article's order (composed, not pasted)."""
    if not facts:
        return []
    words = _words(post_text)
    overlap = [len(_words(f) & words) for f in facts]
    if most <= 1:  # one fact: the one that speaks to the post most, the main answer when none does
        best = max(range(len(facts)), key=lambda i: (overlap[i], -i))
        return [facts[best if overlap[best] else 0]]
    rest = sorted(range(1, len(facts)), key=lambda i: (-overlap[i], i))[: most - 1]
    return [facts[i] for i in sorted({0, *rest})]


_GREETING = re.compile(r"^\s*(?:hi|hello|hey|dear|hola|bonjour)\b[^,.!]*[,.!]\s*", re.I)
_SIGNATURE = re.compile(r"\s*(?:\^[A-Z]{1,4}|-\s?[A-Z][\w ]{0,30})\s*$")
_PRIVATE = (
    (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), "your email"),
    (re.compile(r"(?<![\w#-])\+?\d[\d\s().-]{6,16}\d(?![\w-])"), "your number"),
    (re.compile(r"\b(order|booking|ticket|ref(?:erence)?)\s*#?\s*[A-Z0-9-]*\d[A-Z0-9-]*", re.I), r"your \1"),
    (re.compile(r"@\w+"), ""),
)


def personalise(reply: str, old_names: Sequence[str] = ()) -> str:
    """A sent reply as reusable sentences: no greeting, no old customer's name or handle, no signature, no order
    number, email or phone of the customer it was written for."""
    text = _SIGNATURE.sub("", reply.strip())
    text = _GREETING.sub("", text)
    # "Kate, I'm sorry..." / "...today. Thanks, Kate!": the old customer's name where a reply puts names
    text = re.sub(r"(^|[.!?]\s+)(?:@?\w+),\s+(?=[A-Z])", r"\1", text)
    text = re.sub(r",\s+@?[A-Z][a-z]+(?=[.!?])", "", text)
    for name in old_names:
        if name:
            text = re.sub(rf",?\s*\b{re.escape(name)}\b,?", "", text)
    for rx, repl in _PRIVATE:
        text = rx.sub(lambda m, r=repl: m.expand(r).lower() if r else "", text)
    text = re.sub(r"\s{2,}", " ", text).strip(" ,")
    return text[:1].upper() + text[1:] if text else ""


def _parse(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def day_name(raw: Any, now: datetime | None) -> str | None:
    """'Monday' within the last six days, '3 Dec' before that, 'earlier today' today; None when unreadable."""
    when = _parse(raw)
    if when is None:
        return None
    if now is not None and when.tzinfo and now.tzinfo:
        days = (now.date() - when.astimezone(now.tzinfo).date()).days
        if days <= 0:
            return "earlier today"
        if days == 1:
            return "yesterday"
        if days < 7:
            return when.strftime("%A")
    return f"{when.day} {when.strftime('%b')}"


def related_history(history: Sequence[Mapping[str, Any]], post: Mapping[str, Any],
                    refs: Sequence[str]) -> Mapping[str, Any] | None:
    """The customer's earlier post about the same thing (same reference, or three shared words), if any."""
    words = _words(str(post.get("text") or ""))
    for item in history:
        text = str(item.get("text") or "")
        if item.get("post_id") and item.get("post_id") == post.get("post_id"):
            continue
        if any(r and r in text for r in refs) or len(_words(text) & words) >= 3:
            return item
    return None
