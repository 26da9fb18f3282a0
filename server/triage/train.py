"""Train the triage heads and write `triage.npz`. Reproducible: `python -m server.triage.train`.

Inputs (see SOURCES.md): TweetEval from `../shared/data/tweeteval` (research data, read in place, not copied) and
the BANKING77 sample in `data/` (CC BY 4.0). The airline set in `data/` is CC BY-NC-SA and is evaluation only:
nothing here reads it. Seeded, single-threaded liblinear: the same inputs give the same weights.
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from server.triage.features import norm
from server.triage.hashing import CHAR_BITS, WORD_BITS, char_ngrams, hashed, word_ngrams
from server.triage.model import ARTIFACT, HEADS, MAX_CHARS, N_CHAR, N_WORD, features

SEED = 13
HERE = Path(__file__).parent
DATA = HERE / "data"
TWEETEVAL = HERE.parents[2] / "shared" / "data" / "tweeteval"
C = {"complaint": 2.0, "praise": 2.0, "sarcasm": 1.0, "abuse": 1.0}


def tweeteval(task: str, splits: list[str]) -> tuple[list[str], np.ndarray]:
    texts: list[str] = []
    labels: list[int] = []
    for split in splits:
        texts += (TWEETEVAL / task / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
        labels += [int(x) for x in (TWEETEVAL / task / f"{split}_labels.txt").read_text().split()]
    assert len(texts) == len(labels), (task, splits)
    return texts, np.array(labels)


def build_sets() -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    """Per head: texts, 0/1 labels, sample weights. General-Twitter sentiment/emotion is a weak prior (0.5)."""
    with open(DATA / "banking77_sample.csv", encoding="utf-8") as f:
        bank = list(csv.DictReader(f))
    st, sy = tweeteval("sentiment", ["val", "test"])   # 0 negative, 1 neutral, 2 positive
    et, ey = tweeteval("emotion", ["train", "val"])    # 0 anger, 1 joy, 2 optimism, 3 sadness
    bt, by = [r["text"] for r in bank], np.array([int(r["complaint"]) for r in bank])
    half = np.full(len(st) + len(et), 0.5)
    sets = {
        "complaint": (st + et + bt, np.concatenate([sy == 0, np.isin(ey, [0, 3]), by]).astype(int),
                      np.concatenate([half, np.ones(len(bt))])),
        "praise": (st + et, np.concatenate([sy == 2, np.isin(ey, [1, 2])]).astype(int), half),
    }
    it, iy = tweeteval("irony", ["train", "val"])
    ot, oy = tweeteval("offensive", ["train", "val"])
    sets["sarcasm"] = (it, iy, np.ones(len(iy)))
    sets["abuse"] = (ot, oy, np.ones(len(oy)))
    return sets


def matrix(texts: list[str], idf_w: np.ndarray, idf_c: np.ndarray) -> sp.csr_matrix:
    """The runtime's features (model.features), stacked: the training input is exactly what serving computes."""
    rows, cols, vals = [], [], []
    for i, t in enumerate(texts):
        (idx, val), rules = features(t, idf_w, idf_c)
        nz = np.nonzero(rules)[0]
        cols += [idx, nz + N_WORD + N_CHAR]
        vals += [val, rules[nz]]
        rows.append(np.full(len(idx) + len(nz), i))
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(len(texts), N_WORD + N_CHAR + len(rules)), dtype=np.float32)


def idf(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed IDF over every training text (sklearn's formula): log((1 + n) / (1 + df)) + 1."""
    df_w, df_c = np.zeros(N_WORD), np.zeros(N_CHAR)
    for t in texts:
        t = norm(t[:MAX_CHARS])
        df_w[hashed(word_ngrams(t), WORD_BITS)[0]] += 1
        df_c[hashed(char_ngrams(t), CHAR_BITS)[0]] += 1
    n = len(texts)
    return tuple((np.log((1 + n) / (1 + d)) + 1).astype(np.float32) for d in (df_w, df_c))  # type: ignore[return-value]


def fit(sets: dict[str, tuple[list[str], np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    idf_w, idf_c = idf([t for h in HEADS for t in sets[h][0]])
    weights, biases = [], []
    for h in HEADS:
        texts, y, sw = sets[h]
        m = LogisticRegression(C=C[h], class_weight="balanced", max_iter=2000, solver="liblinear",
                               random_state=SEED)
        m.fit(matrix(texts, idf_w, idf_c), y, sample_weight=sw)
        weights.append(m.coef_[0].astype(np.float32))
        biases.append(float(m.intercept_[0]))
        print(f"  head {h}: n={len(y)} positive={int(y.sum())}")
    return {"idf_w": idf_w, "idf_c": idf_c, "W": np.stack(weights, 1).astype(np.float16),
            "b": np.array(biases, np.float32), "word_bits": np.array(WORD_BITS), "char_bits": np.array(CHAR_BITS),
            "seed": np.array(SEED)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=ARTIFACT)
    args = ap.parse_args()
    np.random.seed(SEED)
    art = fit(build_sets())
    np.savez_compressed(args.out, **art)
    print("wrote", args.out, args.out.stat().st_size // 1024, "KB")


if __name__ == "__main__":
    main()
