"""Grounding: the brand's facts the model may use, which of them a reply drew on, and facts it made up.

Retrieval (server/knowledge) finds knowledge articles and replies agents sent for similar posts; suggest hands
them to the engine as `grounding`: [{"id", "title", "text", "url"?, "kind": "article" | "reply"}]. They go into
the user turn as the brand's facts (trusted, but still neutralised: a sent reply quotes customers). They are kept
out of the system prompt on purpose: a reply that repeats a fact verbatim is doing its job, not leaking the prompt.

The guard cannot tell a true sentence from a false one, but it can check the facts that hurt most when invented
and are easy to spot: clock times, prices, durations and links. Prices and links are checked always (a price or
a link the model made up is never right); times and durations only when the post has grounding, because without
it the reply's "I'll update you by 5pm" is a promise the pack's prompt asks for, not a claim about the brand.

Pure: no I/O, no state.
"""
from __future__ import annotations

import re
from typing import Any

MAX_ITEMS = 6
_TIME = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)|\b([01]?\d|2[0-3]):([0-5]\d)\b", re.IGNORECASE)
_PRICE = re.compile(r"(?:[$€£¥]\s?\d[\d,]*(?:\.\d{1,2})?|\b\d[\d,]*(?:\.\d{1,2})?\s?(?:usd|eur|gbp|dollars?|euros?|"
                    r"pounds?)\b)", re.IGNORECASE)
_DURATION = re.compile(r"\b(\d+)(?:\s?(?:-|to|–)\s?(\d+))?\s*(?:business |working |calendar )?"
                       r"(minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\b", re.IGNORECASE)
_LINK = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')]+|\b(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/[^\s<>\"')]*)+",
                   re.IGNORECASE)
_CONTENT = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
_UNIT = {"min": "minute", "mins": "minute", "minutes": "minute", "hr": "hour", "hrs": "hour", "hours": "hour",
         "days": "day", "weeks": "week", "months": "month", "years": "year"}
_COMMON = set("that this with your have will from they them then there their what when where which would could "
              "should about been being into just like more most only over some such than very were also here "
              "thanks thank sorry please today team help know look looking happy glad hear dear hello again "
              "send message private direct kind regards sure right make sure".split())


def clean_items(grounding: Any) -> list[dict[str, Any]]:
    """The usable grounding items, at most MAX_ITEMS, each with a string id, title and text."""
    out = []
    for item in grounding or []:
        if not isinstance(item, dict) or not str(item.get("text") or "").strip():
            continue
        out.append({"id": str(item.get("id") or f"item-{len(out) + 1}"), "title": str(item.get("title") or ""),
                    "text": str(item["text"]), "url": item.get("url") or None,
                    "kind": "reply" if item.get("kind") == "reply" else "article"})
        if len(out) == MAX_ITEMS:
            break
    return out


def from_context(context: Any) -> list[dict[str, Any]]:
    """Grounding items from the suggest context (server/suggest/context.gather): its articles and sent replies.

    Private articles (answers that belong in a DM) are left out: the model writes a public reply."""
    if not isinstance(context, dict):
        return []
    items = [{"id": a.get("id"), "title": a.get("title") or "", "url": a.get("url"), "kind": "article",
              "text": " ".join(str(f) for f in a.get("facts") or [])}
             for a in context.get("articles") or [] if isinstance(a, dict) and not a.get("private")]
    items += [{"id": m.get("id"), "title": m.get("title") or "", "kind": "reply", "text": m.get("reply") or ""}
              for m in context.get("memory") or [] if isinstance(m, dict)]
    return clean_items(items)


def _times(text: str) -> set[str]:
    out = set()
    for m in _TIME.finditer(text):
        if m.group(1):
            hour, minute, half = int(m.group(1)), m.group(2) or "00", m.group(3).lower().replace(".", "")
            hour = hour % 12 + (12 if half == "pm" else 0)
        else:
            hour, minute = int(m.group(4)), m.group(5)
        out.add(f"{hour:02d}:{minute}")
    return out


def _prices(text: str) -> set[str]:
    return {re.sub(r"[^\d.]", "", m.group(0).replace(",", "")).rstrip(".").removesuffix(".00")
            for m in _PRICE.finditer(text)}


def _durations(text: str) -> set[str]:
    out = set()
    for m in _DURATION.finditer(text):
        unit = m.group(3).lower()
        unit = _UNIT.get(unit, unit.rstrip("s"))
        out.add(f"{m.group(1)}{'-' + m.group(2) if m.group(2) else ''} {unit}")
    return out


def _links(text: str) -> set[str]:
    return {re.sub(r"^(https?://)?(www\.)?", "", m.group(0).lower()).rstrip("/.,;:!?") for m in _LINK.finditer(text)}


_KINDS = (("time", _times, True), ("price", _prices, False), ("duration", _durations, True), ("link", _links, False))


_PROMISE = re.compile(r"\b(?:i'll|i will|we'll|we will|i'm going to|we're going to|i can|we can|let me|i'd|"
                      r"i am going to|expect (?:an? )?(?:update|reply|answer))\b", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?\n]*")


def claims(reply: str) -> str:
    """The reply without its promises ("I'll update you by 5pm"): a time the agent commits to is the pack's
    business (its prompt asks for a realistic one), not a claim about the brand to find in its facts."""
    return " ".join(m.group(0) for m in _SENTENCE.finditer(reply) if not _PROMISE.search(m.group(0)))


def unsupported_facts(reply: str, items: list[dict[str, Any]], known: str) -> list[tuple[str, str]]:
    """(kind, value) for each time, price, duration or link in the reply found in none of the grounding items
    nor in `known` (the post, its thread, the pack's own wording). Times and durations need grounding to judge,
    and count only outside the reply's promises."""
    corpus = ""
    out = []
    stated_claims = claims(reply)
    for kind, extract, needs_grounding in _KINDS:
        if needs_grounding and not items:
            continue
        stated = extract(stated_claims if needs_grounding else reply)
        if not stated:  # the common case: nothing to look up, so the corpus is never scanned
            continue
        corpus = corpus or known + "\n" + "\n".join(f"{i['title']} {i['text']} {i.get('url') or ''}" for i in items)
        allowed = extract(corpus)
        for value in sorted(stated):
            if kind == "link" and any(a.startswith(value) or value.startswith(a) for a in allowed):
                continue
            if value not in allowed:
                out.append((kind, value))
    return out


def _content_words(text: str) -> set[str]:
    return {w for w in _CONTENT.findall(text.lower()) if w not in _COMMON}


def sources_used(reply: str, items: list[dict[str, Any]], post_text: str = "") -> list[dict[str, Any]]:
    """The grounding items the reply drew on: sharing a fact (time, price, duration, link) or, beyond the words
    of the post itself, at least three content words with it. As [{"id", "title", "url"?}] for the answer."""
    facts = set().union(*(f(reply) for _, f, _ in _KINDS))
    words = _content_words(reply) - _content_words(post_text)
    out = []
    for item in items:
        text = f"{item['title']} {item['text']} {item.get('url') or ''}"
        shared_facts = facts & set().union(*(f(text) for _, f, _ in _KINDS))
        if shared_facts or len(words & _content_words(text)) >= 3:
            entry = {"id": item["id"], "title": item["title"]}
            if item.get("url"):
                entry["url"] = item["url"]
            out.append(entry)
    return out
