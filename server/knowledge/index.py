"""Retrieval over a pack's articles and the team's sent replies: BM25 (bm25s) over Snowball-stemmed words.

An index is built once per pack version (the digest) and per set of sent replies; a search is a sparse
dot product (well under a millisecond for 1,000 articles, bench/bench_knowledge.py). A hit counts as an
answer only when it is clearly about the post: its score clears `MIN_SCORE` and the words it shares with the
post include one of its title or keyword words (an article about refunds that shares only "order" with a post
about a broken mixer is no answer). The thresholds were set on the paraphrase set in
tests/support/knowledge_queries.py (questions written apart from the articles, and questions no article answers).
"""
from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import bm25s
import numpy as np

from server.knowledge.articles import Article, article_from_dict
from server.knowledge.text import tokens

MIN_SCORE = 2.0        # BM25 score an article needs to count as answering the post
SINGLE_WORD_SCORE = 1.3  # ... when it shares a single word with the post, which must then be one of its own
SINGLE_WORD_MAX_DF = 2   # title or keyword words found in at most this many articles ("golf", not "pay")
RARE_SHARE = 0.25      # ... and "few" is at most this share of the articles
PHRASE_BONUS = 1.5     # per keyword phrase of two or more words found whole in the post ("gift card")
MIN_REPLY_SCORE = 3.0  # a sent reply must match its post more closely: it answered one customer's words
REFERENCE_DOCS = 25     # the corpus size the thresholds were set on
TITLE_WEIGHT = 2       # title and keyword words count this many times in an article's document


@dataclass(frozen=True)
class Hit:
    """One article (or sent reply) that answers the post, with why it matched."""

    id: str
    title: str
    score: float
    matched: tuple[str, ...]
    article: Article | None = None
    reply: Mapping[str, Any] | None = None
    url: str | None = None

    def source(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "title": self.title}
        if self.url:
            out["url"] = self.url
        return out


class _Bm25:
    """One BM25 index over token lists; `top` returns (position, score, matched words) best first."""

    def __init__(self, docs: list[list[str]], strong: list[set[str]],
                 phrases: list[list[tuple[str, ...]]] | None = None) -> None:
        self.docs = [set(d) for d in docs]
        self.strong = strong
        # Keyword phrases of two or more words -> the articles that list them (looked up by the query's n-grams).
        self.phrase_docs: dict[tuple[str, ...], list[int]] = {}
        for pos, found in enumerate(phrases or []):
            for ph in found:
                self.phrase_docs.setdefault(ph, []).append(pos)
        self.longest = max((len(p) for p in self.phrase_docs), default=0)
        self.vocab = set().union(*self.docs) if docs else set()
        self.df: dict[str, int] = {}
        for d in self.docs:
            for w in d:
                self.df[w] = self.df.get(w, 0) + 1
        self.model = bm25s.BM25()
        if self.vocab:  # bm25s cannot index a corpus with no words at all (sent replies to emoji-only posts)
            self.model.index(docs, show_progress=False)

    def top(self, query: list[str], k: int, min_score: float) -> list[tuple[int, float, tuple[str, ...]]]:
        q = list(dict.fromkeys(w for w in query if w in self.vocab))
        if not q:
            return []
        scores = self.model.get_scores(q)
        seen: set[tuple[str, ...]] = set()
        for n in range(2, self.longest + 1):  # a whole phrase says more than its words apart
            for i in range(len(query) - n + 1):
                gram = tuple(query[i:i + n])
                if gram in self.phrase_docs and gram not in seen:
                    seen.add(gram)
                    for pos in self.phrase_docs[gram]:
                        scores[pos] += PHRASE_BONUS
        # BM25 scores grow with the corpus (idf): a language with 5 articles scores lower than one with 25, so the
        # thresholds (set on 20-odd articles) scale down for small ones.
        scale = min(1.0, math.log(1 + len(self.docs)) / math.log(1 + REFERENCE_DOCS))
        min_score, single = min_score * scale, SINGLE_WORD_SCORE * scale
        k = min(k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        out = []
        for pos in sorted(best, key=lambda i: -scores[i]):
            score = float(scores[pos])
            matched = tuple(w for w in q if w in self.docs[pos])
            # One word of its own title or keywords that few articles share ("belt", not "flight").
            rare = max(2, int(RARE_SHARE * len(self.docs)))
            if not any(w in self.strong[pos] and self.df[w] <= rare for w in matched):
                continue
            if len(matched) >= 2 and score >= min_score or (
                    len(matched) == 1 and score >= single and self.df[matched[0]] <= SINGLE_WORD_MAX_DF):
                out.append((int(pos), score, matched))
        return out


class KnowledgeIndex:
    """A pack's articles, indexed per language (an article without `lang` is in the pack's main language)."""

    def __init__(self, articles: Iterable[Article], main_lang: str = "en") -> None:
        self.main_lang = main_lang
        self.by_lang: dict[str, list[Article]] = {}
        for art in articles:
            self.by_lang.setdefault(art.lang or main_lang, []).append(art)
        self._index: dict[str, _Bm25] = {}
        for lang, arts in self.by_lang.items():
            docs, strong, phrases = [], [], []
            for a in arts:
                head = tokens(a.title + " " + " ".join(a.keywords), lang)
                docs.append(head * TITLE_WEIGHT + tokens(a.body, lang))
                strong.append(set(head))
                phrases.append([p for p in (tuple(tokens(k, lang)) for k in a.keywords) if len(p) > 1])
            self._index[lang] = _Bm25(docs, strong, phrases)

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_lang.values())

    def languages(self) -> set[str]:
        return set(self.by_lang)

    def search(self, text: str, lang: str | None = None, k: int = 3, public_only: bool = False) -> list[Hit]:
        """Articles that answer `text`, best first (in the post's language; none when it has no articles)."""
        lang = lang or self.main_lang
        index = self._index.get(lang)
        if index is None:
            return []
        hits = []
        for pos, score, matched in index.top(tokens(text, lang), k, MIN_SCORE):
            art = self.by_lang[lang][pos]
            if public_only and art.private:
                continue
            hits.append(Hit(id=art.id, title=art.title, score=round(score, 3), matched=matched, article=art,
                            url=art.url))
        return hits


class ReplyMemory:
    """The team's sent replies, indexed on the posts they answered: a new post like an old one draws on the
    reply that was sent to it."""

    def __init__(self, sent: Sequence[Mapping[str, Any]], lang: str = "en",
                 previous: ReplyMemory | None = None) -> None:
        """`previous`: the memory this one replaces; the posts both hold are not tokenised again (stemming 1,000
        posts is half of a rebuild, and a rebuild after a new reply shares all but one of them)."""
        self.sent = [s for s in sent if s.get("reply") and s.get("text")]
        self.lang = lang
        known = previous.tokens if previous is not None and previous.lang == lang else {}
        self.tokens: dict[str, list[str]] = {}
        docs = []
        for s in self.sent:
            text = str(s["text"])
            doc = known.get(text)
            if doc is None:
                doc = tokens(text, lang)
            self.tokens[text] = doc
            docs.append(doc)
        self._index = _Bm25(docs, [set(d) for d in docs])

    def __len__(self) -> int:
        return len(self.sent)

    def search(self, text: str, k: int = 1, exclude: Iterable[Any] = (), intent: str | None = None) -> list[Hit]:
        skip = {str(x) for x in exclude}
        hits = []
        for pos, score, matched in self._index.top(tokens(text, self.lang), k + len(skip), MIN_REPLY_SCORE):
            row = self.sent[pos]
            if str(row.get("id")) in skip or _other_kind(intent, row.get("intent")):
                continue
            if len(matched) < 2:
                continue
            hits.append(Hit(id=f"reply:{row.get('id')}", title="Earlier reply from the team", score=round(score, 3),
                            matched=matched, reply=row))
        return hits[:k]


# Posts that want help (a question and a complaint about the same fault) share answers; praise, spam, abuse and
# safety posts share them only with their own kind.
HELP_INTENTS = frozenset({"question", "request", "complaint", "outage"})


def _other_kind(a: str | None, b: str | None) -> bool:
    if not a or not b or a == b:
        return False
    return not (a in HELP_INTENTS and b in HELP_INTENTS)


_cache_lock = threading.Lock()
_article_cache: dict[tuple[str, str], KnowledgeIndex] = {}
_reply_cache: dict[str, tuple[tuple, ReplyMemory, Any]] = {}


def index_for(pack: Any) -> KnowledgeIndex:
    """The article index of a pack version (built once per digest; a few old versions kept)."""
    data = getattr(pack, "data", pack) or {}
    name = str(getattr(pack, "name", "") or (data.get("pack") or {}).get("name") or "")
    digest = str(getattr(pack, "digest", "") or id(data))
    key = (name, digest)
    with _cache_lock:
        found = _article_cache.get(key)
    if found is not None:
        return found
    built = KnowledgeIndex(article_from_dict(a) for a in data.get("knowledge") or [])
    with _cache_lock:
        if len(_article_cache) > 32:
            _article_cache.clear()
        _article_cache[key] = built
    return built


def memory_for(pack_name: str, sent: Sequence[Mapping[str, Any]]) -> ReplyMemory:
    """The reply memory for these sent replies, rebuilt only when they change (the same list: no check at all)."""
    with _cache_lock:
        found = _reply_cache.get(pack_name)
    if found is not None and found[2] is sent:
        return found[1]
    stamp = tuple((s.get("id"), s.get("replied_at"), len(str(s.get("reply") or ""))) for s in sent)
    with _cache_lock:
        found = _reply_cache.get(pack_name)
    if found is not None and found[0] == stamp:
        return found[1]
    built = ReplyMemory(sent, previous=found[1] if found is not None else None)
    with _cache_lock:
        _reply_cache[pack_name] = (stamp, built, sent)
    return built
