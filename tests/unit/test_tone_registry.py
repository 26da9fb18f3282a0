"""The tone rule registry: one source of rule metadata, and every finding the check can produce names a rule in it.

The check is a pipeline of small registered rules (`server/core/tone/rules/`); these tests hold the registry to
its promises, so a new rule cannot be half-registered and a finding cannot carry an id nobody documented.
"""
from __future__ import annotations

import ast
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.core import tone
from server.core.tone import registry
from server.core.tone.draft import Draft
from server.core.tone.registry import Scored
from tests.support.paths import DATA

LABELLED = json.loads((DATA / "tone_labelled.json").read_text())
RULES_DIR = Path(tone.__file__).resolve().parent / "rules"
CONTEXT = {"intent": "complaint", "severity": "high", "sentiment": -0.6, "name": "Mike", "handle": "mike_r"}
POST = {"platform": "x", "post_id": "1", "author": {"handle": "mike_r", "name": "Mike R"},
        "text": "THIRD time my order hasn't shown up. Call me on 07700 900123!!! I live at 12 Baker Street"}


def drafts() -> list[tuple[str, str, dict[str, Any]]]:
    """(text, platform, check kwargs): every labelled reply, bare and in a customer's context."""
    out = []
    for item in LABELLED["items"]:
        pack = copy.deepcopy(LABELLED["pack"])
        for key, value in (item.get("pack_patch") or {}).items():
            pack[key] = {**pack.get(key, {}), **value}
        prompt = LABELLED["system_prompt"] if item.get("system_prompt") else None
        ctx = item.get("context") or {}
        analysis = {k: ctx.get(k) for k in ("intent", "severity", "sentiment", "name", "handle")} if ctx else None
        post = {"platform": item["platform"], "text": ctx["post"]} if ctx.get("post") else None  # issue 14 items
        out.append((item["text"], item["platform"], {"pack": pack, "analysis": analysis, "post": post,
                                                     "system_prompt": prompt}))
        out.append((item["text"], item["platform"], {"pack": pack, "analysis": CONTEXT, "post": POST}))
    return out


DRAFTS = drafts()


def test_every_rule_is_registered_once_with_an_id_a_severity_and_a_doc() -> None:
    rules = tone.all_rules()
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids)) >= 20
    for r in rules:
        assert r.id and r.id == r.id.strip() and r.id.isidentifier(), r
        assert r.severity in ("info", "warn", "block"), r
        assert r.doc.strip() and "\n" not in r.doc, r
        assert r.phase in ("draft", "scored"), r
        assert r.fn.__module__.startswith("server.core.tone.rules."), r  # each rule lives in rules/
    # RULES and SEVERITIES are views of the registry, not dicts kept in step by hand
    assert tone.RULES == {r.id: r.doc for r in rules}
    assert tone.SEVERITIES == {r.id: r.severity for r in rules}


def test_a_rule_can_be_listed_and_looked_up_by_id() -> None:
    ids = [r.id for r in tone.all_rules()]
    assert "insult" in ids and "low_score" in ids
    insult = tone.lookup("insult")
    assert insult.id == "insult" and insult.severity == "block" and "Insults" in insult.doc
    assert tone.lookup("low_score").phase == "scored"
    with pytest.raises(KeyError):
        tone.lookup("no_such_rule")


def test_the_registry_refuses_duplicates_and_bad_metadata() -> None:
    before = tone.all_rules()
    with pytest.raises(ValueError, match="twice"):
        registry.rule("insult", "block", "A second insult rule.")(lambda d: [])
    with pytest.raises(ValueError, match="severity"):
        registry.rule("brand_new", "fatal", "A rule with a made-up severity.")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one line"):
        registry.rule("brand_new", "warn", "")
    assert tone.all_rules() == before


def test_every_finding_a_rule_module_can_build_names_a_registered_rule() -> None:
    """Statically: every `finding("<id>", ...)` (and the hostile lexicon helper's id) in the package is a rule."""
    registered = set(tone.RULES)
    named: set[str] = set()
    for path in sorted(RULES_DIR.parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            fn = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            args = node.args if fn == "finding" else node.args[1:] if fn == "_phrase_findings" else []
            if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
                named.add(args[0].value)
            elif fn == "finding":
                assert isinstance(args[0], ast.Name) and args[0].id == "rule_id", f"{path}:{node.lineno}"
    assert named, "no finding() calls found"
    assert named <= registered, named - registered
    assert registered <= named, registered - named  # and every registered rule has a finding to give


def test_each_rule_only_reports_its_own_id() -> None:
    """Run every rule on its own over the labelled drafts: a rule's findings carry its id and its severity."""
    fired: set[str] = set()
    for text, platform, kw in DRAFTS:
        d = Draft(text, platform, kw["pack"], kw.get("post"), kw.get("analysis"), kw.get("system_prompt"))
        scored = Scored(0, [])
        for r in tone.all_rules():
            found = r.fn(d, scored) if r.phase == "scored" else r.fn(d)
            for f in found:
                assert f["rule"] == r.id and f["severity"] == r.severity, (r.id, f)
                fired.add(r.id)
    assert fired == set(tone.RULES), set(tone.RULES) - fired


def test_every_finding_check_produces_names_a_registered_rule() -> None:
    fired: set[str] = set()
    for text, platform, kw in DRAFTS:
        for f in tone.check(text, platform, **kw)["findings"]:
            rule = tone.lookup(f["rule"])
            assert f["severity"] == rule.severity, f
            fired.add(f["rule"])
    assert fired == set(tone.RULES), set(tone.RULES) - fired


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_any_text_only_produces_registered_rules(text: str) -> None:
    _text, _platform, kw = DRAFTS[1]
    for platform in ("x", "facebook"):
        for f in tone.check(text, platform, **kw, system_prompt=LABELLED["system_prompt"])["findings"]:
            assert f["rule"] in tone.RULES and f["severity"] == tone.SEVERITIES[f["rule"]]


def test_a_dict_pack_edited_in_place_is_read_again() -> None:
    """Plain-dict packs have their view remembered for speed; editing the dict must still change the check."""
    pack = copy.deepcopy(LABELLED["pack"])
    text = "Thanks so much for the kind words! Happy to help. ^AC"
    assert "banned_phrase" not in {f["rule"] for f in tone.check(text, "x", pack=pack)["findings"]}
    pack["tone"]["banned_phrases"].append("happy to help")
    assert "banned_phrase" in {f["rule"] for f in tone.check(text, "x", pack=pack)["findings"]}
