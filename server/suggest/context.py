"""What the reply engine needs besides the post and the pack, gathered once per suggestion: the articles and
sent replies that answer the post (server/knowledge), the customer's earlier posts, and whether the queue has
escalated it. Every part is optional: no queue (tests, the console's preview) means no memory and no history,
and a queue problem costs the agent the extras, never the reply.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from server.core import grounding
from server.knowledge.index import index_for, memory_for

log = logging.getLogger(__name__)
SENT_LIMIT = 1000  # sent replies the memory draws on: the most recent (bench/bench_knowledge.py times 1,000)


def _query(post: dict[str, Any]) -> str:
    """The words to search with: the post, and the customer's own earlier words in its thread."""
    parts = [str(post.get("text") or "")]
    handle = ((post.get("author") or {}).get("handle") or "").lower()
    for earlier in post.get("thread") or []:
        if ((earlier.get("author") or {}).get("handle") or "").lower() == handle:
            parts.append(str(earlier.get("text") or ""))
    return " ".join(parts)


# A problem post is long and tells a story; an article must match it more closely than it must match a question.
PROBLEM_SCORE = 3.5


def _articles(pack: Any, query: str, lang: str | None, intent: str | None) -> list[dict[str, Any]]:
    index = index_for(pack)
    hits = index.search(query, lang=lang or index.main_lang, k=2)
    if intent not in ("question", "request"):
        hits = [h for h in hits if h.score >= PROBLEM_SCORE]
    out = []
    for hit in hits[:1]:
        art = hit.article
        assert art is not None
        out.append({"id": art.id, "title": art.title, "url": art.url, "private": art.private,
                    "facts": list(art.facts), "score": hit.score})
    return out


def _memory(queue: Any, pack: Any, post: dict[str, Any], query: str, intent: str | None,
            exclude: Any) -> list[dict[str, Any]]:
    recent_sent = getattr(queue, "recent_sent", None)
    if recent_sent is None:
        return []
    sent = recent_sent(pack.name, SENT_LIMIT)
    handle = ((post.get("author") or {}).get("handle") or "").lower()
    lang = post.get("lang")
    hits = memory_for(pack.name, sent).search(query, k=5, exclude=[exclude] if exclude else (), intent=intent)
    # Another customer's reply only (this customer's own show as history), in the post's language.
    hits = [h for h in hits if not (handle and str((h.reply or {}).get("handle") or "").lower() == handle)
            and not (lang and (h.reply or {}).get("lang") and (h.reply or {})["lang"] != lang)][:1]
    return [{"id": h.id, "title": h.title, "reply": (h.reply or {}).get("reply"),
             "names": _names_of(h.reply or {})}
            for h in hits]


def _names_of(row: dict[str, Any]) -> list[str]:
    """The earlier customer's names to take out of their reply: full name, first name, handle."""
    full = str(row.get("name") or "").strip()
    return [n for n in (full, full.split()[0] if full else "", str(row.get("handle") or "")) if n]


def _history(queue: Any, post: dict[str, Any], exclude: Any) -> list[dict[str, Any]]:
    history = getattr(queue, "history", None)
    handle = (post.get("author") or {}).get("handle")
    if history is None or not handle:
        return []
    return list(history(post.get("platform"), handle, limit=5, exclude_id=exclude))


def gather(post: dict[str, Any], pack: Any, facts: dict[str, Any], queue: Any = None,
           lang: str | None = None) -> dict[str, Any]:
    """The engine's context for one post (see server/core/playbook.generate)."""
    query = _query(post)
    lang = lang or grounding.post_lang(post, facts)
    context: dict[str, Any] = {"now": datetime.now(UTC), "articles": _articles(pack, query, lang, facts.get("intent")),
                               "memory": [], "history": [], "escalated": False}
    if queue is None:
        return context
    item = None
    try:
        if post.get("post_id") or post.get("url"):
            # Tracked before the reply is written, so a safety post is escalated in the same write and the reply
            # may say so truthfully (QueueService.track); the after-suggest hook finds it tracked already.
            from server.team.agents import current_agent

            item, _ = queue.track(post, pack, analysis=facts, by=current_agent().name)
            context["escalated"] = bool(item.get("escalated"))
            context["queue_item"] = item
        exclude = item.get("id") if item else None
        context["memory"] = _memory(queue, pack, post, query, facts.get("intent"), exclude)
        context["history"] = _history(queue, post, exclude)
    except Exception:  # the queue's extras must never cost the agent their reply
        log.exception("could not gather the queue's context for a suggestion")
    return context
