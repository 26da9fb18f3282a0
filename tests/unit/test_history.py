"""Pack history: every version kept on disk, diffs between any two, ids that cannot escape the folder."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from server.config import REPO_ROOT
from server.packs.history import PackHistory, diff_files, diff_text
from server.packs.store import digest_of, read_files

FILES = read_files(REPO_ROOT / "prompts" / "default")


def edited(old: str, new: str, fname: str = "pack.toml") -> dict[str, str]:
    files = dict(FILES)
    assert old in files[fname]
    files[fname] = files[fname].replace(old, new)
    return files


def test_record_keeps_every_version_newest_first(tmp_path: Path) -> None:
    h = PackHistory(tmp_path)
    t0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    v1 = h.record("default", FILES, author="alice", note="first", when=t0)
    v2 = h.record("default", edited('default = "^AC"', 'default = "^QA"'), author="bob", note="sig",
                  when=t0 + timedelta(minutes=5))
    v3 = h.record("default", FILES, author="alice", note="back", action="rollback", when=t0 + timedelta(minutes=9))
    assert [v.id for v in h.versions("default")] == [v3.id, v2.id, v1.id]
    assert v1.digest == v3.digest == digest_of(FILES) != v2.digest
    got = h.get("default", v2.id)
    assert got.author == "bob" and got.note == "sig" and got.time == "2026-11-24T08:05:00.000000Z"
    assert got.files == v2.files and got.pack_version == "1" and got.action == "save"
    assert h.latest("default").id == v3.id  # type: ignore[union-attr]
    # one self-contained JSON file per version
    stored = json.loads((tmp_path / "default" / f"{v2.id}.json").read_text())
    assert stored["files"]["pack.toml"].count('"^QA"') == 1


def test_same_instant_gets_distinct_ids(tmp_path: Path) -> None:
    h = PackHistory(tmp_path)
    when = datetime(2026, 1, 1, tzinfo=UTC)
    ids = {h.record("default", FILES, author="a", when=when).id for _ in range(3)}
    assert len(ids) == 3 and len(h.versions("default")) == 3


def test_ensure_current_records_first_view_and_outside_edits(tmp_path: Path) -> None:
    h = PackHistory(tmp_path)
    first = h.ensure_current("default", FILES)
    assert first is not None and first.action == "initial"
    assert h.ensure_current("default", FILES) is None  # nothing new
    outside = h.ensure_current("default", edited('brand = "AcmeShop"', 'brand = "Acme"'))
    assert outside is not None and outside.action == "external"
    assert len(h.versions("default")) == 2


@pytest.mark.parametrize("bad", ["../x", "", "20261124T080000.000000Z-zzzz", "a/b", "x" * 300])
def test_bad_ids_are_not_found(tmp_path: Path, bad: str) -> None:
    h = PackHistory(tmp_path)
    h.record("default", FILES, author="a")
    with pytest.raises(KeyError):
        h.get("default", bad)


def test_bad_pack_name_refused(tmp_path: Path) -> None:
    from server.packs.store import PackError

    with pytest.raises(PackError):
        PackHistory(tmp_path).record("../etc", FILES, author="a")


def test_unknown_action_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        PackHistory(tmp_path).record("default", FILES, author="a", action="delete")


def test_diff_files_marks_changed_lines_with_numbers() -> None:
    new = edited('default = "^AC"', 'default = "^QA"')
    new["extra.toml"] = "[x]\n"
    diff = {d["file"]: d for d in diff_files(FILES, new)}
    assert diff["llm.toml"]["status"] == "same" and diff["llm.toml"]["lines"] == []
    assert diff["extra.toml"]["status"] == "added" and diff["extra.toml"]["added"] == 1
    pack = diff["pack.toml"]
    assert pack["status"] == "changed" and pack["added"] == 1 and pack["removed"] == 1
    dels = [ln for ln in pack["lines"] if ln["kind"] == "del"]
    adds = [ln for ln in pack["lines"] if ln["kind"] == "add"]
    line_no = FILES["pack.toml"].splitlines().index('default = "^AC"') + 1
    assert dels == [{"kind": "del", "text": 'default = "^AC"', "old": line_no, "new": None}]
    assert adds == [{"kind": "add", "text": 'default = "^QA"', "old": None, "new": line_no}]
    assert pack["lines"][0]["kind"] == "hunk"
    text = diff_text(FILES, new, "a", "b")
    assert '-default = "^AC"' in text and '+default = "^QA"' in text and "+++ b/extra.toml" in text


def test_diff_removed_file() -> None:
    new = dict(FILES)
    del new["llm.toml"]
    diff = {d["file"]: d for d in diff_files(FILES, new)}
    assert diff["llm.toml"]["status"] == "removed" and diff["llm.toml"]["removed"] > 0
