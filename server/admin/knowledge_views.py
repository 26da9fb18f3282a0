"""Knowledge articles in the console: list, add, edit and retire a pack's `knowledge/<id>.md` without Markdown files.

An article is a form (title, keywords one a line, link, private, answer) that becomes the file format the pack
store reads (front matter, `# Title`, the answer), and is saved through the same `views.save` as every other pack
edit: same base check, new version number, journal and history. Its preview asks the suggest service, in-process,
what agents would get for a customer's question with the edited article beside the live pack.
"""
from __future__ import annotations

import json
import re
from typing import Any

from flask import Response, render_template, request

from server.admin.views import bp, load_pack, save
from server.core.posts import PostError, validate_post
from server.knowledge.articles import ID_RE, ArticleError, article_id, check_url
from server.packs.store import Pack, PackError, parse_pack
from server.services import services
from server.suggest import service as suggest_mod

MAX_TITLE = 120
RULES = {
    "id": "Lower-case letters, digits, '-' and '_' (up to 61), unique in the pack; it names the file and the "
          "source agents see. Fixed once saved.",
    "title": f"Required, at most {MAX_TITLE} characters: the question the article answers, as a heading.",
    "keywords": "One word or phrase a line, each once: what customers write when they ask this.",
    "url": "Optional: an https link on one of the pack's allowed link domains.",
    "private": "Ticked: the answer belongs in a private message only, never in a public reply.",
    "body": "Required: the facts an agent may state, in plain sentences.",
}


def _article(pack: Pack, aid: str) -> dict[str, Any] | None:
    return next((a for a in pack.data.get("knowledge") or [] if a.get("id") == aid), None)


def article_text(values: dict[str, str]) -> str:
    """The article file for the form's values (front matter only for what is set)."""
    front = []
    keywords = [k.strip() for k in values.get("keywords", "").splitlines() if k.strip()]
    if keywords:
        front.append("keywords: [" + ", ".join(json.dumps(k, ensure_ascii=False) for k in keywords) + "]")
    if values.get("url", "").strip():
        front.append("url: " + json.dumps(values["url"].strip()))
    if values.get("private") == "1":
        front.append("private: true")
    head = "---\n" + "\n".join(front) + "\n---\n" if front else ""
    body = values.get("body", "").replace("\r\n", "\n").strip()
    return f"{head}# {' '.join(values.get('title', '').split())}\n{body}\n"


def check_values(pack: Pack, values: dict[str, str], new: bool) -> dict[str, str]:
    """Errors by field, in words, before the pack store's own check."""
    errors: dict[str, str] = {}
    aid = values.get("id", "")
    if new and not ID_RE.match(aid):
        errors["id"] = "Use lower-case letters, digits, '-' and '_' only, starting with a letter or digit."
    elif new and f"knowledge/{aid}.md" in pack.files:
        errors["id"] = f"The pack already has an article '{aid}': pick another id, or edit that one."
    title = " ".join(values.get("title", "").split())
    if not title:
        errors["title"] = "Required: the article needs a title."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"At most {MAX_TITLE} characters (this is {len(title)})."
    seen: dict[str, int] = {}
    for no, kw in enumerate([k.strip() for k in values.get("keywords", "").splitlines() if k.strip()], 1):
        if kw.lower() in seen:
            errors["keywords"] = f"\u201c{kw}\u201d is listed twice (lines {seen[kw.lower()]} and {no}): each once."
            break
        seen[kw.lower()] = no
    url = values.get("url", "").strip()
    if url:
        try:
            check_url(url, tuple(pack.view.tone.allowed_domains))
            if not url.startswith("https://"):
                errors["url"] = "Use an https:// link."
        except ArticleError as exc:
            errors["url"] = exc.problem[:1].upper() + exc.problem[1:] + "."
    if not values.get("body", "").strip():
        errors["body"] = "Required: write the answer under the title."
    return errors


def _values() -> dict[str, str]:
    form = request.form
    private = form.getlist("private")
    aid = (form.get("id") or "").strip()
    if not aid and form.get("new") == "1":  # a new article's id follows its title unless one is typed
        aid = _slug(form.get("title") or "")
    return {"id": aid, "title": form.get("title") or "", "keywords":
            form.get("keywords") or "", "url": form.get("url") or "", "body": form.get("body") or "",
            "private": private[-1] if private else "0"}


def _edited(live: Pack, values: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The pack's files with the article, and any errors (the store's own check last)."""
    files = {**live.files, f"knowledge/{values['id']}.md": article_text(values)}
    try:
        parse_pack(live.name, files)
    except PackError as exc:
        field = {"url": "url", "keywords": "keywords", "private": "private"}.get(exc.key or "", "body")
        return files, {field: exc.problem}
    return files, {}


def _page(live: Pack, values: dict[str, str], new: bool, errors: dict[str, str] | None = None,
          preview: dict[str, Any] | None = None, status: int = 200) -> Response:
    body = render_template("admin/article.html", pack=live, values=values, new=new, errors=errors or {},
                           rules=RULES, preview=preview, base=request.form.get("base") or live.digest,
                           question=request.form.get("question", ""), note=request.form.get("note", ""))
    return Response(body, status=status)


@bp.get("/packs/<name>/knowledge/new")
def article_new(name: str) -> Any:
    return _page(load_pack(name), {"id": "", "title": "", "keywords": "", "url": "", "body": "", "private": "0"},
                 new=True)


@bp.get("/packs/<name>/knowledge/<aid>")
def article_edit(name: str, aid: str) -> Any:
    live = load_pack(name)
    found = _article(live, aid)
    if found is None:
        return _page(live, {"id": aid}, new=True, errors={"id": f"No article '{aid}' in this pack."}, status=404)
    return _page(live, {"id": aid, "title": found["title"], "keywords": "\n".join(found.get("keywords") or []),
                        "url": found.get("url") or "", "body": found["body"],
                        "private": "1" if found.get("private") else "0"}, new=False)


@bp.post("/packs/<name>/knowledge")
def article_post(name: str) -> Any:
    """Check, preview or save one article (action), new or edited."""
    live = load_pack(name)
    values = _values()
    new = request.form.get("new") == "1"
    if not new:
        try:
            article_id(f"knowledge/{values['id']}.md")
        except ArticleError:
            return _page(live, values, new=True, errors={"id": "No such article."}, status=404)
    errors = check_values(live, values, new)
    files, store_errors = _edited(live, values) if not errors else (live.files, {})
    errors = errors or store_errors
    if errors:
        return _page(live, values, new, errors, status=422)
    action = request.form.get("action", "check")
    if action == "save":
        what = "Added" if new else "Edited"
        note = request.form.get("note", "").strip() or f"{what} knowledge article \u201c{values['title'].strip()}\u201d"
        return save(live, files, request.form.get("base", ""), note=note, back="form")
    if action == "preview":
        return _page(live, values, new, preview=answer_preview(live, parse_pack(name, files)))
    return _page(live, values, new, preview=None)


@bp.post("/packs/<name>/knowledge/check")
def article_check(name: str) -> Any:
    live = load_pack(name)
    values = _values()
    errors = check_values(live, values, request.form.get("new") == "1")
    if not errors:
        errors = _edited(live, values)[1]
    return {"ok": not errors, "errors": errors}


@bp.post("/packs/<name>/knowledge/<aid>/retire")
def article_retire(name: str, aid: str) -> Any:
    """Take an article out of the pack (the history keeps it: a rollback brings it back)."""
    live = load_pack(name)
    found = _article(live, aid)
    if found is None:
        return _page(live, {"id": aid}, new=True, errors={"id": f"No article '{aid}' in this pack."}, status=404)
    files = {k: v for k, v in live.files.items() if k != f"knowledge/{aid}.md"}
    note = request.form.get("note", "").strip() or f"Retired knowledge article \u201c{found['title']}\u201d"
    return save(live, files, request.form.get("base", ""), note=note, back="form")


def answer_preview(live: Pack, edited: Pack) -> dict[str, Any]:
    """What the engine would answer the question with the edited article, beside the live pack's answer."""
    text = (request.form.get("question") or "").strip()[:2000]
    if not text:
        return {"error": "Write a customer's question to try the article on."}
    platform = request.form.get("platform") if request.form.get("platform") in ("x", "facebook") else "x"
    try:
        post = validate_post({"platform": platform, "post_id": "article-preview", "text": text,
                              "author": {"name": "Sam Taylor", "handle": "samtaylor"}})
    except PostError as exc:
        return {"error": str(exc)}
    llm = services().llm
    out = {}
    for key, pack in (("live", live), ("edited", edited)):
        try:
            out[key] = suggest_mod.suggest(post, pack, {}, llm=llm)
        except Exception as exc:  # the preview shows a failure, the page stays up
            out[key] = {"error": f"{type(exc).__name__}: {exc}"}
    out["changed"] = out["live"].get("reply") != out["edited"].get("reply")
    out["question"] = text
    return out


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "article"
