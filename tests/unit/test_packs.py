"""Prompt packs: both shipped packs are valid and complete, and a bad edit never reaches agents."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from server.config import REPO_ROOT
from server.packs.schema import INTENTS, SEVERITIES
from server.packs.store import PackError, PackStore, parse_pack, read_files

PROMPTS = REPO_ROOT / "prompts"
KNOWN_PLACEHOLDERS = {"name", "brand", "eta", "dm", "details", "order", "ref", "product", "flight", "promise"}


@pytest.fixture
def packs_dir(tmp_path: Path) -> Path:
    target = tmp_path / "prompts"
    shutil.copytree(PROMPTS, target)
    return target


def files_of(name: str) -> dict[str, str]:
    return read_files(PROMPTS / name)


def bump(path: Path, text: str) -> None:
    """Write and make sure the change is visible to a (mtime, size) stamp even on coarse clocks."""
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def edit(files: dict[str, str], fname: str, old: str, new: str) -> dict[str, str]:
    assert old in files[fname], old
    return {**files, fname: files[fname].replace(old, new, 1)}


def error_of(name: str, files: dict[str, str]) -> PackError:
    with pytest.raises(PackError) as info:
        parse_pack(name, files)
    return info.value


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# --- the shipped packs ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["default", "skyway"])
def test_shipped_pack_is_valid_and_complete(name: str) -> None:
    pack = parse_pack(name, files_of(name))
    data = pack.data
    assert pack.name == name and data["pack"]["name"] == name
    for intent in INTENTS:
        cfg = data["intents"][intent]
        assert cfg["acknowledge"] and cfg["next_step"], intent
        assert cfg.get("dm") in ("always", "if_private", "never"), intent
        if cfg["dm"] != "never":
            assert cfg.get("dm_prompt") and all("{dm}" in t for t in cfg["dm_prompt"]), intent
    for intent in ("complaint", "question", "request", "praise", "outage", "legal_safety"):
        assert len(data["intents"][intent]["acknowledge"]) >= 2, intent
        assert len(data["intents"][intent]["next_step"]) >= 2, intent
    assert data["intents"]["abuse"]["engage"] is False and data["intents"]["spam"]["engage"] is False
    assert data["intents"]["legal_safety"]["dm"] == "always"
    examples = data["llm"]["examples"]
    assert 3 <= len(examples) <= 5
    assert "{brand}" in data["llm"]["system_prompt"] and "{signature}" in data["llm"]["system_prompt"]
    assert data["sla"]["business_hours"]["timezone"]


@pytest.mark.parametrize("name", ["default", "skyway"])
def test_templates_use_known_placeholders_and_no_banned_phrases(name: str) -> None:
    data = parse_pack(name, files_of(name)).data
    banned = [b.lower() for b in data["tone"]["banned_phrases"]]
    templates: list[str] = []
    for cfg in data["intents"].values():
        for key in ("acknowledge", "next_step", "dm_prompt", "closing", "follow_up", "warm", "warm_closing",
                    "lighthearted"):
            templates += cfg.get(key) or []
        for lines in (cfg.get("empathy") or {}).values():
            templates += lines
    templates += [entry["answer"] for entry in data.get("faq") or []]
    templates += [ex["reply"] for ex in data["llm"]["examples"]]
    assert len(templates) > 40
    for text in templates:
        assert set(re.findall(r"\{([a-z_]+)\}", text)) <= KNOWN_PLACEHOLDERS, text
        assert not any(b in text.lower() for b in banned), text
    for sev in (data["intents"]["complaint"].get("empathy") or {}):
        assert sev in SEVERITIES
    # several wordings per severity, so replies do not all read the same
    assert sum(len(v) >= 2 for v in data["intents"]["complaint"]["empathy"].values()) >= 2


def test_skyway_is_a_different_voice() -> None:
    default = parse_pack("default", files_of("default")).data
    skyway = parse_pack("skyway", files_of("skyway")).data
    assert skyway["pack"]["formality"] == "formal" and skyway["pack"]["emoji"] is False
    assert default["pack"]["emoji"] is True
    assert skyway["signature"]["format"] != default["signature"]["format"]
    assert skyway["sla"]["x"]["default_minutes"] < default["sla"]["x"]["default_minutes"]
    assert skyway["sla"]["x"]["intent"]["complaint"] < default["sla"]["x"]["intent"]["complaint"]
    assert skyway["sla"]["business_hours"]["periods"]["sun"] == [["06:00", "23:00"]]
    assert "Kind regards" in skyway["tone"]["required_phrases"]
    assert any("compensat" in b for b in skyway["tone"]["banned_phrases"])
    assert skyway["style"]["echo_references"] is False and skyway["style"]["contractions"] is False
    assert set(skyway["pack"]["handles"]["x"]) == {"SkywayAir", "SkywayHelp"}


# --- precise errors -------------------------------------------------------------------------------------------

def test_toml_syntax_error_names_file_and_line() -> None:
    files = files_of("default")
    broken = edit(files, "intents.toml", 'dm = "always"', 'dm = "always')
    err = error_of("default", broken)
    assert err.file == "intents.toml"
    assert err.line == line_of(broken["intents.toml"], 'dm = "always')
    assert "TOML syntax error" in err.problem and "intents.toml" in str(err)


def test_schema_error_names_file_key_path_and_line() -> None:
    files = files_of("default")
    broken = edit(files, "pack.toml", "required = true", 'required = "yes"')
    err = error_of("default", broken)
    assert (err.file, err.key) == ("pack.toml", "signature.required")
    assert err.line == line_of(broken["pack.toml"], 'required = "yes"')
    assert "boolean" in err.problem
    broken = edit(files, "intents.toml", 'dm = "if_private"', 'dm = "sometimes"')
    err = error_of("default", broken)
    assert err.file == "intents.toml" and err.key == "intents.question.dm"
    assert err.line == line_of(broken["intents.toml"], 'dm = "sometimes"')
    broken = edit(files, "style.toml", "echo_references = true", "echo_references = 3")
    err = error_of("default", broken)
    assert (err.file, err.key) == ("style.toml", "style.echo_references") and err.line is not None


def test_missing_required_key() -> None:
    files = files_of("default")
    spam_at = files["intents.toml"].index("[intents.spam]")
    err = error_of("default", {**files, "intents.toml": files["intents.toml"][:spam_at]})
    assert err.key == "intents.spam" and "required" in err.problem and err.file == "intents.toml"
    err = error_of("default", {k: v for k, v in files.items() if k != "llm.toml"})
    assert err.key == "llm" and "required" in err.problem
    err = error_of("default", edit(files, "pack.toml", 'brand = "AcmeShop"\n', ""))
    assert err.key == "pack.brand" and err.file == "pack.toml"


def test_unknown_key() -> None:
    files = files_of("default")
    broken = edit(files, "pack.toml", 'brand = "AcmeShop"', 'brand = "AcmeShop"\ncolour = "blue"')
    err = error_of("default", broken)
    assert "unknown key" in err.problem and "colour" in err.problem and err.file == "pack.toml"
    assert err.key is not None and err.key.startswith("pack")
    assert err.line is not None and err.line <= line_of(broken["pack.toml"], 'colour = "blue"')
    err = error_of("default", {**files, "extra.toml": "[surprise]\nx = 1\n"})
    assert "unknown key" in err.problem and "surprise" in err.problem


def test_same_table_in_two_files_is_an_error() -> None:
    files = files_of("default")
    err = error_of("default", {**files, "more.toml": "[tone]\nmin_score = 10\n"})
    assert err.file in ("more.toml", "pack.toml") and "tone" in err.problem


def test_name_mismatch() -> None:
    err = error_of("skyway", files_of("default"))
    assert err.key == "pack.name" and "default" in err.problem and "skyway" in err.problem
    assert err.file == "pack.toml" and err.line == line_of(files_of("default")["pack.toml"], 'name = "default"')


@pytest.mark.parametrize("bad", ["../../etc/passwd", "..", "a/b", "Default", "", ".hidden", "x" * 60, "def ault"])
def test_bad_names_are_rejected(packs_dir: Path, bad: str) -> None:
    store = PackStore(packs_dir, recheck_seconds=0)
    with pytest.raises(PackError):
        store.get(bad)
    with pytest.raises(PackError):
        parse_pack(bad, files_of("default"))
    with pytest.raises(PackError):
        store.write(bad, files_of("default"))
    assert not (packs_dir.parent / "etc").exists()


def test_bad_file_names_are_rejected() -> None:
    for fname in ("../evil.toml", "notes.txt", ".hidden.toml"):
        err = error_of("default", {**files_of("default"), fname: ""})
        assert err.file == fname


# --- a bad edit never reaches agents --------------------------------------------------------------------------

def test_broken_edit_keeps_last_good_pack_live(packs_dir: Path, tmp_path: Path) -> None:
    store = PackStore(packs_dir, good_dir=tmp_path / "good", recheck_seconds=0)
    seen: list[str] = []
    store.listeners.append(lambda name, pack: seen.append(pack.digest) if name == "default" else None)
    good = store.get("default")
    assert store.errors == {} and seen == [good.digest]
    pack_toml = packs_dir / "default" / "pack.toml"
    bump(pack_toml, pack_toml.read_text().replace("[signature]", "[signature", 1))
    live = store.get("default")
    assert live is good and live.data["signature"]["default"] == "^AC"
    err = store.errors["default"]
    assert err.file == "pack.toml" and err.line is not None and "TOML" in err.problem
    assert seen == [good.digest]
    status = {s["name"]: s for s in store.status()}
    assert status["default"]["error"]["file"] == "pack.toml" and status["default"]["version"] == good.version
    # the fix goes live and clears the error
    bump(pack_toml, good.files["pack.toml"].replace('default = "^AC"', 'default = "^QA"'))
    fixed = store.get("default")
    assert fixed.data["signature"]["default"] == "^QA" and "default" not in store.errors
    assert seen == [good.digest, fixed.digest]


def test_restart_over_broken_file_serves_last_good_snapshot(packs_dir: Path, tmp_path: Path) -> None:
    good_dir = tmp_path / "good"
    first = PackStore(packs_dir, good_dir=good_dir, recheck_seconds=0)
    good = first.get("skyway")
    assert (good_dir / "skyway" / "pack.toml").is_file()
    intents = packs_dir / "skyway" / "intents.toml"
    bump(intents, intents.read_text() + "\n[intents.complaint]\nacknowledge = []\n")
    second = PackStore(packs_dir, good_dir=good_dir, recheck_seconds=0)  # the server restarts
    served = second.get("skyway")
    assert served.digest == good.digest and served.data == good.data
    assert second.errors["skyway"].file == "intents.toml"
    # without a snapshot there is nothing good to serve: a clear KeyError naming the problem
    third = PackStore(packs_dir, good_dir=tmp_path / "empty", recheck_seconds=0)
    with pytest.raises(KeyError) as info:
        third.get("skyway")
    assert "intents.toml" in str(info.value)


def test_write_validates_before_touching_disk(packs_dir: Path, tmp_path: Path) -> None:
    store = PackStore(packs_dir, good_dir=tmp_path / "good", recheck_seconds=0)
    before = read_files(packs_dir / "default")
    with pytest.raises(PackError):
        store.write("default", edit(before, "pack.toml", "limit = 280", "limit = 5"))
    assert read_files(packs_dir / "default") == before
    newer = edit(before, "pack.toml", 'description = "', 'description = "Edited. ')
    pack = store.write("default", newer)
    assert store.get("default").digest == pack.digest and read_files(packs_dir / "default") == newer


def test_missing_pack_is_a_key_error(packs_dir: Path) -> None:
    store = PackStore(packs_dir, recheck_seconds=0)
    with pytest.raises(KeyError):
        store.get("nosuchpack")
    assert store.names() == ["default", "skyway"]


def test_unchanged_pack_is_served_from_memory(packs_dir: Path) -> None:
    store = PackStore(packs_dir, recheck_seconds=0)
    first = store.get("default")
    for _ in range(5):
        assert store.get("default") is first  # not re-parsed while its files are unchanged


def test_hand_edits_are_noticed_after_the_recheck_interval(packs_dir: Path, monkeypatch) -> None:
    """Files are looked at once per interval, not on every suggestion; an edit by hand shows after it."""
    now = [1000.0]  # the store's clock, moved by hand: a slow machine cannot push a step past the interval
    monkeypatch.setattr("server.packs.store.time", SimpleNamespace(monotonic=lambda: now[0]))
    store = PackStore(packs_dir, recheck_seconds=0.5)
    before = store.get("default")
    pack_toml = packs_dir / "default" / "pack.toml"
    bump(pack_toml, pack_toml.read_text().replace('version = ', 'version = "9.9" #', 1))
    now[0] += 0.4
    assert store.get("default") is before  # within the interval: the cached pack, no stat
    now[0] += 0.2
    after = store.get("default")
    assert after is not before and after.version == "9.9"


def test_a_save_cut_by_a_crash_is_finished_on_start(packs_dir: Path, tmp_path: Path) -> None:
    """A pack is several files: a crash between two of them must not leave a mix nobody validated."""
    from server.packs.store import JOURNAL, recover, write_atomic

    folder = packs_dir / "default"
    old = read_files(folder)
    new = {**old, "pack.toml": old["pack.toml"].replace('brand = "AcmeShop"', 'brand = "NewBrand"', 1),
           "llm.toml": old["llm.toml"] + "\n# saved together\n"}
    assert new["pack.toml"] != old["pack.toml"]
    # What write_set does, killed after the journal and the first file: pack.toml is new, llm.toml still old.
    write_atomic(folder / JOURNAL, json.dumps({"files": new}))
    write_atomic(folder / "pack.toml", new["pack.toml"])
    dead = folder / ".llm.toml.999999999.1.tmp"  # a temp file of a writer that died
    dead.write_text("half")
    alive = folder / f".llm.toml.{os.getpid()}.1.tmp"  # one of a live writer: not ours to remove
    alive.write_text("in progress")
    store = PackStore(packs_dir, good_dir=tmp_path / "good", recheck_seconds=0)  # the restart
    assert read_files(folder) == new and not (folder / JOURNAL).exists()
    assert store.get("default").data["pack"]["brand"] == "NewBrand"
    assert not dead.exists() and alive.exists()
    assert recover(folder) is False  # nothing left to finish



def test_workers_starting_together_finish_one_save_without_tripping_on_each_other(packs_dir: Path) -> None:
    """gunicorn's workers start at the same instant on one data folder: each finds the same journal (or one
    another is still writing) and rolls it forward; whichever removes it first, none of them fails to start."""
    import threading

    from server.packs.store import JOURNAL, recover, write_atomic, write_set

    folder = packs_dir / "default"
    old = read_files(folder)
    new = {**old, "llm.toml": old["llm.toml"] + "\n# saved by a worker\n"}
    for _ in range(30):
        write_atomic(folder / JOURNAL, json.dumps({"files": new}))
        errors: list[BaseException] = []
        start = threading.Barrier(5)

        def worker(n: int, start: threading.Barrier = start, errors: list[BaseException] = errors) -> None:
            start.wait()
            try:
                write_set(folder, new) if n == 0 else recover(folder)
            except BaseException as exc:  # the test reports whatever a worker raised
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and read_files(folder) == new and not (folder / JOURNAL).exists()

def test_an_unreadable_journal_leaves_the_files_alone(packs_dir: Path) -> None:
    from server.packs.store import JOURNAL, recover

    folder = packs_dir / "default"
    before = read_files(folder)
    (folder / JOURNAL).write_text('{"files": {"../../evil.toml": "x"}}')
    assert recover(folder) is False
    assert read_files(folder) == before and not (folder / JOURNAL).exists()
    assert not (packs_dir.parent / "evil.toml").exists()


def test_write_leaves_no_journal_and_snapshot_matches(packs_dir: Path, tmp_path: Path) -> None:
    from server.packs.store import JOURNAL

    store = PackStore(packs_dir, good_dir=tmp_path / "good", recheck_seconds=0)
    files = read_files(packs_dir / "default")
    files["pack.toml"] = files["pack.toml"].replace('brand = "AcmeShop"', 'brand = "Saved"', 1)
    pack = store.write("default", files)
    assert not (packs_dir / "default" / JOURNAL).exists() and not (tmp_path / "good" / "default" / JOURNAL).exists()
    assert read_files(tmp_path / "good" / "default") == files
    assert (tmp_path / "good" / "default" / ".digest").read_text() == pack.digest
