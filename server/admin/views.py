"""Routes of the supervisor console. Every POST needs the session's CSRF token; every page but sign-in a supervisor.

Saving a pack is optimistic: the editor carries the digest of the version it started from, and a save whose base
is no longer live is refused with a diff, so two supervisors never silently overwrite each other.
"""
from __future__ import annotations

import logging
import re
import time
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from server.admin import auth, fields, formedit
from server.admin.preview import run_preview, with_queue
from server.admin.state import AdminState
from server.core.posts import PLATFORMS
from server.packs.history import PackHistory, Version, diff_files, field_changes
from server.packs.store import Pack, PackError, PackStore, check_name, digest_of, parse_pack
from server.services import services

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates", static_folder="static",
               static_url_path="/static")

OPEN_ENDPOINTS = {"admin.login", "admin.static"}
log = logging.getLogger(__name__)
MAX_FORM_BODY = 1024 * 1024  # whole packs travel in one form; the API's 64 KB cap is for agents' posts


# ---- plumbing -----------------------------------------------------------------------------------------------------

def admin_svc() -> AdminState:
    state = services().admin
    assert state is not None, "the console is wired in create_app"
    return state


def store() -> PackStore:
    return services().packs


def history() -> PackHistory:
    return admin_svc().history


def supervisor() -> str | None:
    name = session.get("sup")
    started = session.get("login_at")
    if not name or not isinstance(started, (int, float)):
        return None
    if time.time() - started > admin_svc().session_max_age.total_seconds():
        return None
    return name


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = auth.new_csrf_token()
    return token


@bp.app_template_global("csrf_token")
def _csrf_token_global() -> str:
    return csrf_token()


@bp.before_request
def guard() -> Response | None:
    """Sign-in and CSRF for every console request (the agent token is deliberately not consulted)."""
    request.max_content_length = MAX_FORM_BODY
    if request.method == "POST":
        given = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
        if not auth.csrf_ok(session.get("csrf"), given):
            return page_error(400, "Your session has expired or this form is stale",
                              "Reload the page and try again. (The form's security token did not match.)")
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    g.supervisor = supervisor()
    if g.supervisor is None:
        if request.method == "GET":
            return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
        if request.is_json or request.headers.get("X-CSRF-Token"):
            return _json_error(401, "signed_out", "Sign in again to continue.")
        return redirect(url_for("admin.login"))
    return None


@bp.after_request
def no_store(resp: Response) -> Response:
    resp.headers.setdefault("Cache-Control", "no-store")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                            "frame-ancestors 'none'; form-action 'self'")
    return resp


@bp.errorhandler(400)
def _bad_request(_exc: Exception) -> Response:
    return page_error(400, "That request could not be understood", "Reload the page and try again.")


@bp.errorhandler(404)
def _not_found(_exc: Exception) -> Response:
    return page_error(404, "Not found", "There is no such pack or page in the console.")


@bp.errorhandler(413)
def _too_large(_exc: Exception) -> Response:
    return page_error(413, "Too large", f"A pack can be at most {MAX_FORM_BODY // 1024} KB in all.")


def _json_error(status: int, code: str, message: str) -> Response:
    resp = jsonify({"error": code, "message": message})
    resp.status_code = status
    return resp


def page_error(status: int, title: str, message: str) -> Response:
    resp = Response(render_template("admin/error.html", title=title, message=message), status=status)
    return resp


def load_pack(name: str) -> Pack:
    try:
        check_name(name)
        return store().get(name, fresh=True)
    except (KeyError, PackError):
        abort(404)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("admin.dashboard")


# ---- sign-in ------------------------------------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        if supervisor():
            return redirect(_safe_next(request.args.get("next")))
        csrf_token()
        return render_template("admin/login.html", next=request.args.get("next", ""), error=None, name="")
    name = (request.form.get("name") or "").strip()[:80]
    password = request.form.get("password") or ""
    nxt = request.form.get("next") or ""
    from server.web import security  # the network-wide limit shared with bearer tokens (per address)

    addr = request.remote_addr or "?"
    key, ip_key = f"{addr}|{name.lower()}", f"ip:{addr}"
    limiter, ip_limiter = admin_svc().limiter, admin_svc().ip_limiter
    net_wait = security.client_limited(addr)
    wait = max(limiter.blocked_for(key), ip_limiter.blocked_for(ip_key), net_wait)
    if wait > 0:
        when = f"{int(wait // 60) + 1} minutes" if wait > 60 else f"{int(wait) + 1} seconds"
        page = render_template("admin/login.html", next=nxt, error=f"Too many failed sign-ins. Try again in {when}.",
                               name=name)
        return page, 429, {"Retry-After": str(int(wait) + 1)}
    data_dir = auth.home_of(services())
    if not auth.verify(data_dir, name, password):
        limiter.failed(key)
        ip_limiter.failed(ip_key)
        security.count_failure(addr)
        hint = "" if auth.load_users(data_dir) else \
            " No supervisor exists yet: create one with `python -m server add-supervisor NAME`."
        return render_template("admin/login.html", next=nxt, error="Wrong name or password." + hint,
                               name=name), 401
    limiter.succeeded(key)
    session.clear()  # a fresh session (and CSRF token) on sign-in: no fixation
    session["sup"] = name
    session["login_at"] = time.time()
    session["csrf"] = auth.new_csrf_token()
    return redirect(_safe_next(nxt))


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("admin.login"))


# ---- packs --------------------------------------------------------------------------------------------------------

@bp.get("/")
def index() -> Any:
    return redirect(url_for("admin.dashboard"))


@bp.get("/packs")
def packs() -> Any:
    rows = []
    for info in store().status():
        last = None
        if info.get("version") is not None:  # the history starts at the console's first sight of a pack
            history().ensure_current(info["name"], store().get(info["name"], fresh=True).files)
            last = history().latest(info["name"])
        rows.append({**info, "last": last})
    return render_template("admin/packs.html", rows=rows, default=services().config.default_pack)


def _edited_files(live: Pack) -> dict[str, str]:
    """The editor's texts, one per file of the live pack; browsers send CRLF, packs are stored with LF."""
    files = {}
    for fname in live.files:
        text = request.form.get(f"file:{fname}")
        if text is None:
            abort(400)
        files[fname] = text.replace("\r\n", "\n").replace("\r", "\n")
    return files


def _check(name: str, files: dict[str, str]) -> tuple[Pack | None, dict[str, Any] | None]:
    try:
        return parse_pack(name, files), None
    except PackError as exc:
        return None, exc.as_dict()


def render_editor(live: Pack, files: dict[str, str], base: str, *, error: dict | None = None,
                  notice: str | None = None, preview: list[dict] | None = None, status: int = 200,
                  active: str | None = None, view: str = "toml", values: dict[str, str] | None = None,
                  field_errors: dict[str, str] | None = None, changes: list[dict] | None = None) -> Response:
    """The pack page: the form for leads and the raw TOML for experts (one click apart), and any preview."""
    disk_error = store().errors.get(live.name)
    body = render_template(
        "admin/editor.html", pack=live, files=files, base=base, error=error, notice=notice, preview=preview,
        active=active if active in files else (error or {}).get("file") or next(iter(sorted(files)), None),
        disk_error=disk_error.as_dict() if disk_error else None, latest=history().latest(live.name),
        samples=request.form.get("samples", ""), sample_platform=request.form.get("sample_platform", "x"),
        with_queue=with_queue(),
        note=request.form.get("note", ""), platforms=PLATFORMS, unsaved=base != live.digest or files != live.files,
        view=view if view in ("form", "toml") else "form", groups=fields.groups(),
        values=values if values is not None else formedit.form_values(live), field_errors=field_errors or {},
        form_error=(field_errors or {}).get(formedit.FORM_ERROR), changes=changes)
    return Response(body, status=status)


@bp.get("/packs/<name>")
def editor(name: str) -> Any:
    live = load_pack(name)
    history().ensure_current(name, live.files)
    return render_editor(live, dict(live.files), live.digest, active=request.args.get("file"),
                         view=request.args.get("view", "form"))


@bp.post("/packs/<name>")
def editor_post(name: str) -> Any:
    live = load_pack(name)
    files = _edited_files(live)
    base = request.form.get("base") or ""
    action = request.form.get("action", "check")
    active = request.form.get("active")
    edited, error = _check(name, files)
    if action == "save":
        if error:
            return render_editor(live, files, base, error=error, status=422, active=active)
        return save(live, files, base, note=request.form.get("note", ""), active=active)
    if action == "preview":
        if error:
            return render_editor(live, files, base, error=error, status=422, active=active)
        assert edited is not None
        rows = run_preview(edited, live, request.form.get("samples", ""), request.form.get("sample_platform", "x"),
                           with_queue())
        return render_editor(live, files, base, preview=rows, active=active,
                             notice="Preview of your unsaved edits beside the live pack (nothing saved yet).")
    if error:
        return render_editor(live, files, base, error=error, status=422, active=active)
    return render_editor(live, files, base, notice="The pack is valid. Nothing is saved until you press Save.",
                         active=active)


@bp.post("/packs/<name>/check")
def check_json(name: str) -> Any:
    """Live validation for the editor's script: {"files": {...}} -> {"ok", "error"?}."""
    live = load_pack(name)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("files"), dict):
        return _json_error(400, "invalid_json", "Send {\"files\": {name: text}}.")
    files = {k: str(v).replace("\r\n", "\n") for k, v in body["files"].items() if k in live.files}
    if set(files) != set(live.files):
        return _json_error(400, "invalid_files", f"Send every file of the pack: {', '.join(sorted(live.files))}.")
    _pack, error = _check(name, files)
    return jsonify({"ok": error is None, "error": error})


def _bases(name: str, current: Pack) -> set[str]:
    """Digests an editor may start from: the live one, and the text it sent when its save was only renumbered."""
    ok = {current.digest}
    latest = history().latest(name)
    if latest is not None and latest.digest == current.digest and latest.extra.get("submitted"):
        ok.add(str(latest.extra["submitted"]))
    return ok


def save(live: Pack, files: dict[str, str], base: str, note: str, active: str | None = None,
         action: str = "save", extra: dict | None = None, back: str = "toml") -> Response:
    """Write a valid pack if nobody else saved since `base`; otherwise show what changed.

    Every save gets the next version number (agents see it as the pack's version), unless an expert set a new
    one by hand in the raw TOML; a rollback is a new version too, with the old content."""
    name = live.name
    submitted = digest_of(files)
    with admin_svc().save_lock:
        current = store().get(name, fresh=True)
        if base not in _bases(name, current):
            return conflict(current, files, base)
        if files == current.files:
            flash("No changes: the live pack already has exactly this text.", "info")
            return redirect(url_for("admin.editor", name=name, view=back))
        if action != "save" or parse_pack(name, files).version == current.version:
            files = formedit.with_version(files, current.origin, formedit.next_version(current.version))
        changes = [c["text"] for c in field_changes(current.files, files, fields.diff_labels())]
        # The saved set is the whole pack: a rollback to a version with fewer files drops the extras in the
        # same journalled write, never after it.
        pack = store().write(name, files, replace=True)
        history().ensure_current(name, current.files)
        version = history().record(name, files, author=g.supervisor, note=note, action=action,
                                   submitted=submitted, changes=changes[:100], **(extra or {}))
    what = {"rollback": "Rolled back", "import": "Imported"}.get(action, "Saved")
    summary = "; ".join(changes[:3]) + (f" and {len(changes) - 3} more" if len(changes) > 3 else "")
    flash(f"{what}: pack '{name}' version {pack.version} is live for agents now."
          + (f" Changed: {summary}." if summary else ""), "ok")
    current_app.logger.info("pack %s %s by %s -> %s (%s)", name, action, g.supervisor, pack.digest, version.id)
    if action == "save":  # back to the editor, on the file that was being edited
        if back == "form":
            return redirect(url_for("admin.editor", name=name))
        return redirect(url_for("admin.editor", name=name, view="toml", file=active) if active in files
                        else url_for("admin.editor", name=name, view="toml"))
    return redirect(url_for("admin.history_page", name=name))


def conflict(current: Pack, mine: dict[str, str], base: str) -> Response:
    base_version = _find_digest(current.name, base)
    theirs = diff_files(base_version.files, current.files, "yours-started-from", "live") if base_version else None
    latest = history().latest(current.name)
    body = render_template("admin/conflict.html", pack=current, base=base, base_version=base_version,
                           theirs=theirs, yours=diff_files(current.files, mine, "live", "yours"), latest=latest,
                           mine=mine)
    return Response(body, status=409)


def _find_digest(name: str, digest: str) -> Version | None:
    if not re.fullmatch(r"[0-9a-f]{16}", digest or ""):
        return None
    for version in history().versions(name):
        if version.digest == digest:
            return version
    return None


# ---- history ------------------------------------------------------------------------------------------------------

@bp.get("/packs/<name>/history")
def history_page(name: str) -> Any:
    live = load_pack(name)
    history().ensure_current(name, live.files)
    versions = history().versions(name)
    labels = fields.diff_labels()
    changes = {v.id: field_changes(older.files, v.files, labels)
               for v, older in zip(versions, versions[1:], strict=False)}
    return render_template("admin/history.html", pack=live, versions=versions, changes=changes)


@bp.get("/packs/<name>/diff")
def diff_page(name: str) -> Any:
    live = load_pack(name)
    a_id, b_id = request.args.get("a", ""), request.args.get("b", "live")
    try:
        a = history().get(name, a_id)
        b = None if b_id == "live" else history().get(name, b_id)
    except KeyError:
        return page_error(404, "No such version", "That version is not in this pack's history.")
    b_files = live.files if b is None else b.files
    if b is not None and a.id > b.id:  # always old -> new, whichever way round they were picked
        a, b = b, a
        b_files = b.files
    diff = diff_files(a.files, b_files, "a", "b")
    return render_template("admin/diff.html", pack=live, a=a, b=b, diff=diff, versions=history().versions(name),
                           changes=field_changes(a.files, b_files, fields.diff_labels()))


@bp.post("/packs/<name>/rollback")
def rollback(name: str) -> Any:
    live = load_pack(name)
    try:
        target = history().get(name, request.form.get("version", ""))
    except KeyError:
        return page_error(404, "No such version", "That version is not in this pack's history.")
    _pack, error = _check(name, target.files)
    if error:
        return page_error(422, "This version cannot go live",
                          f"It no longer passes the pack checks: {error['message']}")
    when = target.time[:16].replace("T", " ")
    note = f"Rolled back to the version saved by {target.author} on {when} UTC"
    return save(live, dict(target.files), request.form.get("base", ""), note=note, action="rollback",
                extra={"rollback_to": target.id})


@bp.app_template_filter("when")
def _when(value: Any) -> str:
    """'2026-11-24 08:05 UTC' from ISO text."""
    if not isinstance(value, str) or len(value) < 16:
        return str(value or "")
    return value[:10] + " " + value[11:16] + " UTC"


@bp.app_template_global("articles")
def _articles(pack: Pack) -> list[dict[str, Any]]:
    """The pack's knowledge articles by title (the pack form lists them)."""
    return sorted(pack.data.get("knowledge") or [], key=lambda a: str(a.get("title", "")).lower())


@bp.app_template_filter("slug")
def _slug(value: Any) -> str:
    """'Response targets on X' -> 'response-targets-on-x' (section anchors)."""
    return re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-")
