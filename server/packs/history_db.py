"""Pack version history in the team database: the same `PackHistory` interface, one row per version.

A team runs several server processes (and may run them on several hosts): a history in one host's files would
show each process only its own saves. A version's id sorts by time as in the file history, so listing is an index
range; the body is the version as JSON, written in one INSERT (a crash never leaves half a version), and the
primary key settles two supervisors saving in the same microsecond (the later one gets a `-2` suffix).
"""
from __future__ import annotations

import json
import threading
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from server.packs.history import ACTIONS, VERSION_ID_RE, PackHistory, Version, _iso, _now, _pack_version, _stamp
from server.packs.store import check_name, digest_of
from server.store.database import Database


class DbPackHistory(PackHistory):
    """The versions of every pack, in the `pack_versions` table."""

    def __init__(self, db: Database) -> None:
        super().__init__(Path("."))
        self.db = db
        self._lock = threading.Lock()

    def record(self, pack: str, files: dict[str, str], author: str, note: str = "", action: str = "save",
               when: datetime | None = None, **extra: Any) -> Version:
        if action not in ACTIONS:
            raise ValueError(f"unknown history action {action!r}")
        check_name(pack)
        when = when or _now()
        digest = digest_of(files)
        base = f"{_stamp(when)}-{digest}"
        for n in range(1, 100):
            vid = base if n == 1 else f"{base}-{n}"
            version = Version(id=vid, pack=pack, digest=digest, files=dict(files), author=author, time=_iso(when),
                              note=note.strip()[:500], action=action, pack_version=_pack_version(files), extra=extra)
            try:
                with self.db.write() as conn:
                    conn.execute(text("INSERT INTO pack_versions (id, pack, body, created_at) "
                                      "VALUES (:id, :pack, :body, :at)"),
                                 {"id": vid, "pack": pack, "at": when.timestamp(),
                                  "body": json.dumps(asdict(version), ensure_ascii=False)})
                return version
            except IntegrityError:
                continue  # the same id saved by someone else a moment ago: take the next suffix
        raise RuntimeError("could not record the pack version")

    def ids(self, pack: str) -> list[str]:
        check_name(pack)
        with self.db.read() as conn:
            return [r[0] for r in conn.execute(
                text("SELECT id FROM pack_versions WHERE pack = :pack ORDER BY id DESC"), {"pack": pack})]

    def get(self, pack: str, version_id: str) -> Version:
        if not isinstance(version_id, str) or not VERSION_ID_RE.match(version_id):
            raise KeyError(version_id)
        check_name(pack)
        with self.db.read() as conn:
            body = conn.execute(text("SELECT body FROM pack_versions WHERE pack = :pack AND id = :id"),
                                {"pack": pack, "id": version_id}).scalar()
        if body is None:
            raise KeyError(version_id)
        raw = json.loads(body)
        return Version(**{k: raw[k] for k in raw if k in Version.__dataclass_fields__})
