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
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.packs.store import check_name, digest_of, write_atomic

ACTIONS = ("initial", "save", "rollback", "external")
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


def diff_text(old: dict[str, str], new: dict[str, str], old_label: str = "old", new_label: str = "new") -> str:
    """The same diff as plain unified-diff text (for logs, tests and copy-paste)."""
    chunks: list[str] = []
    for name in sorted(set(old) | set(new)):
        chunks.extend(difflib.unified_diff((old.get(name) or "").splitlines(), (new.get(name) or "").splitlines(),
                                           f"{old_label}/{name}", f"{new_label}/{name}", lineterm=""))
    return "\n".join(chunks)


__all__ = ["PackHistory", "Version", "diff_files", "diff_text"]
