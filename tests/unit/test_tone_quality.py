"""How well the tone check agrees with people: the labelled replies in tests/data/tone_labelled.json, and the
politeness label against the Stanford Politeness Corpus (Stack Exchange half) ratings.

Run with `-s` to see the per-rule table and the politeness figures.
"""
from __future__ import annotations

import copy
import csv
import json
from collections import defaultdict
from typing import Any

from server.core import tone
from tests.support.paths import DATA

LABELLED = json.loads((DATA / "tone_labelled.json").read_text())


def merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        out[key] = merge(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def run_item(item: dict[str, Any]) -> dict[str, Any]:
    pack = None
    if item.get("pack", "labelled") is not None:
        pack = merge(LABELLED["pack"], item.get("pack_patch") or {})
    post = analysis = None
    ctx = item.get("context")
    if ctx:
        analysis = {k: ctx.get(k) for k in ("intent", "severity", "sentiment", "name", "handle")} | {"entities": {}}
        post = {"platform": item["platform"], "post_id": "1", "text": ctx.get("post", ""),
                "author": {"handle": ctx.get("handle"), "name": ctx.get("name")}}
    prompt = LABELLED["system_prompt"] if item.get("system_prompt") else None
    return tone.check(item["text"], item["platform"], pack=pack, post=post, analysis=analysis, system_prompt=prompt)


def agreement() -> tuple[list[dict[str, Any]], dict[str, dict[str, int]]]:
    """Per item: whether it agrees. Per rule: how often it fired when expected (hit/expected) and stayed quiet
    when it must (quiet/negatives: items that forbid it, and 'ok' items for warn and block rules)."""
    results = []
    per_rule: dict[str, dict[str, int]] = defaultdict(lambda: {"expected": 0, "hit": 0, "negatives": 0, "quiet": 0})
    for item in LABELLED["items"]:
        report = run_item(item)
        fired = {f["rule"] for f in report["findings"]}
        expect, forbid = set(item["expect_rules"]), set(item.get("forbid_rules", []))
        ok = report["verdict"] == item["expect_verdict"] and expect <= fired and not forbid & fired
        results.append({"item": item, "ok": ok, "verdict": report["verdict"], "fired": fired})
        for rule in tone.RULES:
            if rule in expect:
                per_rule[rule]["expected"] += 1
                per_rule[rule]["hit"] += rule in fired
            elif rule in forbid or (item["expect_verdict"] == "ok" and tone.SEVERITIES[rule] != "info"):
                per_rule[rule]["negatives"] += 1
                per_rule[rule]["quiet"] += rule not in fired
    return results, per_rule


def test_labelled_set_is_big_and_covers_every_rule() -> None:
    items = LABELLED["items"]
    assert len(items) >= 150
    verdicts = defaultdict(int)
    for item in items:
        verdicts[item["expect_verdict"]] += 1
        assert set(item["expect_rules"]) <= set(tone.RULES), item
        assert set(item.get("forbid_rules", [])) <= set(tone.RULES), item
    assert verdicts["ok"] >= 40 and verdicts["warn"] >= 40 and verdicts["block"] >= 30
    covered = {r for item in items for r in item["expect_rules"]}
    assert covered == set(tone.RULES), set(tone.RULES) - covered
    counts = defaultdict(int)
    for item in items:
        for r in item["expect_rules"]:
            counts[r] += 1
    thin = {r: n for r, n in counts.items() if n < 2}
    assert not thin, f"rules with fewer than 2 labelled examples: {thin}"


def test_tone_check_agrees_with_the_labels() -> None:
    results, per_rule = agreement()
    total = len(results)
    agreed = sum(r["ok"] for r in results)
    print(f"\nlabelled replies: {agreed}/{total} agree ({agreed / total:.1%})")
    for batch in sorted({r["item"].get("batch", 1) for r in results}):
        sel = [r for r in results if r["item"].get("batch", 1) == batch]
        print(f"  batch {batch}: {sum(r['ok'] for r in sel)}/{len(sel)}")
    print(f"{'rule':24} {'fires when expected':>20} {'quiet when it must':>20}")
    for rule in tone.RULES:
        c = per_rule[rule]
        fires = f"{c['hit']}/{c['expected']}" if c["expected"] else "-"
        quiet = f"{c['quiet']}/{c['negatives']}" if c["negatives"] else "-"
        print(f"{rule:24} {fires:>20} {quiet:>20}")
    for r in results:
        if not r["ok"]:
            it = r["item"]
            print(f"  disagrees: {it['text'][:70]!r}: want {it['expect_verdict']} {it['expect_rules']}, "
                  f"got {r['verdict']} {sorted(r['fired'])}")
    assert agreed / total >= 0.90
    for rule in tone.RULES:  # no rule may be mostly deaf or mostly trigger-happy on its own examples
        c = per_rule[rule]
        assert c["hit"] >= 0.8 * c["expected"], (rule, c)
        assert c["quiet"] >= 0.9 * c["negatives"], (rule, c)


# ---- politeness ------------------------------------------------------------------------------------------------
POLITE, IMPOLITE = 0.421, -0.344  # the paper's quartile boundaries on the Normalized Score


def auc(pos: list[float], neg: list[float]) -> float:
    """Area under the ROC curve: the chance a random polite request scores above a random impolite one."""
    ranked = sorted([(v, 1) for v in pos] + [(v, 0) for v in neg])
    rank_sum = 0.0
    i = 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        rank_sum += sum(label for _, label in ranked[i:j]) * (i + j + 1) / 2
        i = j
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def test_auc_helper() -> None:
    assert auc([3, 4], [1, 2]) == 1.0
    assert auc([1, 2], [3, 4]) == 0.0
    assert auc([1, 1], [1, 1]) == 0.5


def test_polite_label_separates_the_politeness_quartiles() -> None:
    with (DATA / "politeness.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) > 6000
    pos = [tone.politeness(r["Request"]) for r in rows if float(r["Normalized Score"]) > POLITE]
    neg = [tone.politeness(r["Request"]) for r in rows if float(r["Normalized Score"]) < IMPOLITE]
    area = auc(pos, neg)
    accuracy = (sum(v >= 0.5 for v in pos) + sum(v < 0.5 for v in neg)) / (len(pos) + len(neg))
    so = [r for r in rows if "Stack Overflow" in r["Community"]]
    so_auc = auc([tone.politeness(r["Request"]) for r in so if float(r["Normalized Score"]) > POLITE],
                 [tone.politeness(r["Request"]) for r in so if float(r["Normalized Score"]) < IMPOLITE])
    print(f"\npoliteness: {len(pos)} polite vs {len(neg)} impolite requests: AUC {area:.3f}, accuracy {accuracy:.3f}"
          f" (Stack Overflow only: AUC {so_auc:.3f})")
    # measured 0.684 / 0.627 when written; floors sit below with room for lexicon tweaks
    assert area >= 0.65
    assert accuracy >= 0.60
    # and on replies the label means what a supervisor means
    assert tone.politeness("Hi Kate, thanks so much for reaching out! Could you send us a DM? Sorry again.") > 0.8
    assert tone.politeness("Why would you do that? You clearly didn't read anything.") < 0.3
