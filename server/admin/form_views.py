"""The pack form's routes: check, preview and save a lead's edit without TOML; export and import a pack as one file.

The form's save ends in the same `views.save` as a raw TOML edit (same base check, same version number, same
journalled `PackStore.write(name, files, replace=True)`, same history), so the two views can never disagree
about what is live.
"""
from __future__ import annotations

import json
from typing import Any

import tomlkit
from flask import Response, flash, g, jsonify, redirect, request, url_for

from server.admin import fields, formedit
from server.admin.preview import run_preview, with_queue
from server.admin.views import (
    admin_svc,
    bp,
    history,
    load_pack,
    page_error,
    render_editor,
    save,
    store,
)
from server.packs.history import field_changes
from server.packs.store import PackError, check_name, parse_pack

EXPORT_FORMAT = "replydesk-pack"
MAX_IMPORT = 1024 * 1024


def _form_result(name: str) -> tuple[Any, dict[str, str], dict[str, str], dict[str, str]]:
    live = load_pack(name)
    values = formedit.submitted(request.form)
    files, errors = formedit.apply_form(live, values)
    return live, {**formedit.form_values(live), **values}, files, errors


@bp.post("/packs/<name>/form")
def form_post(name: str) -> Any:
    """Check (the default), preview or save the form."""
    live, values, files, errors = _form_result(name)
    base = request.form.get("base") or ""
    action = request.form.get("action", "check")
    changes = field_changes(live.files, files, fields.diff_labels())
    if errors:
        n = len(errors)
        return render_editor(live, files, base, view="form", values=values, field_errors=errors, status=422,
                             changes=changes, notice=None,
                             error={"problem": f"{n} field{'' if n == 1 else 's'} to fix before this can be "
                                    "saved; each says what it needs.", "file": None, "line": None, "key": None})
    if action == "save":
        return save(live, files, base, note=request.form.get("note", ""), back="form")
    if action == "preview":
        rows = run_preview(parse_pack(name, files), live, request.form.get("samples", ""),
                           request.form.get("sample_platform", "x"), with_queue())
        return render_editor(live, files, base, view="form", values=values, preview=rows, changes=changes,
                             notice="Preview of your unsaved edits beside the live pack (nothing saved yet).")
    return render_editor(live, files, base, view="form", values=values, changes=changes,
                         notice="Every field is valid. Nothing is saved until you press Save.")


@bp.post("/packs/<name>/form/check")
def form_check(name: str) -> Any:
    """Live checks for the form's script: the form's fields in, {"ok", "errors": {field: words}, "changes"} out."""
    live, _values, files, errors = _form_result(name)
    changes = [c["text"] for c in field_changes(live.files, files, fields.diff_labels())] if not errors else []
    return jsonify({"ok": not errors, "errors": errors, "changes": changes})


# ---- one file per pack ----------------------------------------------------------------------------------------

@bp.get("/packs/<name>/export")
def export_pack(name: str) -> Any:
    """The live pack as one JSON file: its files' texts, kept verbatim (comments and all)."""
    live = load_pack(name)
    body = json.dumps({"format": EXPORT_FORMAT, "format_version": 1, "name": live.name, "version": live.version,
                       "digest": live.digest, "files": live.files}, ensure_ascii=False, indent=1)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{live.name}-v{live.version}.replydesk-pack.json"'})


def _read_import() -> tuple[str, dict[str, str]]:
    upload = request.files.get("pack_file")
    if upload is None:
        raise ValueError("Choose a pack file (exported from a Reply Desk console).")
    raw = upload.read(MAX_IMPORT + 1)
    if len(raw) > MAX_IMPORT:
        raise ValueError(f"A pack file is at most {MAX_IMPORT // 1024} KB.")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError("This is not a pack file: it is not JSON.") from None
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT or not isinstance(doc.get("files"), dict):
        raise ValueError("This is not a pack file: it lacks \"format\": \"replydesk-pack\" and its files.")
    files = doc["files"]
    if not files or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise ValueError("The pack file's files must be names and texts.")
    name = (request.form.get("name") or "").strip() or str(doc.get("name") or "")
    return name, {k: v.replace("\r\n", "\n") for k, v in files.items()}


@bp.post("/packs/import")
def import_pack() -> Any:
    """A pack file goes live as a new version of its pack (or as a new pack); the history keeps the old one."""
    try:
        name, files = _read_import()
        check_name(name)
        files = _renamed(files, name)
        parse_pack(name, files)
    except (ValueError, PackError) as exc:
        return page_error(422, "This pack file cannot be imported", str(exc))
    try:
        live = store().get(name, fresh=True)
    except KeyError:
        with admin_svc().save_lock:
            pack = store().write(name, files, replace=True)
            history().record(name, files, author=str(g.supervisor), action="import",
                             note=request.form.get("note", "") or "Imported as a new pack")
        flash(f"Imported: new pack '{name}' version {pack.version} is live for agents now.", "ok")
        return redirect(url_for("admin.editor", name=name))
    return save(live, files, live.digest, note=request.form.get("note", "") or "Imported from a pack file",
                action="import")


def _renamed(files: dict[str, str], name: str) -> dict[str, str]:
    """The files with [pack].name set to the pack they are imported as."""
    out = dict(files)
    for fname, text in files.items():
        if not fname.endswith(".toml"):
            continue
        try:
            doc = tomlkit.parse(text)
        except Exception:  # tomlkit's errors share no base; parse_pack reports the file and line next
            continue
        if "pack" in doc and "name" in doc["pack"]:
            doc["pack"]["name"] = name
            out[fname] = tomlkit.dumps(doc)
    return out
