"""From the pack form to the pack's TOML files, with `tomlkit` so comments, order and layout survive a save.

Only fields whose value changed are written: an untouched field leaves its TOML byte for byte, so a lead's edit of
one phrase shows in the history as one changed line, and hand-written comments beside it stay. The result goes
through the same `parse_pack` (and then the same save and journal) as a raw TOML edit.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import tomlkit
from tomlkit.items import AoT, InlineTable, Table

from server.admin import fields as F
from server.packs.store import Pack, PackError, parse_pack

FORM_ERROR = "_pack"  # errors that belong to no one field


def form_values(pack: Pack) -> dict[str, str]:
    """Every field's current text, as the form shows it."""
    return {f.id: F.to_form(f, F.value_at(pack.data, f.path)) for f in F.FIELDS}


def submitted(form: Any) -> dict[str, str]:
    """The form's field texts; a checkbox arrives as a hidden "0" followed by "1" when ticked (the last one wins)."""
    out = {}
    for f in F.FIELDS:
        values = form.getlist(f.id) if hasattr(form, "getlist") else [form[f.id]] if f.id in form else []
        if values:
            out[f.id] = str(values[-1])
    return out


def _file_for(pack: Pack, top: str) -> str:
    if top in pack.origin:
        return pack.origin[top]
    return "pack.toml" if "pack.toml" in pack.files else sorted(pack.files)[0]


def _container(doc: Any, path: tuple[str, ...]) -> Any:
    """The table that holds the last key of path, creating the tables on the way."""
    node = doc
    for depth, key in enumerate(path[:-1]):
        if key not in node:
            inline = depth >= 2 or isinstance(node, InlineTable)
            node[key] = tomlkit.inline_table() if inline else tomlkit.table()
        node = node[key]
    return node


def _toml_value(node: Any, value: Any) -> Any:
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        arr = tomlkit.array()
        arr.extend(value)
        if isinstance(node, (Table, tomlkit.TOMLDocument)) and (len(value) > 3 or sum(map(len, value)) > 70):
            arr.multiline(True)
        return arr
    return value


def set_path(doc: Any, path: tuple[str, ...], value: Any) -> None:
    if value is F.REMOVE:
        node = doc
        for key in path[:-1]:
            if key not in node:
                return
            node = node[key]
        if path[-1] in node:
            del node[path[-1]]
        return
    node = _container(doc, path)
    node[path[-1]] = _toml_value(node, value)


def _hours_changes(changes: dict[str, Any], pack: Pack) -> None:
    """Day fields and the time zone are one table: no zone drops the table, a new zone starts one."""
    zone_id = "sla.business_hours.timezone"
    had = F.value_at(pack.data, ("sla", "business_hours")) is not None
    zone = changes.get(zone_id, F.value_at(pack.data, ("sla", "business_hours", "timezone")))
    if zone is F.REMOVE or zone is None:
        day_changes = [k for k in changes if k.startswith("sla.business_hours.periods.")]
        for k in day_changes:
            del changes[k]
        if had:
            changes.pop(zone_id, None)
            changes["sla.business_hours"] = F.REMOVE
        return
    if not had:  # a new table needs every day, closed ones as []
        for d in F.DAYS:
            changes.setdefault(f"sla.business_hours.periods.{d}", [])


def apply_form(pack: Pack, values: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The pack's files with the form's changes; and the errors by field id (empty when the pack is valid)."""
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {}
    for f in F.FIELDS:
        if f.id not in values:
            continue
        try:
            new = F.parse(f, values[f.id])
            old = F.parse(f, F.to_form(f, F.value_at(pack.data, f.path)))
        except F.FieldError as exc:
            errors[f.id] = str(exc)
            continue
        if new != old and not (new is F.REMOVE and F.value_at(pack.data, f.path) is None):
            changes[f.id] = new
    _hours_changes(changes, pack)
    files = dict(pack.files)
    docs: dict[str, Any] = {}
    for fid, value in changes.items():
        path = tuple(fid.split("."))
        fname = _file_for(pack, path[0])
        if fname not in docs:
            docs[fname] = tomlkit.parse(files[fname])
        set_path(docs[fname], path, value)
    for fname, doc in docs.items():
        files[fname] = tomlkit.dumps(doc)
    if not errors:
        errors.update(check_files(pack.name, files))
    return files, errors


def check_files(name: str, files: dict[str, str]) -> dict[str, str]:
    """parse_pack's verdict as errors by field (the pack-wide slot when no field owns the key)."""
    try:
        parse_pack(name, files)
    except PackError as exc:
        field = F.field_for_key(exc.key)
        if field is not None:
            return {field.id: _words(exc.problem)}
        return {FORM_ERROR: str(exc)}
    return {}


def _words(problem: str) -> str:
    """jsonschema's wording, made readable for a lead (the field's own rule is shown beside it)."""
    problem = re.sub(r"^\[\] should be non-empty$", "Needs at least one line.", problem)
    problem = re.sub(r" is too short$", ": too short.", problem)
    return problem[:1].upper() + problem[1:]


# ---- the version number that moves ----------------------------------------------------------------------------

def next_version(version: str) -> str:
    """'1' -> '2', '2.9' -> '2.10', 'v7' -> 'v8'; a version with no number gets '.2' after it."""
    m = re.match(r"^(.*?)(\d+)$", version)
    if m:
        return f"{m.group(1)}{int(m.group(2)) + 1}"
    return f"{version}.2"


def with_version(files: dict[str, str], origin: dict[str, str], version: str) -> dict[str, str]:
    """The files with [pack].version set (in the file that defines [pack]); anything unparsable is left as is."""
    fname = origin.get("pack", "pack.toml")
    if fname not in files:
        return files
    try:
        doc = tomlkit.parse(files[fname])
    except Exception:  # tomlkit's parse errors have no common base; the save's own check reports them
        return files
    if not isinstance(doc.get("pack"), (Table, InlineTable)) or isinstance(doc.get("pack"), AoT):
        return files
    doc["pack"]["version"] = version
    return {**files, fname: tomlkit.dumps(doc)}
