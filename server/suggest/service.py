"""Turning a post into a suggested reply: analysis, an engine, and the tone check of what it wrote.

The playbook engine always answers; other engines (the LLM) may replace its reply, and when they cannot the
playbook reply stands with a `fallback_reason`.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from server.core import analysis, grounding, playbook, tone
from server.core.errors import Invalid, NotFound
from server.core.packview import view_of
from server.core.posts import validate_post
from server.llm.grounding import from_context as llm_grounding
from server.packs.store import Pack, PackError, PackStore
from server.suggest.context import gather

STYLES = ("shorter", "warmer", "more formal")


def parse_options(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise Invalid("invalid_options", "'options' must be a JSON object.")
    out: dict[str, Any] = {}
    if "variant" in raw and raw["variant"] is not None:
        if not isinstance(raw["variant"], int) or isinstance(raw["variant"], bool) or not 0 <= raw["variant"] < 10**6:
            raise Invalid("invalid_options", "options.variant must be a whole number from 0 to 999999.")
        out["variant"] = raw["variant"]
    if raw.get("style") is not None:
        if raw["style"] not in STYLES:
            raise Invalid("invalid_options", f"options.style must be one of: {', '.join(STYLES)}.")
        out["style"] = raw["style"]
    if raw.get("signature") is not None:
        sig = raw["signature"]
        if not isinstance(sig, str) or len(sig) > 40:
            raise Invalid("invalid_options", "options.signature must be text of at most 40 characters.")
        out["signature"] = sig.strip()
    return out


def resolve_pack(store: PackStore, name: Any, default: str) -> Pack:
    if name is None:
        name = default
    if not isinstance(name, str):
        raise Invalid("invalid_pack", "'pack' must be the name of a prompt pack.")
    try:
        return store.get(name)
    except PackError as exc:
        raise NotFound("unknown_pack", f"No usable pack named '{name[:60]}': {exc.problem}.") from None
    except KeyError:
        raise NotFound("unknown_pack",
                       f"No pack named '{name[:60]}'; available: {', '.join(store.names()) or 'none'}.") from None


def parse_request(body: dict[str, Any], store: PackStore, default_pack: str) -> tuple[dict, Pack, dict]:
    """Validate a suggest request body into (post, pack, options) or raise a DomainError."""
    if "post" not in body:
        raise Invalid("invalid_post", "The request needs a 'post' object (see docs/DESIGN.md).")
    post = validate_post(body["post"])
    pack = resolve_pack(store, body.get("pack"), default_pack)
    options = parse_options(body.get("options"))
    return post, pack, options


Engine = Callable[..., dict[str, Any]]


def suggest(post: dict[str, Any], pack: Pack, options: dict[str, Any], *, llm: Any = None,
            on_delta: Callable[[str], None] | None = None, queue: Any = None) -> dict[str, Any]:
    """The full suggest answer of docs/DESIGN.md (without `deadline` and `target_minutes`, which the queue adds).

    With a `queue`, the post is tracked first (a safety post is escalated in that write), and the engine draws
    on the team's sent replies and the customer's history; the knowledge base is searched either way."""
    started = time.perf_counter()
    facts = analysis.analyze(post, pack)
    context = gather(post, pack, facts, queue, lang=grounding.post_lang(post, facts))
    result = playbook.generate(post, facts, pack, options, context=context)
    # The tone check judges the reply against what happened (was the post escalated?), as the engine did.
    facts = {**facts, "escalated": bool(context.get("escalated"))}
    answer: dict[str, Any] = {"reply": result["reply"], "engine": "playbook"}
    if llm is not None:
        answer.update(llm.generate(post, facts, pack, options, playbook_reply=result["reply"], on_delta=on_delta,
                                   grounding=llm_grounding(context)))
    elif on_delta is not None:
        on_delta(result["reply"])
    for key in ("engage", "notice"):
        if key in result:
            answer[key] = result[key]
    answer["advice"] = result.get("advice") or other_brand_advice(post, facts, pack)
    answer.setdefault("sources", result.get("sources") or [])  # the model's reply names its own
    answer["analysis"] = facts
    # The LLM guard already checked the reply it let through; any other reply is checked here.
    answer["tone"] = answer.get("tone") or tone.check(answer["reply"], post["platform"], pack=pack, post=post,
                                                      analysis=facts)
    answer["pack"] = {"name": pack.name, "version": pack.version}
    answer["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return answer


def other_brand_advice(post: dict[str, Any], facts: dict[str, Any], pack: Pack) -> str | None:
    """A post @-addressed to another brand gets a warning for the agent, not only a template of ours.

    ("@OtherAir my flight got cancelled" seen on a retail pack: the customer may not be ours at all.)"""
    if facts.get("addressed_to_brand") is not False:
        return None
    named = re.findall(r"(?<![\w@])@([A-Za-z0-9_]{1,30})", str(post.get("text") or ""))
    who = ", ".join(f"@{h}" for h in dict.fromkeys(named)) or "another account"
    brand = view_of(pack).brand or pack.name
    return f"This post is addressed to {who}, not to {brand}: check it is ours before replying."
