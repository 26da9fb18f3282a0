"""The thread: what happened earlier in a conversation, so a reply to a follow-up does not start from zero.

Earlier messages are split into the customer's and the brand's; the summary says what the customer first wanted,
what they mentioned, and what the brand last said or promised (a refund, a call back, "within 3 days").
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from server.core.analysis.entities import extract_entities
from server.core.analysis.intent import classify, intent_scores
from server.core.analysis.sentiment import compound
from server.core.analysis.text import clean

_PROMISE = re.compile(r"\b(refund|replacement|call ?back|credit|exchange|repair|engineer|technician|"
                      r"update|delivery|voucher)\b", re.IGNORECASE)
_PROMISE_WHEN = re.compile(r"\b(within [\w\s-]{1,20}?(hours?|days?)|\d+\s*-\s*\d+ (business |working )?days|"
                           r"in \d+ (business |working )?days|today|tomorrow)\b", re.IGNORECASE)


def _split(post: dict[str, Any], handles: set[str], brand: str) -> tuple[list[str], list[str]]:
    """The thread's texts by the customer and by the brand (by handle, or a display name containing the brand)."""
    me = ((post.get("author") or {}).get("handle") or "").lower().lstrip("@")
    brand_l = brand.lower().replace(" ", "")
    customer_texts: list[str] = []
    brand_texts: list[str] = []
    for item in post.get("thread") or []:
        author = item.get("author") or {}
        handle = (author.get("handle") or "").lower().lstrip("@")
        name = (author.get("name") or "").lower().replace(" ", "")
        text = item.get("text") or ""
        if handle in handles or (brand_l and brand_l in name):
            brand_texts.append(text)
        elif not me or handle == me or not handle:
            customer_texts.append(text)
    return customer_texts, brand_texts


def _brand_side(last: str) -> dict[str, Any]:
    """The brand's last reply and what it promised, if anything, and by when."""
    out: dict[str, Any] = {"brand_last_reply": last[:280]}
    promise = _PROMISE.search(last)
    if promise:
        out["brand_promise"] = promise.group(1).lower().replace(" ", "")
        when = _PROMISE_WHEN.search(last)
        if when:
            out["brand_promise_when"] = when.group(0)
    return out


def thread_summary(post: dict[str, Any], handles: set[str], brand: str, products: Iterable[str]) -> dict[str, Any]:
    """Counts, the customer's earlier intent and references, and the brand's last reply and promise."""
    customer_texts, brand_texts = _split(post, handles, brand)
    summary: dict[str, Any] = {"posts": len(post.get("thread") or []), "customer_posts": len(customer_texts),
                               "brand_replied": bool(brand_texts)}
    if customer_texts:
        summary["customer_earlier"] = customer_texts[-1][:280]
        first = customer_texts[0]
        sentiment = compound(first)
        summary["earlier_intent"] = classify(intent_scores(clean(first, handles)[0], sentiment, {}), sentiment)
        summary["entities"] = extract_entities(" ".join(customer_texts), products)
    if brand_texts:
        summary.update(_brand_side(brand_texts[-1]))
    return summary
