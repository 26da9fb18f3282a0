"""Held-out figures of the shipped triage, measured through `analyze(post, pack, model)`: what the server runs.

    python -m server.triage.evaluate [--apple PATH]

Nothing evaluated here was trained on (train.py reads TweetEval train/val and the BANKING77 sample only):
- airline (data/eval_airline_tweets_nc.csv, CC BY-NC-SA: evaluation only) was the dev set for design choices
  in the prototype (thresholds, the rule layer), so it is held-out from training but not from tuning;
- Apple (Crowdflower, licence unverified, not in the repository) was never looked at before the final run: pass
  its CSV (text, sentiment, complaint) with --apple to include it;
- TweetEval irony and offensive *test* splits, beside the benchmark's published leaderboard;
- data/probes.csv is hand-written (language and urgency smoke probes), not a corpus: read its figures as such.
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import time
from pathlib import Path
from typing import Any

from server.config import REPO_ROOT
from server.core.analysis import analyze
from server.packs.store import PackStore
from server.triage.model import TriageModel

DATA = Path(__file__).with_name("data")
TWEETEVAL = REPO_ROOT.parent / "shared" / "data" / "tweeteval"

UPSET = ("complaint", "outage", "legal_safety", "threat")
LEADERBOARD = {"irony": "BERTweet 82.1 (F1 of the ironic class), FastText 63.1",
               "offensive": "TimeLMs-2021 82.2 (macro-F1), FastText 73.4"}


def prf(gold: list[Any], pred: list[Any], label: Any) -> tuple[float, float, float, int]:
    tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
    fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
    fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0), sum(g == label for g in gold)


def macro_f1(gold: list[Any], pred: list[Any]) -> float:
    labels = sorted(set(gold))
    return sum(prf(gold, pred, lab)[2] for lab in labels) / len(labels)


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def run(texts: list[str], pack: Any, model: TriageModel) -> list[dict[str, Any]]:
    return [analyze({"platform": "x", "text": t, "author": {"handle": "someone"}}, pack, model=model) for t in texts]


def complaint_source(name: str, data: list[dict[str, str]], pack: Any, model: TriageModel) -> list[dict]:
    out = run([r["text"] for r in data], pack, model)
    gold = [int(r["complaint"]) for r in data]
    pred = [int(a["intent"] in UPSET) for a in out]
    p, r, f, n = prf(gold, pred, 1)
    print(f"{name:8s} n={len(gold)} complaints={sum(gold)}  complaint-vs-not macro-F1={macro_f1(gold, pred):.3f}  "
          f"complaint P/R/F1={p:.3f}/{r:.3f}/{f:.3f}  sarcasm rate={sum(a['sarcasm'] for a in out) / len(out):.3f}")
    return out


def per_intent(title: str, gold: list[str], pred: list[str], labels: list[str]) -> None:
    print(f"   {title}")
    for lab in labels:
        p, r, f, n = prf(gold, pred, lab)
        print(f"     {lab:17s} P={p:.3f} R={r:.3f} F1={f:.3f} n={n}")


def _group(intent: str) -> str:
    return "complaint" if intent in UPSET else "question/request" if intent in ("question", "request") else intent


def section_complaints(packs: PackStore, model: TriageModel, apple: Path | None) -> None:
    print("== 1. Complaint vs not, sources never trained on (complaint = complaint/outage/legal_safety/threat) ==")
    air = rows(DATA / "eval_airline_tweets_nc.csv")
    out = complaint_source("airline", air, packs.get("skyway"), model)
    gold = ["complaint" if r["airline_sentiment"] == "negative" else "praise" if r["airline_sentiment"] == "positive"
            else "question/request" for r in air]
    per_intent("per intent on airline (negative->complaint, positive->praise, neutral->question/request)",
               gold, [_group(a["intent"]) for a in out], ["complaint", "praise", "question/request"])
    if apple is None:
        print("apple    not run (not in the repository: licence unverified; pass --apple PATH)")
        return
    data = rows(apple)
    out = complaint_source("apple", data, packs.get("default"), model)
    gold = ["complaint" if r["sentiment"] == "1" else "praise" if r["sentiment"] == "5" else "neutral" for r in data]
    per_intent("per intent on apple (1->complaint, 5->praise)", gold, [_group(a["intent"]) for a in out],
               ["complaint", "praise"])


def _tweeteval(task: str) -> tuple[list[str], list[int]]:
    texts = (TWEETEVAL / task / "test_text.txt").read_text(encoding="utf-8").splitlines()
    return texts, [int(x) for x in (TWEETEVAL / task / "test_labels.txt").read_text().split()]


def section_tweeteval(model: TriageModel) -> None:
    print("\n== 2. TweetEval test sets (trained on train+val; test never seen) ==")
    texts, gold = _tweeteval("irony")
    head = [int(model.heads(t)[0]["sarcasm"] >= 0.5) for t in texts]
    p, r, f, _ = prf(gold, head, 1)
    print(f"irony     sarcasm head p>=0.5   n={len(gold)} macro-F1={macro_f1(gold, head):.3f} "
          f"ironic P/R/F1={p:.3f}/{r:.3f}/{f:.3f}   leaderboard: {LEADERBOARD['irony']}")
    default = PackStore(REPO_ROOT / "prompts").get("default")
    flag = [int(a["sarcasm"]) for a in run(texts, default, model)]
    p, r, f, _ = prf(gold, flag, 1)
    print(f"sarcasm   shipped `sarcasm` flag n={len(gold)} macro-F1={macro_f1(gold, flag):.3f} "
          f"ironic P/R/F1={p:.3f}/{r:.3f}/{f:.3f}   (needs a bad situation too: precision over recall)")
    texts, gold = _tweeteval("offensive")
    head = [int(model.heads(t)[0]["abuse"] >= 0.5) for t in texts]
    p, r, f, _ = prf(gold, head, 1)
    print(f"offensive abuse head p>=0.5     n={len(gold)} macro-F1={macro_f1(gold, head):.3f} "
          f"offensive P/R/F1={p:.3f}/{r:.3f}/{f:.3f}   leaderboard: {LEADERBOARD['offensive']}")


def section_probes(packs: PackStore, model: TriageModel) -> None:
    print("\n== 3. Spam, urgency and language ==")
    sms = rows(DATA / "eval_smsspam_sample.csv")
    out = run([r["text"] for r in sms], packs.get("default"), model)
    p, r, f, n = prf([x["label"] == "spam" for x in sms], [a["intent"] == "spam" for a in out], True)
    print(f"spam intent, SMS Spam Collection sample (SMS: out of domain) n={len(sms)} spam={n} "
          f"P/R/F1={p:.3f}/{r:.3f}/{f:.3f}")
    probes = rows(DATA / "probes.csv")
    urg = [x for x in probes if x["kind"] == "urgent"]
    out = run([x["text"] for x in urg], packs.get("default"), model)
    p, r, f, n = prf([x["urgent"] == "1" for x in urg], [a["urgent"] for a in out], True)
    print(f"urgent flag, hand-written probes n={len(urg)} urgent={n} P/R/F1={p:.3f}/{r:.3f}/{f:.3f}")
    lang = [x for x in probes if x["kind"] == "lang"]
    ok = sum(model.lang(x["text"]) == x["lang"] for x in lang)
    print(f"lang, hand-written short posts (8 each en/es/fr/de/pt/it) accuracy={ok}/{len(lang)} ({ok / len(lang):.3f})")
    air = rows(DATA / "eval_airline_tweets_nc.csv")
    ok = sum(model.lang(x["text"]) == "en" for x in air)
    print(f"lang, real English airline tweets detected as 'en': {ok}/{len(air)} ({ok / len(air):.3f})")


def section_speed(packs: PackStore, model: TriageModel, rss_before: float) -> None:
    import psutil
    print("\n== 4. Speed and memory (one post per call, through analyze) ==")
    texts = [r["text"] for r in rows(DATA / "eval_airline_tweets_nc.csv")]
    pack = packs.get("skyway")
    run(texts[:20], pack, model)
    ts = []
    for t in texts * 2:
        s = time.perf_counter()
        analyze({"platform": "x", "text": t, "author": {"handle": "someone"}}, pack, model=model)
        ts.append((time.perf_counter() - s) * 1000)
    ts.sort()
    print(f"analyze median={statistics.median(ts):.2f} ms  p95={ts[int(len(ts) * 0.95)]:.2f} ms  (n={len(ts)})")
    rss = psutil.Process(os.getpid()).memory_info().rss / 2**20
    art = Path(__file__).with_name("triage.npz").stat().st_size / 2**20
    print(f"RSS before model {rss_before:.0f} MB, now {rss:.0f} MB; artifact {art:.1f} MB")


def main() -> None:
    import psutil
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--apple", type=Path, help="CSV text,sentiment,complaint of the Crowdflower Apple tweets")
    args = ap.parse_args()
    packs = PackStore(REPO_ROOT / "prompts")
    rss_before = psutil.Process(os.getpid()).memory_info().rss / 2**20
    model = TriageModel()
    section_complaints(packs, model, args.apple)
    section_tweeteval(model)
    section_probes(packs, model)
    section_speed(packs, model, rss_before)


if __name__ == "__main__":
    main()
