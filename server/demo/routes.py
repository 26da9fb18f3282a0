"""GET /demo: an X-like and a Facebook-like page of sample customer posts, so a new user can try the whole flow
(Suggest reply, edit, Insert, send, the queue's clock) without a social account.

The markup follows the real sites' structure (X: article[data-testid=tweet], User-Name, tweetText, a role=group
action bar and an inline composer; Facebook: role=article units with data-ad-rendering-role blocks and a
contenteditable comment box), so the extension's own site adapters read it exactly as they read x.com and
facebook.com. The page itself never calls the API: only the extension does, through its service worker.
"""
from __future__ import annotations

import json
import re
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, render_template
from markupsafe import Markup, escape

from server.core.packview import view_of
from server.services import services

POSTS_FILE = Path(__file__).resolve().parent / "demo_posts.json"
# The newest sample is shown as posted this long ago; the others keep their distance from it.
NEWEST_AGE = timedelta(minutes=3)
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "connect-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")

bp = Blueprint("demo", __name__, template_folder="templates", static_folder="static/demo",
               static_url_path="/demo/static")


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(then: datetime | None, now: datetime) -> str:
    """X's short relative time: 45s, 12m, 3h, then a date."""
    if then is None:
        return ""
    secs = max(0, int((now - then).total_seconds()))
    if secs < 60:
        return f"{secs}s"
    if secs < 3600:
        return f"{secs // 60}m"
    if secs < 86400:
        return f"{secs // 3600}h"
    return then.strftime("%b %-d")


def rebase(posts: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Shift every time so the newest post is a few minutes old: the demo's deadlines are live, not long past."""
    times = [t for p in posts if (t := _parse(p.get("created_at")))]
    if not times:
        return [dict(p) for p in posts]
    delta = (now - NEWEST_AGE) - max(times)
    out = []
    for post in posts:
        p = {k: v for k, v in post.items() if not k.startswith("expected_")}
        if (t := _parse(p.get("created_at"))) is not None:
            p["created_at"] = _iso(t + delta)
        if p.get("thread"):
            p["thread"] = [
                {**item, "created_at": _iso(t + delta)} if (t := _parse(item.get("created_at"))) else dict(item)
                for item in p["thread"]
            ]
        out.append(p)
    return out


_TOKENS = re.compile(r"(@[A-Za-z0-9_]{1,50})|(#\w+)|(https?://\S+)")


def linkify(text: str, platform: str) -> Markup:
    """Escape the text, turning @handles, #tags and URLs into links as the sites show them."""
    base = "https://x.com" if platform == "x" else "https://www.facebook.com"
    parts: list[str] = []
    last = 0
    for m in _TOKENS.finditer(text):
        parts.append(str(escape(text[last:m.start()])))
        token = m.group(0)
        if m.group(1):
            href = f"{base}/{token[1:]}"
        elif m.group(2):
            href = f"{base}/hashtag/{token[1:]}"
        else:
            href = token
        parts.append(f'<a href="{escape(href)}" role="link" rel="noopener">{escape(token)}</a>')
        last = m.end()
    parts.append(str(escape(text[last:])))
    return Markup("".join(parts))


def hue(seed: str) -> int:
    """A stable avatar colour per customer."""
    return zlib.crc32(seed.encode("utf-8")) % 360


def initial(name: str | None, handle: str | None) -> str:
    for ch in (name or "") + (handle or "?"):
        if ch.isalnum():
            return ch.upper()
    return (name or handle or "?")[:1]


def load_posts(path: Path = POSTS_FILE) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))


def brand_of(app: Flask) -> dict[str, Any]:
    """The default pack's brand and handles, so the page shows the brand the agent's pack answers for."""
    svc = services(app)
    try:
        view = view_of(svc.packs.get(svc.config.default_pack))
    except Exception:  # a broken or missing pack must not break the demo page
        view = view_of(None)
    x_handles = view.handles.get("x") or ("AcmeShop",)
    fb_handles = view.handles.get("facebook") or x_handles
    return {"name": view.brand or x_handles[0], "x": x_handles[0], "facebook": fb_handles[0]}


def _decorate(item: dict[str, Any], platform: str, now: datetime) -> dict[str, Any]:
    """Display fields for one post or thread item: relative time, linkified text, avatar initial and colour."""
    author = item.get("author") or {}
    return {**item, "ago": ago(_parse(item.get("created_at")), now), "html": linkify(item.get("text", ""), platform),
            "hue": hue(author.get("handle") or ""), "initial": initial(author.get("name"), author.get("handle"))}


def page_model(posts: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """What the template needs: posts by site, newest first, with display times, avatars and linkified text."""
    shown = []
    for p in rebase(posts, now):
        thread = [_decorate(t, p["platform"], now) for t in p.get("thread") or []]
        shown.append({**_decorate(p, p["platform"], now), "thread": thread})
    shown.sort(key=lambda p: p.get("created_at") or "", reverse=True)
    return {
        "x_posts": [p for p in shown if p["platform"] == "x"],
        "fb_posts": [p for p in shown if p["platform"] == "facebook"],
    }


@bp.get("/demo")
def demo() -> Response:
    model = page_model(load_posts(), datetime.now(UTC))
    html = render_template("demo.html", brand=brand_of(current_app), **model)
    resp = Response(html, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["Cache-Control"] = "no-store"
    return resp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
