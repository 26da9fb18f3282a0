"""Try before publishing: run the edited pack and the live one on the same posts and show which replies change.

The posts are the pack's own example posts, a sample of the real queue (the posts agents are answering now) and
any the lead pastes. Each goes through `server.suggest.service.suggest` in-process, with the engine agents get.
"""
from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import request

from server.core.posts import PLATFORMS, PostError, validate_post
from server.packs.store import Pack
from server.services import services
from server.suggest import service as suggest_mod

MAX_PASTED = 12
MAX_SAMPLE_CHARS = 2000
QUEUE_SAMPLE = 10  # posts from the real queue, newest first
PREVIEW_WORKERS = 4
log = logging.getLogger(__name__)


def with_queue() -> bool:
    """The form's "also try posts from the real queue" box (a hidden "0" then the ticked "1": the last wins)."""
    values = request.form.getlist("with_queue") if request.method == "POST" else []
    return not values or values[-1] == "1"


def _examples(pack: Pack) -> list[dict[str, Any]]:
    raw = []
    for i, ex in enumerate(pack.data.get("llm", {}).get("examples", []) or []):
        raw.append({"platform": ex.get("platform", "x"), "post_id": f"example-{i + 1}", "text": ex["post"],
                    "author": {"name": ex.get("name"), "handle": ex.get("handle")}, "source": "pack example",
                    "expected": ex.get("reply")})
    return raw


def queue_sample(limit: int = QUEUE_SAMPLE) -> list[dict[str, Any]]:
    """Posts from the real queue (open ones first, then recently answered), as preview samples."""
    queue = services().queue
    if queue is None or limit <= 0:
        return []
    try:
        items = queue.listing(None, None, limit, 0)["items"]
    except Exception:  # a queue problem leaves the queue out of the preview, never breaks it
        log.exception("queue sample for the preview could not be read")
        return []
    return [{"platform": it["platform"], "post_id": f"queue-{it['id']}", "text": (it.get("text") or "")[:4000],
             "author": it.get("author") or {}, "source": f"queue #{it['id']} ({it.get('state')})",
             "expected": None} for it in items if it.get("text")]


def _pasted(pasted: str, platform: str) -> list[dict[str, Any]]:
    platform = platform if platform in PLATFORMS else "x"
    lines = [ln.strip() for ln in (pasted or "").splitlines() if ln.strip()][:MAX_PASTED]
    raw = []
    for i, line in enumerate(lines):
        name = None
        m = re.match(r"^([A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,2}):\s+(.+)$", line)
        if m:
            name, line = m.group(1), m.group(2)
        raw.append({"platform": platform, "post_id": f"pasted-{i + 1}", "text": line[:MAX_SAMPLE_CHARS],
                    "author": {"name": name, "handle": None}, "source": "pasted", "expected": None})
    return raw


def sample_posts(pack: Pack, pasted: str, platform: str, with_queue: bool = True) -> list[dict[str, Any]]:
    """The pack's own examples, a sample of the real queue and pasted lines ("Name: text"), as valid Posts."""
    raw = _examples(pack) + (queue_sample() if with_queue else []) + _pasted(pasted, platform)
    out = []
    for item in raw:
        meta = {"source": item.pop("source"), "expected": item.pop("expected")}
        try:
            out.append({**meta, "post": validate_post(item)})
        except PostError:
            continue
    return out


def _run_one(post: dict[str, Any], pack: Pack, llm: Any) -> dict[str, Any]:
    try:
        return suggest_mod.suggest(post, pack, {}, llm=llm)
    except Exception as exc:  # a preview shows failures beside the sample instead of failing the page
        log.warning("preview failed for %s: %s", pack.name, exc)
        return {"error": f"{type(exc).__name__}: {exc}"}


def run_preview(edited: Pack, live: Pack, pasted: str = "", platform: str = "x",
                with_queue: bool = True) -> list[dict[str, Any]]:
    """Each sample through the live and the edited pack, with the engine agents get (in parallel: an LLM is slow)."""
    samples = sample_posts(edited, pasted, platform, with_queue)
    llm = services().llm
    with ThreadPoolExecutor(max_workers=PREVIEW_WORKERS if llm is not None else 1) as pool:
        jobs = [(pool.submit(_run_one, s["post"], live, llm), pool.submit(_run_one, s["post"], edited, llm))
                for s in samples]
        rows = []
        for sample, (live_job, edited_job) in zip(samples, jobs, strict=True):
            live_answer, edited_answer = live_job.result(), edited_job.result()
            rows.append({**sample, "live": live_answer, "edited": edited_answer,
                         "changed": live_answer.get("reply") != edited_answer.get("reply")})
    return rows
