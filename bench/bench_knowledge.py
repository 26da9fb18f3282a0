"""Knowledge retrieval speed: BM25 search over 1,000 articles and over 1,000 sent replies, and the index build.

The 1,000 articles are the default pack's own (26) plus synthetic ones made from a fixed vocabulary (seeded), so
the index has a realistic vocabulary size; the queries are the paraphrased questions of
tests/support/knowledge_queries.py. Target from issue 14: a search under 5 ms for 1,000 articles.
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
N = int(os.environ.get("REPLYDESK_BENCH_N", "1000"))
WORDS = ("delivery order parcel refund return warranty kettle mixer toaster blender vacuum account password app "
         "voucher gift card payment klarna courier tracking store collect install machine colour size exchange "
         "price discount code balance statement bank label packaging damaged broken missing late week days hours "
         "monday sunday evening morning checkout basket login email phone address cancel change update stock").split()


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))]


def _row(name: str, values: list[float], target: str, note: str) -> dict:
    return {"name": name, "median_ms": statistics.median(values), "p99_ms": _pct(values, 99), "target": target,
            "n": len(values), "note": note}


def _articles(count: int) -> list:
    from server.config import REPO_ROOT
    from server.knowledge.articles import article_from_dict, parse_article
    from server.packs.store import PackStore

    real = [article_from_dict(a) for a in PackStore(REPO_ROOT / "prompts").get("default").data["knowledge"]]
    rng = random.Random(14)
    out = list(real)
    for i in range(count - len(real)):
        title = " ".join(rng.sample(WORDS, 3)).capitalize()
        body = ". ".join(" ".join(rng.sample(WORDS, 9)).capitalize() for _ in range(3)) + "."
        kws = ", ".join(rng.sample(WORDS, 4))
        out.append(parse_article(f"knowledge/s{i}.md", f"---\nkeywords: [{kws}]\n---\n# {title} {i}\n{body}\n"))
    return out


def run() -> list[dict]:
    from server.knowledge.index import KnowledgeIndex, ReplyMemory
    from tests.support.knowledge_queries import DEFAULT_PARAPHRASES

    articles = _articles(1000)
    builds = []
    for _ in range(5):
        started = time.perf_counter()
        index = KnowledgeIndex(articles)
        builds.append((time.perf_counter() - started) * 1000)
    queries = [q for q, _ in DEFAULT_PARAPHRASES]
    for q in queries:  # warm-up: stemmer caches
        index.search(q)
    search = []
    for i in range(N):
        started = time.perf_counter()
        index.search(queries[i % len(queries)])
        search.append((time.perf_counter() - started) * 1000)
    hits = sum(1 for q, want in DEFAULT_PARAPHRASES if (index.search(q) or [None])[0] and index.search(q)[0].id == want)

    rng = random.Random(15)
    sent = [{"id": i, "text": " ".join(rng.sample(WORDS, 14)), "intent": "question",
             "reply": " ".join(rng.sample(WORDS, 20)) + "."} for i in range(1000)]
    started = time.perf_counter()
    memory = ReplyMemory(sent)
    memory_build = (time.perf_counter() - started) * 1000
    recall = []
    for i in range(N):
        started = time.perf_counter()
        memory.search(queries[i % len(queries)], exclude=[i])
        recall.append((time.perf_counter() - started) * 1000)
    return [
        _row("knowledge search, 1,000 articles", search, "< 5 ms",
             f"BM25 (bm25s) + Snowball; recall@1 {hits}/{len(DEFAULT_PARAPHRASES)} paraphrases amid 974 synthetic"),
        _row("knowledge index build, 1,000 articles", builds, "once per pack version", "cached by pack digest"),
        _row("sent-reply memory search, 1,000 replies", recall, "< 5 ms",
             f"index build {memory_build:.0f} ms, redone only when the sent replies change"),
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
