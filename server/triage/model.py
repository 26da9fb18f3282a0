"""The triage model at run time: hashed word and character n-grams -> four linear heads, plus language and the
pack's example posts as nearest neighbours. numpy, mmh3 and lingua only (no scikit-learn, no scipy).

The artifact (`triage.npz`, written by `train.py`) holds only arrays: the two IDF vectors, the head weights and
biases, and the hashing sizes it was trained with; nothing is unpickled. `read()` is what
`server.core.analysis` calls (its `Triage` protocol): it returns numbers and a language code; the decisions
(intent, sarcasm, urgency) are made in core, next to the rules.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from server.triage.features import RULES, norm, rule_vector
from server.triage.hashing import CHAR_BITS, WORD_BITS, char_ngrams, hashed, word_ngrams

ARTIFACT = Path(__file__).with_name("triage.npz")
HEADS = ("complaint", "praise", "sarcasm", "abuse")
RULE_W = 3.0
N_WORD, N_CHAR = 1 << WORD_BITS, 1 << CHAR_BITS
MAX_CHARS = 2000   # a 10,000-character post is read by its start: a rant does not get slower to triage
LANGS = ("en", "es", "fr", "de", "pt", "it")
Sparse = tuple[np.ndarray, np.ndarray]  # (column indices, values) of one row


def _tfidf(idx: np.ndarray, counts: np.ndarray, idf: np.ndarray) -> np.ndarray:
    v = np.log1p(counts) * idf[idx]
    n = float(np.sqrt(v @ v))
    return v / n if n else v


def features(text: str, idf_w: np.ndarray, idf_c: np.ndarray) -> tuple[Sparse, np.ndarray]:
    """One post's input to the heads: L2-normalised word and char TF-IDF (as one sparse row over both spaces,
    char columns after the word ones) and the weighted cue counts (dense, after both)."""
    t = norm(text[:MAX_CHARS])
    wi, wc = hashed(word_ngrams(t), WORD_BITS)
    ci, cc = hashed(char_ngrams(t), CHAR_BITS)
    idx = np.concatenate([wi, ci + N_WORD])
    val = np.concatenate([_tfidf(wi, wc, idf_w), _tfidf(ci, cc, idf_c)]).astype(np.float32)
    return (idx, val), rule_vector([t])[0] * RULE_W


def _lang_detector() -> Any:
    """lingua restricted to the six languages we serve, low-accuracy mode: ~12 MB and ~0.05 ms a post."""
    from lingua import IsoCode639_1, LanguageDetectorBuilder
    codes = [getattr(IsoCode639_1, c.upper()) for c in LANGS]
    builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_low_accuracy_mode()
    return builder.with_preloaded_language_models().build()


# The commonest function words of each language we serve. lingua's low-accuracy mode (the one that fits the memory
# budget) reads short English posts as German or Italian ("where is my order?" -> de); a post whose function words
# clearly belong to one language is that language, and lingua decides the rest.
STOPWORDS: Mapping[str, frozenset[str]] = {
    "en": frozenset("the my is are was you your i i'm it's and to of in on for with not never no have has did does "
                    "where why what when how this that can could please order thanks thank".split()),
    "es": frozenset("el la los las mi mis es está son y de del en por para con no nunca tengo pedido dónde donde "
                    "qué cuándo cómo esto eso puede gracias hola muy pero".split()),
    "fr": frozenset("le la les mon ma mes est sont et de du des en pour avec ne pas jamais j'ai commande où quand "
                    "comment ce cette merci bonjour très mais".split()),
    "de": frozenset("der die das mein meine ist sind und zu von im mit nicht nie habe hat bestellung wo warum wann "
                    "wie danke hallo sehr aber ich".split()),
    "pt": frozenset("o a os as meu minha é está são e de do da em por para com não nunca tenho pedido onde quando "
                    "como obrigado obrigada olá muito mas".split()),
    "it": frozenset("il lo la gli le mio mia è sono e di del in per con non mai ho ordine dove perché quando come "
                    "grazie ciao molto ma".split()),
}


def stopword_vote(text: str) -> str | None:
    """The language whose function words the post uses most, when it leads by two or more; else None."""
    words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text.lower())
    hits = sorted(((sum(w in vocab for w in words), code) for code, vocab in STOPWORDS.items()), reverse=True)
    (best, code), (second, _) = hits[0], hits[1]
    return code if best >= 2 and best - second >= 2 else None


ExamplesOf = Callable[[str], Mapping[str, tuple[str, ...]]]


class TriageModel:
    """Loaded once per process; `read` is thread-safe (the arrays are never written after load)."""

    def __init__(self, path: Path = ARTIFACT, examples_of: ExamplesOf | None = None) -> None:
        with np.load(path, allow_pickle=False) as a:
            if (int(a["word_bits"]), int(a["char_bits"])) != (WORD_BITS, CHAR_BITS):
                raise ValueError(f"{path}: trained with other hashing sizes; retrain")
            self.idf_w, self.idf_c = a["idf_w"].astype(np.float32), a["idf_c"].astype(np.float32)
            self.W, self.b = a["W"].astype(np.float32), a["b"].astype(np.float32)
        self._lang = _lang_detector()
        self._examples_of = examples_of  # pack name -> {intent: texts} (agents' corrections), or None
        self._cache: dict[tuple[Any, ...], tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]] = {}
        self._lock = threading.Lock()

    def heads(self, text: str) -> tuple[dict[str, float], Sparse]:
        """Head probabilities for one post, and its sparse TF-IDF row (for the neighbour search)."""
        (idx, val), rules = features(text, self.idf_w, self.idf_c)
        z = val @ self.W[idx] + rules @ self.W[N_WORD + N_CHAR:] + self.b
        return dict(zip(HEADS, (1 / (1 + np.exp(-z))).tolist(), strict=True)), (idx, val)

    def lang(self, text: str) -> str | None:
        """ISO 639-1 code, or None when the text has no letters to go on (empty, emoji, a link)."""
        t = norm(text[:MAX_CHARS]).replace("@user", " ").replace(" http ", " ")
        if not any(ch.isalpha() for ch in t):
            return None
        voted = stopword_vote(t)
        if voted is not None:
            return voted
        found = self._lang.detect_language_of(t)
        return found.iso_code_639_1.name.lower() if found is not None else None

    def read(self, text: str, pack: str, examples: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
        """What the model sees in one post: head probabilities, cue counts, language, the closest pack example."""
        heads, row = self.heads(text)
        t = norm(text[:MAX_CHARS])
        cues = {k: len(RULES[k].findall(t)) for k in ("problem", "sarc_pos")}
        return {"heads": heads, "cues": cues, "lang": self.lang(text), "example": self._nearest(row, pack, examples)}

    def _examples(self, pack: str, examples: Mapping[str, tuple[str, ...]]) -> tuple[np.ndarray, ...] | None:
        merged = {k: tuple(v) for k, v in examples.items()}
        for intent, texts in (self._examples_of(pack) if self._examples_of else {}).items():
            merged[intent] = merged.get(intent, ()) + tuple(texts)
        key = (pack, tuple(sorted(merged.items())))
        with self._lock:
            built = self._cache.get(key)
        if built is None:
            labels = [i for i, ts in merged.items() for _ in ts]
            rows = [self.heads(t)[1] for ts in merged.values() for t in ts]
            if not rows:
                return None
            ids = np.concatenate([np.full(len(r[0]), n) for n, r in enumerate(rows)])
            built = (np.concatenate([r[0] for r in rows]), np.concatenate([r[1] for r in rows]), ids, labels)
            with self._lock:
                if len(self._cache) > 64:
                    self._cache.clear()
                self._cache[key] = built
        return built

    def _nearest(self, row: Sparse, pack: str, examples: Mapping[str, tuple[str, ...]]) -> dict[str, Any] | None:
        """Cosine similarity on the TF-IDF part (the cue counts would make any two complaints look alike)."""
        built = self._examples(pack, examples)
        if built is None or not len(row[0]):
            return None
        all_idx, all_val, ids, labels = built
        pos = np.searchsorted(row[0], all_idx)
        pos[pos >= len(row[0])] = 0
        hit = row[0][pos] == all_idx
        sims = np.bincount(ids, weights=np.where(hit, row[1][pos] * all_val, 0.0), minlength=len(labels))
        sims /= 2.0  # each row is two unit vectors (word, char): a text's self-similarity is 2
        best = int(np.argmax(sims))
        return {"intent": labels[best], "similarity": round(float(sims[best]), 4)}
