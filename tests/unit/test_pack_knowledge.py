"""Knowledge articles and language playbooks are pack files: read, validated (file, line, key), written in one
journalled set, rolled back with the rest, and kept as the last good version when an edit breaks them."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from server.config import REPO_ROOT
from server.packs.store import PackError, PackStore, parse_pack, read_files, recover, write_set

PROMPTS = REPO_ROOT / "prompts"
ARTICLE = """---
keywords: [opening hours, open]
url: https://acmeshop.example/help/hours
---
# Opening hours
We answer every day from 8am to 10pm UK time.
"""


@pytest.fixture
def packs_dir(tmp_path: Path) -> Path:
    target = tmp_path / "prompts"
    shutil.copytree(PROMPTS, target)
    return target


def with_files(extra: dict[str, str], name: str = "default") -> dict[str, str]:
    return {**read_files(PROMPTS / name), **extra}


def test_shipped_packs_carry_their_knowledge() -> None:
    for name in ("default", "skyway"):
        pack = parse_pack(name, read_files(PROMPTS / name))
        articles = pack.data.get("knowledge") or []
        assert len(articles) >= 20, name
        assert all(a["id"] and a["title"] and a["body"] for a in articles)
        assert any(f.startswith("knowledge/") for f in pack.files)


def test_article_parsed_with_front_matter() -> None:
    pack = parse_pack("default", with_files({"knowledge/zz-hours.md": ARTICLE}))
    art = next(a for a in pack.data["knowledge"] if a["id"] == "zz-hours")
    assert art["title"] == "Opening hours"
    assert art["keywords"] == ["opening hours", "open"]
    assert art["url"] == "https://acmeshop.example/help/hours"
    assert art["private"] is False
    assert "8am to 10pm" in art["body"]


@pytest.mark.parametrize("text,problem,line", [
    ("---\nurl: https://evil.example/x\n---\n# T\nBody.\n", "allowed domains", 2),
    ("---\nkeywords: [a\n---\n# T\nBody.\n", "YAML", None),
    ("---\ncolour: blue\n---\n# T\nBody.\n", "unknown front-matter key 'colour'", 2),
    ("---\nprivate: maybe\n---\n# T\nBody.\n", "private is true or false", 2),
    ("No title here.\n", "starts with '# Title'", 1),
    ("# Only a title\n", "no answer", None),
    ("---\nkeywords: [a]\n# T\nBody.\n", "never closed", 1),
])
def test_bad_article_names_file_and_line(text: str, problem: str, line: int | None) -> None:
    with pytest.raises(PackError) as err:
        parse_pack("default", with_files({"knowledge/bad.md": text}))
    assert err.value.file == "knowledge/bad.md"
    assert problem in err.value.problem
    if line is not None:
        assert err.value.line == line


@pytest.mark.parametrize("fname", ["knowledge/Bad Name.md", "knowledge/x.txt", "knowledge/sub/x.md",
                                   "lang/spanish.toml", "other/x.md"])
def test_bad_sub_file_names_refused(fname: str) -> None:
    with pytest.raises(PackError) as err:
        parse_pack("default", with_files({fname: ARTICLE}))
    assert err.value.file == fname


def test_language_file_validated() -> None:
    bad = '[language]\nname = "Español"\n[intents.complaint]\nacknowledge = ["Hola {name}."]\n'
    with pytest.raises(PackError) as err:
        parse_pack("default", with_files({"lang/de.toml": bad}))
    assert err.value.file == "lang/de.toml" and "next_step" in err.value.problem
    good = bad + 'next_step = ["Lo reviso ahora."]\n'
    pack = parse_pack("default", with_files({"lang/de.toml": good}))
    assert pack.data["languages"]["de"]["intents"]["complaint"]["next_step"] == ["Lo reviso ahora."]


def test_toml_table_named_knowledge_refused() -> None:
    with pytest.raises(PackError) as err:
        parse_pack("default", with_files({"extra.toml": "[knowledge]\nx = 1\n"}))
    assert err.value.key == "knowledge"


def test_store_reads_writes_and_rolls_back_articles(packs_dir: Path, tmp_path: Path) -> None:
    store = PackStore(packs_dir, good_dir=tmp_path / "good", recheck_seconds=0)
    before = store.get("default")
    files = {**before.files, "knowledge/zz-hours.md": ARTICLE}
    after = store.write("default", files)
    assert (packs_dir / "default" / "knowledge" / "zz-hours.md").read_text() == ARTICLE
    assert after.digest != before.digest
    assert any(a["id"] == "zz-hours" for a in store.get("default").data["knowledge"])
    # Rolling back to the earlier set removes the article in the same journalled set.
    store.write("default", before.files, replace=True)
    assert not (packs_dir / "default" / "knowledge" / "zz-hours.md").exists()
    assert store.get("default").digest == before.digest
    assert (tmp_path / "good" / "default" / "knowledge").is_dir()


def test_broken_article_edit_keeps_last_good(packs_dir: Path) -> None:
    store = PackStore(packs_dir, recheck_seconds=0)
    good = store.get("default")
    (packs_dir / "default" / "knowledge").mkdir(exist_ok=True)
    (packs_dir / "default" / "knowledge" / "broken.md").write_text("no title\n", encoding="utf-8")
    assert store.get("default").digest == good.digest
    assert store.errors["default"].file == "knowledge/broken.md"


def test_interrupted_set_with_articles_rolls_forward(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    write_set(folder, {"a.toml": "x = 1\n", "knowledge/a.md": ARTICLE})
    (folder / "knowledge" / "a.md").unlink()
    import json
    (folder / ".pending-save.json").write_text(json.dumps({"files": {"knowledge/b.md": ARTICLE, "a.toml": "x=2\n"},
                                                          "remove_others": True}))
    assert recover(folder)
    assert (folder / "knowledge" / "b.md").read_text() == ARTICLE
    assert (folder / "a.toml").read_text() == "x=2\n"


def test_shipped_articles_keep_their_packs_banned_phrases() -> None:
    """Facts are said in public as written: a banned word in one (Skyway bans "compensation") loses the answer."""
    for name in ("default", "skyway"):
        pack = parse_pack(name, read_files(PROMPTS / name))
        banned = [b.lower() for b in pack.view.tone.banned_phrases]
        for art in pack.data["knowledge"]:
            hits = [b for b in banned if b in art["body"].lower()]
            assert not hits, (name, art["id"], hits)
