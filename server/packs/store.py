"""Prompt packs: loading, validation with precise errors, and the guarantee that a bad edit never reaches agents.

A pack is a folder `prompts/<name>/` of TOML files whose top-level tables are merged into one document
(`pack.toml`, `intents.toml`, `llm.toml`), beside `knowledge/<id>.md` (one article each, kept in the document as
`knowledge`) and `lang/<code>.toml` (a playbook in another language, kept as `languages.<code>`).
The store re-reads a pack when its files change, so edits take effect
without a restart; when the new files are broken it keeps serving the last good version and remembers why.
The last good version is also copied into the data folder, so even a restart over a broken file keeps working.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from server.core.packview import PackView, build_view
from server.knowledge.articles import MAX_ARTICLES, ArticleError, article_id, parse_article
from server.packs.schema import LANG_SCHEMA, PACK_SCHEMA

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")
PACK_FILES_GLOB = "*.toml"
# Files in sub-folders a pack may hold: knowledge articles and per-language playbooks.
SUB_GLOBS = ("knowledge/*.md", "lang/*.toml")
LANG_FILE_RE = re.compile(r"^lang/([a-z]{2})\.toml$")
# Pack files edited by hand (not through the console, which swaps the live pack at once) are noticed within this
# many seconds: stat-ing every file on every suggestion was a tenth of the server's time under load.
RECHECK_SECONDS = 0.5
JOURNAL = ".pending-save.json"  # a pack save in progress (see write_set)
_validator = Draft202012Validator(PACK_SCHEMA)
_lang_validator = Draft202012Validator(LANG_SCHEMA)


class PackError(ValueError):
    """A pack that cannot be used, with where (file, line, key) and what is wrong."""

    def __init__(self, pack: str, problem: str, file: str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        self.pack, self.problem, self.file, self.line, self.key = pack, problem, file, line, key
        where = ":".join(str(x) for x in (file, line) if x is not None)
        super().__init__(f"pack '{pack}': {where + ': ' if where else ''}{key + ': ' if key else ''}{problem}")

    def as_dict(self) -> dict[str, Any]:
        return {"pack": self.pack, "file": self.file, "line": self.line, "key": self.key, "problem": self.problem,
                "message": str(self)}


@dataclass(frozen=True)
class Pack:
    name: str
    data: dict[str, Any]
    files: dict[str, str]
    digest: str
    origin: dict[str, str] = field(default_factory=dict)  # top-level key -> file that defines it
    view: PackView = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.view is None:  # built once per parsed pack: the defaults every part reads
            object.__setattr__(self, "view", build_view(self.data))

    @property
    def version(self) -> str:
        return str(self.data["pack"]["version"])

    def summary(self) -> dict[str, Any]:
        meta = self.data["pack"]
        return {"name": self.name, "version": self.version, "brand": meta["brand"],
                "description": meta.get("description", ""), "digest": self.digest}


def digest_of(files: dict[str, str]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return h.hexdigest()[:16]


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise PackError(str(name)[:60], "a pack name is lower-case letters, digits, '-' and '_' (at most 41)")
    return name


def key_line(text: str, path: list[str | int]) -> int | None:
    """Best-effort line of a key path in a TOML text, so errors can point at it."""
    keys = [str(p) for p in path if not isinstance(p, int)]
    if not keys:
        return None
    table: list[str] = []
    best: int | None = None
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        m = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if m:
            table = [k.strip().strip('"') for k in m.group(1).split(".")]
            if table == keys[: len(table)] and best is None and len(table) == len(keys):
                best = no
            continue
        m = re.match(r'^("?)([A-Za-z0-9_\-]+)\1\s*=', line)
        if m:
            full = table + [m.group(2)]
            if full == keys:
                return no
            if full == keys[: len(full)] and best is None:
                best = no
    return best


def _toml(name: str, fname: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise PackError(name, f"TOML syntax error: {exc}", file=fname,
                        line=int(m.group(1)) if m else None) from None


def _schema_problem(err: Any) -> tuple[list[Any], str]:
    path = list(err.path)
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else "?"
        return path + [missing], f"'{missing}' is required"
    if err.validator == "additionalProperties":
        return path, f"unknown key: {err.message.split('(')[-1].rstrip(')')}"
    return path, err.message


def _sub_files(name: str, files: dict[str, str]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The pack's files by kind: top-level TOML, knowledge articles, language playbooks."""
    tomls, articles, langs = {}, {}, {}
    for fname in sorted(files):
        if fname.startswith("knowledge/"):
            try:
                article_id(fname)
            except ArticleError as exc:
                raise PackError(name, exc.problem, file=fname) from None
            articles[fname] = files[fname]
        elif fname.startswith("lang/"):
            if not LANG_FILE_RE.match(fname):
                raise PackError(name, "a language playbook is 'lang/<two-letter code>.toml'", file=fname)
            langs[fname] = files[fname]
        elif not fname.endswith(".toml") or "/" in fname or fname.startswith("."):
            raise PackError(name, "pack files are plain '*.toml' names, 'knowledge/<id>.md' or "
                            "'lang/<code>.toml'", file=fname)
        else:
            tomls[fname] = files[fname]
    if len(articles) > MAX_ARTICLES:
        raise PackError(name, f"a pack holds at most {MAX_ARTICLES} knowledge articles", file="knowledge/")
    return tomls, articles, langs


def _languages(name: str, langs: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fname, text in langs.items():
        doc = _toml(name, fname, text)
        errors = sorted(_lang_validator.iter_errors(doc), key=lambda e: (len(e.path), list(map(str, e.path))))
        if errors:
            path, problem = _schema_problem(errors[0])
            raise PackError(name, problem, file=fname, line=key_line(text, path),
                            key=".".join(map(str, path)) or None)
        out[LANG_FILE_RE.match(fname).group(1)] = doc  # type: ignore[union-attr]
    return out


def _knowledge(name: str, articles: dict[str, str], allowed: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for fname, text in articles.items():
        try:
            out.append(parse_article(fname, text, allowed).as_dict())
        except ArticleError as exc:
            raise PackError(name, exc.problem, file=fname, line=exc.line, key=exc.key) from None
    return out


def parse_pack(name: str, files: dict[str, str]) -> Pack:
    """Validate a pack's file texts; raise PackError naming file, line and key."""
    check_name(name)
    tomls, articles, langs = _sub_files(name, files)
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for fname in sorted(tomls):
        doc = _toml(name, fname, tomls[fname])
        for key, value in doc.items():
            if key in merged or key in ("knowledge", "languages"):
                where = origin.get(key, "knowledge/ and lang/, which the pack keeps under that name")
                raise PackError(name, f"table '{key}' is also defined in {where}", file=fname,
                                line=key_line(files[fname], [key]), key=key)
            merged[key] = value
            origin[key] = fname
    errors = sorted(_validator.iter_errors(merged), key=lambda e: (len(e.path), list(map(str, e.path))))
    if errors:
        path, problem = _schema_problem(errors[0])
        top = str(path[0]) if path else None
        fname = origin.get(top or "", None)
        if fname is None:
            fname = "pack.toml" if "pack.toml" in files else (sorted(tomls)[0] if tomls else None)
        line = key_line(files.get(fname or "", ""), path) if fname else None
        raise PackError(name, problem, file=fname, line=line, key=".".join(map(str, path)) or None)
    if merged["pack"]["name"] != name:
        raise PackError(name, f"pack.name is '{merged['pack']['name']}' but the folder is '{name}'",
                        file=origin["pack"], line=key_line(files[origin["pack"]], ["pack", "name"]), key="pack.name")
    allowed = tuple((merged.get("tone") or {}).get("allowed_domains") or ())
    if articles:
        merged["knowledge"] = _knowledge(name, articles, allowed)
    if langs:
        merged["languages"] = _languages(name, langs)
    return Pack(name=name, data=merged, files=dict(files), digest=digest_of(files), origin=origin)


def pack_paths(folder: Path) -> list[Path]:
    """Every file of a pack folder: its TOML files and those of its knowledge/ and lang/ folders."""
    found = [p for p in folder.glob(PACK_FILES_GLOB) if p.is_file()]
    for pattern in SUB_GLOBS:
        found += [p for p in folder.glob(pattern) if p.is_file() and not p.name.startswith(".")]
    return sorted(found)


def read_files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8") for p in pack_paths(folder)}


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_set(folder: Path, files: dict[str, str], *, remove_others: bool = False) -> None:
    """Write a pack's files so that a crash leaves all of them old or all of them new.

    Each file alone is atomic (write_atomic), but a pack is several files: a kill between two of them left
    pack.toml of one save beside llm.toml of the previous one, a combination nobody validated. So the whole
    set goes first into a journal (one atomic write), then into the files; `recover` finishes a set that a
    crash interrupted, before anything reads the folder."""
    write_atomic(folder / JOURNAL, json.dumps({"files": files, "remove_others": remove_others}, ensure_ascii=False))
    _apply_set(folder, files, remove_others)
    # Another process starting on the same folder (gunicorn's workers share the last-good copies) may have rolled
    # this very set forward and removed the journal already: the files are what this save wrote either way.
    (folder / JOURNAL).unlink(missing_ok=True)


def _apply_set(folder: Path, files: dict[str, str], remove_others: bool) -> None:
    for fname, text in files.items():
        write_atomic(folder / fname, text)
    if remove_others:
        for stale in pack_paths(folder):
            if stale.relative_to(folder).as_posix() not in files:
                stale.unlink(missing_ok=True)


def _plain_file(fname: str) -> bool:
    if fname.startswith("knowledge/"):
        try:
            article_id(fname)
            return True
        except ArticleError:
            return False
    if fname.startswith("lang/"):
        return bool(LANG_FILE_RE.match(fname))
    return fname == ".digest" or (fname.endswith(".toml") and "/" not in fname and "\\" not in fname
                                  and not fname.startswith("."))


def recover(folder: Path) -> bool:
    """Finish an interrupted `write_set` in `folder` and remove temp files of writers that died.

    Returns True when a set was rolled forward. Temp files of live processes are left alone."""
    for tmp in [*folder.glob(".*.tmp"), *folder.glob("knowledge/.*.tmp"), *folder.glob("lang/.*.tmp")]:
        parts = tmp.name.rsplit(".", 3)  # .<name>.<pid>.<thread>.tmp
        try:
            pid = int(parts[1])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            tmp.unlink(missing_ok=True)
        except PermissionError:  # another user's live process
            pass
    journal = folder / JOURNAL
    if not journal.is_file():
        return False
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
        files = data["files"]
        if not (isinstance(files, dict) and all(isinstance(k, str) and isinstance(v, str) and
                                                  _plain_file(k) for k, v in files.items())):
            raise TypeError("journal files are not names and texts")
    except (OSError, ValueError, KeyError, TypeError):
        journal.unlink(missing_ok=True)  # unreadable: written by no version of this code; the files stand
        return False
    _apply_set(folder, files, bool(data.get("remove_others")))
    journal.unlink(missing_ok=True)  # a writer or another recovering process may have finished it meanwhile
    return True


class PackStore:
    """Packs by name, re-read when their files change; a broken edit keeps the last good version live."""

    def __init__(self, packs_dir: Path, good_dir: Path | None = None,
                 recheck_seconds: float = RECHECK_SECONDS) -> None:
        self.packs_dir = Path(packs_dir)
        self.recheck_seconds = recheck_seconds
        self.good_dir = Path(good_dir) if good_dir else None
        self._lock = threading.RLock()
        self._packs: dict[str, Pack] = {}
        self._stamps: dict[str, tuple] = {}
        self.errors: dict[str, PackError] = {}
        self.listeners: list = []  # callables(name, pack) told when a new version goes live
        self._checked: dict[str, float] = {}  # monotonic time each pack's files were last looked at
        for root in (self.packs_dir, self.good_dir):  # finish saves a crash interrupted, before any read
            if root is not None and root.is_dir():
                for folder in root.iterdir():
                    if folder.is_dir() and NAME_RE.match(folder.name):
                        recover(folder)

    def _stamp(self, folder: Path) -> tuple:
        try:
            return tuple((p.relative_to(folder).as_posix(), p.stat().st_mtime_ns, p.stat().st_size)
                         for p in pack_paths(folder))
        except OSError:
            return ()

    def names(self) -> list[str]:
        found = {p.name for p in self.packs_dir.iterdir() if p.is_dir() and NAME_RE.match(p.name)} \
            if self.packs_dir.is_dir() else set()
        if self.good_dir and self.good_dir.is_dir():
            found |= {p.name for p in self.good_dir.iterdir() if p.is_dir() and NAME_RE.match(p.name)}
        return sorted(found)

    def get(self, name: str, fresh: bool = False) -> Pack:
        """The live version of a pack; raises KeyError if there is no usable version at all.

        `fresh` looks at the files now (the console, which must see a hand edit of a moment ago); agents'
        requests take the version checked within recheck_seconds."""
        check_name(name)
        now = time.monotonic()
        cached = self._packs.get(name)
        if not fresh and cached is not None and now - self._checked.get(name, -1e9) < self.recheck_seconds:
            return cached  # looked at the files a moment ago: edits by hand show within recheck_seconds
        folder = self.packs_dir / name
        stamp = self._stamp(folder)
        self._checked[name] = now
        with self._lock:
            if name in self._packs and self._stamps.get(name) == stamp:
                return self._packs[name]
            if stamp:
                try:
                    pack = parse_pack(name, read_files(folder))
                except PackError as exc:
                    self.errors[name] = exc
                    self._stamps[name] = stamp
                else:
                    self.errors.pop(name, None)
                    self._stamps[name] = stamp
                    self._go_live(pack)
                    return pack
            if name in self._packs:
                return self._packs[name]
            snapshot = self._load_snapshot(name)
            if snapshot is not None:
                self._packs[name] = snapshot
                return snapshot
            if name in self.errors:
                raise KeyError(str(self.errors[name]))
            raise KeyError(f"no pack named '{name}'")

    def _go_live(self, pack: Pack) -> None:
        previous = self._packs.get(pack.name)
        self._packs[pack.name] = pack
        if self.good_dir:
            self._save_snapshot(pack)
        if previous is None or previous.digest != pack.digest:
            for listener in list(self.listeners):
                listener(pack.name, pack)

    def _save_snapshot(self, pack: Pack) -> None:
        assert self.good_dir
        target = self.good_dir / pack.name
        marker = target / ".digest"
        if marker.exists() and marker.read_text() == pack.digest:
            return
        target.mkdir(parents=True, exist_ok=True)
        write_set(target, {**pack.files, ".digest": pack.digest}, remove_others=True)

    def _load_snapshot(self, name: str) -> Pack | None:
        if not self.good_dir or not (self.good_dir / name).is_dir():
            return None
        try:
            return parse_pack(name, read_files(self.good_dir / name))
        except PackError:
            return None

    def write(self, name: str, files: dict[str, str], *, replace: bool = False) -> Pack:
        """Validate, then atomically write a pack's files and make it live. Raises PackError, writing nothing.

        `replace` makes `files` the whole pack: files not in it are removed in the same journalled set (a
        rollback to a version with fewer files), so a crash never leaves a mix nobody validated."""
        pack = parse_pack(name, files)
        folder = self.packs_dir / name
        with self._lock:
            folder.mkdir(parents=True, exist_ok=True)
            write_set(folder, files, remove_others=replace)
            self._stamps[name] = self._stamp(folder)
            self.errors.pop(name, None)
            self._go_live(pack)
        return pack

    def status(self) -> list[dict[str, Any]]:
        out = []
        for name in self.names():
            try:
                info = self.get(name).summary()
            except KeyError:
                info = {"name": name, "version": None}
            err = self.errors.get(name)
            info["error"] = err.as_dict() if err else None
            out.append(info)
        return out


def pack_json(pack: Pack) -> str:
    return json.dumps(pack.data, ensure_ascii=False, indent=2)
