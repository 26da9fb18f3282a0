"""What the reply engine needs besides the post and the pack, gathered once per suggestion: the articles and
sent replies that answer the post (server/knowledge), the customer's earlier posts, and whether the queue has
escalated it. Every part is optional: no queue (tests, the console's preview) means no memory and no history,
and a queue problem costs the agent the extras, never the reply.
"""
from __future__ import annotations

import logging
import threading
import time
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


_sent_cache: dict[str, tuple[tuple, float, list[dict[str, Any]], int]] = {}
_sent_lock = threading.Lock()
SENT_RECHECK_SECONDS = 10.0  # a reply text added to an older item shows within this long
# The reply memory is rebuilt from the sent replies (~40 ms for 1,000); a team sends replies all the time, so a
# process re-reads and rebuilds at most this often: a reply sent a moment ago joins the memory within it.
SENT_REFRESH_SECONDS = 2.0


def _sent(sent_replies: Any, key_name: str, local_version: int = 0) -> list[dict[str, Any]]:
    """The pack's sent replies, read again only when a newer one exists (reading 1,000 costs ~30 ms; asking for
    the newest ~0.1 ms) or the copy is older than SENT_RECHECK_SECONDS, and never within SENT_REFRESH_SECONDS of
    the last read (the reply memory built from them costs ~40 ms more) unless this process kept a reply since
    (`local_version` changed): what a desk just sent is drawn on at once."""
    pack_name = key_name.split(":", 1)[1]
    now = time.monotonic()
    with _sent_lock:
        found = _sent_cache.get(key_name)
    if found is not None and found[3] == local_version and now - found[1] < SENT_REFRESH_SECONDS:
        return found[2]
    newest = sent_replies(pack=pack_name, limit=1)
    key = tuple((r.get("id"), r.get("replied_at")) for r in newest)
    if found is not None and found[0] == key and now - found[1] < SENT_RECHECK_SECONDS:
        with _sent_lock:
            _sent_cache[key_name] = (key, found[1], found[2], local_version)
        return found[2]
    rows = sent_replies(pack=pack_name, limit=SENT_LIMIT)
    with _sent_lock:
        if len(_sent_cache) > 16:
            _sent_cache.clear()
        _sent_cache[key_name] = (key, now, rows, local_version)
    return rows


def _memory(queue: Any, pack: Any, post: dict[str, Any], query: str, intent: str | None,
            exclude: Any) -> list[dict[str, Any]]:
    sent_replies = getattr(queue, "sent_replies", None)
    if sent_replies is None:
        return []
    sent = _sent(sent_replies, f"{id(queue)}:{pack.name}", getattr(queue, "sent_version", 0))
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
