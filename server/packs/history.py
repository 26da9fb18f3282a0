"""Pack version history: every version that went live is kept, so any two can be compared and any one restored.

Each version is one JSON file `<data_dir>/pack-history/<pack>/<stamp>-<digest>.json` holding the pack's file
texts plus who saved it, when, why and how (save, rollback, the original files, or an edit made outside the
console). One file per version, written atomically, means a crash never leaves half a history and two servers on
one data folder never rewrite each other's entries. The stamp sorts by time, so the listing needs no index.
"""
from __future__ import annotations

import difflib
import json
import re
import threading
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.packs.store import check_name, digest_of, write_atomic

ACTIONS = ("initial", "save", "rollback", "external", "import")
VERSION_ID_RE = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{16}(?:-\d+)?$")


@dataclass(frozen=True)
class Version:
    """One saved version of a pack."""

    id: str
    pack: str
    digest: str
    files: dict[str, str]
    author: str
    time: str  # ISO-8601 UTC with Z
    note: str = ""
    action: str = "save"
    pack_version: str | None = None  # the pack.version string inside the files, for people
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("files")
        return out


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y%m%dT%H%M%S.%fZ")


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _pack_version(files: dict[str, str]) -> str | None:
    """The `version = ...` under [pack], read loosely: history must keep even versions that do not parse."""
    m = re.search(r'^\[pack\][^\[]*?^version\s*=\s*"([^"\n]*)"', files.get("pack.toml", ""), re.M | re.S)
    return m.group(1) if m else None


class PackHistory:
    """The versions of every pack, kept in one folder per pack."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()

    def _folder(self, pack: str) -> Path:
        return self.root / check_name(pack)

    def record(self, pack: str, files: dict[str, str], author: str, note: str = "", action: str = "save",
               when: datetime | None = None, **extra: Any) -> Version:
        """Keep a version (always a new entry, even if the texts equal an older one: the log says who did what)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown history action {action!r}")
        when = when or _now()
        digest = digest_of(files)
        with self._lock:
            folder = self._folder(pack)
            base = f"{_stamp(when)}-{digest}"
            vid, n = base, 1
            while (folder / f"{vid}.json").exists():
                n += 1
                vid = f"{base}-{n}"
            version = Version(id=vid, pack=pack, digest=digest, files=dict(files), author=author, time=_iso(when),
                              note=note.strip()[:500], action=action, pack_version=_pack_version(files), extra=extra)
            write_atomic(folder / f"{vid}.json", json.dumps(asdict(version), ensure_ascii=False, indent=1))
        return version

    def ids(self, pack: str) -> list[str]:
        """Version ids, newest first."""
        folder = self._folder(pack)
        if not folder.is_dir():
            return []
        return sorted((p.stem for p in folder.glob("*.json") if VERSION_ID_RE.match(p.stem)), reverse=True)

    def get(self, pack: str, version_id: str) -> Version:
        """One version; KeyError when there is none by that id (ids are checked, never used as raw paths)."""
        if not isinstance(version_id, str) or not VERSION_ID_RE.match(version_id):
            raise KeyError(version_id)
        path = self._folder(pack) / f"{version_id}.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise KeyError(version_id) from None
        return Version(**{k: raw[k] for k in raw if k in Version.__dataclass_fields__})

    def versions(self, pack: str, limit: int | None = None) -> list[Version]:
        """Versions newest first; unreadable entries are skipped rather than breaking the page."""
        out = []
        for vid in self.ids(pack)[:limit]:
            try:
                out.append(self.get(pack, vid))
            except KeyError:
                continue
        return out

    def latest(self, pack: str) -> Version | None:
        for vid in self.ids(pack):
            try:
                return self.get(pack, vid)
            except KeyError:
                continue
        return None

    def ensure_current(self, pack: str, files: dict[str, str]) -> Version | None:
        """Record the live files if the history does not end with them (first view, or an edit on disk)."""
        digest = digest_of(files)
        latest = self.latest(pack)
        if latest is not None and latest.digest == digest:
            return None
        if latest is None:
            return self.record(pack, files, author="(original files)", note="Version found on first view",
                               action="initial")
        return self.record(pack, files, author="(files on disk)", note="Changed outside the console",
                           action="external")


# ---- diffs (pure) -------------------------------------------------------------------------------------------------

def diff_files(old: dict[str, str], new: dict[str, str], old_label: str = "old", new_label: str = "new",
               context: int = 3) -> list[dict[str, Any]]:
    """Per-file unified diff of two versions, as data a page can render.

    Returns one entry per file name in either version: {"file", "status": "same"|"changed"|"added"|"removed",
    "lines": [{"kind": "hunk"|"add"|"del"|"ctx", "text", "old": n|None, "new": n|None}], "added", "removed"}.
    """
    out: list[dict[str, Any]] = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        status = "added" if a is None else "removed" if b is None else "same" if a == b else "changed"
        lines: list[dict[str, Any]] = []
        added = removed = 0
        if status != "same":
            a_lines = (a or "").splitlines()
            b_lines = (b or "").splitlines()
            old_no = new_no = 0
            for raw in difflib.unified_diff(a_lines, b_lines, f"{old_label}/{name}", f"{new_label}/{name}",
                                            n=context, lineterm=""):
                if raw.startswith(("---", "+++")):
                    continue
                if raw.startswith("@@"):
                    m = re.match(r"@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@", raw)
                    if m:
                        old_no, new_no = int(m.group(1)), int(m.group(2))
                    lines.append({"kind": "hunk", "text": raw, "old": None, "new": None})
                elif raw.startswith("+"):
                    lines.append({"kind": "add", "text": raw[1:], "old": None, "new": new_no})
                    new_no += 1
                    added += 1
                elif raw.startswith("-"):
                    lines.append({"kind": "del", "text": raw[1:], "old": old_no, "new": None})
                    old_no += 1
                    removed += 1
                else:
                    lines.append({"kind": "ctx", "text": raw[1:], "old": old_no, "new": new_no})
                    old_no += 1
                    new_no += 1
        out.append({"file": name, "status": status, "lines": lines, "added": added, "removed": removed})
    return out


def merged_data(files: dict[str, str]) -> dict[str, Any] | None:
    """The pack's TOML files merged into one document, or None when one does not parse (history keeps those too)."""
    out: dict[str, Any] = {}
    for name in sorted(files):
        if not name.endswith(".toml") or "/" in name:  # knowledge/ and lang/ files are compared as files
            continue
        try:
            out.update(tomllib.loads(files[name]))
        except tomllib.TOMLDecodeError:
            return None
    return out


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _flatten(sub, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
        for i, sub in enumerate(value, 1):
            _flatten(sub, f"{prefix}.{i}", out)
    else:
        out[prefix] = value


def _label(key: str, labels: dict[str, str]) -> str:
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        hit = labels.get(".".join(parts[:n]))
        if hit is not None:
            return hit + ("" if n == len(parts) else " (" + ".".join(parts[n:]) + ")")
    return key


def _show(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(isinstance(v, list) for v in value):  # opening hours
        return ", ".join("-".join(map(str, v)) for v in value) or "closed"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return f"\u201c{text[:80]}{'…' if len(text) > 80 else ''}\u201d" if isinstance(value, str) else text


def field_changes(old: dict[str, str], new: dict[str, str], labels: dict[str, str] | None = None,
                  skip: tuple[str, ...] = ("pack.version",)) -> list[dict[str, Any]]:
    """What changed, field by field ("Banned phrases: + per company policy"), for people rather than for patch.

    Lists of words show the lines added and removed; other values before and after; files that are not TOML
    (knowledge articles) show as added, changed or removed. Empty when either side does not parse."""
    labels = labels or {}
    a_data, b_data = merged_data(old), merged_data(new)
    if a_data is None or b_data is None:
        return []
    a, b = {}, {}  # type: ignore[var-annotated]
    _flatten(a_data, "", a)
    _flatten(b_data, "", b)
    out = []
    for key in list(a) + [k for k in b if k not in a]:
        before, after = a.get(key), b.get(key)
        if before == after or key in skip:
            continue
        label = _label(key, labels)
        if isinstance(before, (list, type(None))) and isinstance(after, (list, type(None))) and \
                all(isinstance(v, str) for v in (before or []) + (after or [])):
            added = [v for v in after or [] if v not in (before or [])]
            removed = [v for v in before or [] if v not in (after or [])]
            parts = [f"+ {v}" for v in added] + [f"\u2212 {v}" for v in removed] or ["order changed"]
            out.append({"field": key, "label": label, "added": added, "removed": removed,
                        "text": f"{label}: {'; '.join(parts)}"})
        else:
            out.append({"field": key, "label": label, "before": before, "after": after,
                        "text": f"{label}: {_show(before)} \u2192 {_show(after)}"})
    for name in sorted(n for n in set(old) | set(new) if "/" in n or not n.endswith(".toml")):
        if old.get(name) != new.get(name):
            what = "added" if name not in old else "removed" if name not in new else "changed"
            label = labels.get(name) or (f"Knowledge article {name[10:-3]}" if name.startswith("knowledge/")
                                         and name.endswith(".md") else name)
            out.append({"field": name, "label": label, "text": f"{label}: {what}"})
    return out


def diff_text(old: dict[str, str], new: dict[str, str], old_label: str = "old", new_label: str = "new") -> str:
    """The same diff as plain unified-diff text (for logs, tests and copy-paste)."""
    chunks: list[str] = []
    for name in sorted(set(old) | set(new)):
        chunks.extend(difflib.unified_diff((old.get(name) or "").splitlines(), (new.get(name) or "").splitlines(),
                                           f"{old_label}/{name}", f"{new_label}/{name}", lineterm=""))
    return "\n".join(chunks)


__all__ = ["PackHistory", "Version", "diff_files", "diff_text", "field_changes", "merged_data"]
