"""Agents' corrections of a post's intent, kept per pack: each one then acts as an example post of that pack.

One JSON file in the data folder (`triage_corrections.json`), rewritten atomically (temp file + fsync +
os.replace) under a lock, so a crash mid-write leaves the previous file, never half of one. Small by design: the
newest `MAX_PER_PACK` corrections per pack are kept, which bounds both the file and the neighbour search.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

MAX_PER_PACK = 500
FILE_NAME = "triage_corrections.json"


class CorrectionStore:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self._lock = threading.Lock()
        self._packs: dict[str, list[dict[str, Any]]] = self._load()

    def _load(self) -> dict[str, list[dict[str, Any]]]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}  # an unreadable file must not stop the server; the next correction rewrites it
        packs = raw.get("packs") if isinstance(raw, dict) else None
        return {str(k): [r for r in v if isinstance(r, dict) and "text" in r and "intent" in r]
                for k, v in (packs or {}).items() if isinstance(v, list)}

    def add(self, pack: str, text: str, intent: str, post_id: str | None = None) -> int:
        """Store one correction (a later correction of the same text replaces it); returns the pack's count."""
        with self._lock:
            rows = [r for r in self._packs.get(pack, []) if r["text"] != text]
            rows.append({"text": text, "intent": intent, "post_id": post_id, "at": int(time.time())})
            self._packs[pack] = rows[-MAX_PER_PACK:]
            self._write()
            return len(self._packs[pack])

    def examples(self, pack: str) -> dict[str, tuple[str, ...]]:
        """The pack's corrections as {intent: texts}, the shape of a pack's [analysis] examples."""
        with self._lock:
            rows = list(self._packs.get(pack, []))
        out: dict[str, tuple[str, ...]] = {}
        for r in rows:
            out[r["intent"]] = out.get(r["intent"], ()) + (r["text"],)
        return out

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".corrections-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"version": 1, "packs": self._packs}, f, ensure_ascii=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
