"""Triage: the learned model behind analysis (server/triage) and the contract's fields on every post.

The behaviours are the ones the issue names (a complaint phrased as a question, sarcastic praise, a threat to
staff, a payment outage, a stated deadline, other languages, a post for another brand) plus bad input. Figures on
held-out data are printed by `python -m server.triage.evaluate`, not asserted here."""
from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from server import triage
from server.config import REPO_ROOT
from server.core.analysis import analyze
from server.core.analysis import triage as core_triage
from server.core.vocab import INTENTS, SEVERITIES
from server.packs.store import PackStore
from server.triage.corrections import CorrectionStore
from server.triage.hashing import CHAR_BITS, WORD_BITS, WORD_TOKEN, char_ngrams, hashed, word_ngrams
from server.triage.model import HEADS


@pytest.fixture(scope="module")
def model():
    return triage.model()


@pytest.fixture(scope="module")
def packs() -> PackStore:
    return PackStore(REPO_ROOT / "prompts")


def _a(text: str, pack: Any, model: Any, **kw: Any) -> dict[str, Any]:
    return analyze({"platform": "x", "text": text, "author": {"handle": "kim", "name": "Kim Doe"}, **kw}, pack,
                   model=model)


def test_hashing_matches_scikit_learn_bit_for_bit() -> None:
    from sklearn.feature_extraction.text import HashingVectorizer
    texts = ["Great job 👏 AGAIN!!  wrong   house", "¿dónde está mi pedido?", "a", "", "@user http can't log in?!"]
    word = HashingVectorizer(ngram_range=(1, 2), n_features=2**WORD_BITS, alternate_sign=False, norm=None,
                             token_pattern=WORD_TOKEN.pattern)
    char = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), n_features=2**CHAR_BITS, alternate_sign=False,
                             norm=None)
    for text in texts:
        for vec, grams, bits in ((word, word_ngrams, WORD_BITS), (char, char_ngrams, CHAR_BITS)):
            row = vec.transform([text]).tocsr()
            row.sort_indices()
            idx, counts = hashed(grams(text), bits)
            assert list(idx) == list(row.indices) and list(counts) == list(row.data), (text, bits)


def test_artifact_is_arrays_only_and_small(model) -> None:
    path = REPO_ROOT / "server" / "triage" / "triage.npz"
    assert path.stat().st_size < 10 * 2**20
    with np.load(path, allow_pickle=False) as a:  # raises if anything in it needs unpickling
        assert a["W"].shape[1] == len(HEADS) and np.isfinite(a["W"].astype(np.float32)).all()
    heads, _ = model.heads("my bag never arrived")
    assert set(heads) == set(HEADS) and all(0 <= v <= 1 for v in heads.values())


@pytest.mark.parametrize("text,intent", [
    ("why does my order say delivered when nothing came?", "complaint"),
    ("delivered to the wrong house AGAIN. Great job 👏", "complaint"),
    ("I know where your staff live. Watch your back.", "threat"),
    ("payments are failing at checkout, your card payments are down", "outage"),
    ("how do I change the email on my account?", "question"),
    ("Thank you so much, the team sorted my refund in minutes. Brilliant service!", "praise"),
    # warm words around an ask stay an ask; something expected that has not happened is a complaint
    ("I just ordered a birthday gift for my brother - 5 day shipping but wondering if you can get it there in 3?",
     "request"),
    ("the dress I ordered for my sister hasn't come and the wedding is tomorrow!!", "complaint"),
])
def test_the_issue_cases(model, packs, text: str, intent: str) -> None:
    assert _a(text, packs.get("default"), model)["intent"] == intent


def test_sarcastic_praise_is_a_complaint_flagged_sarcastic_and_sincere_praise_is_not(model, packs) -> None:
    sarcastic = _a("delivered to the wrong house AGAIN. Great job 👏", packs.get("default"), model)
    sincere = _a("Great job on the delivery, came a day early 👏", packs.get("default"), model)
    assert sarcastic["intent"] == "complaint" and sarcastic["sarcasm"] is True
    assert sincere["intent"] == "praise" and sincere["sarcasm"] is False


def test_a_threat_is_not_legal_safety_and_is_critical(model, packs) -> None:
    got = _a("I'm going to find the driver who did this and hurt him", packs.get("default"), model)
    assert got["intent"] == "threat" and got["severity"] == "critical"
    sue = _a("your heater caught fire and burned my hand, my lawyer will be in touch", packs.get("default"), model)
    assert sue["intent"] == "legal_safety"


def test_a_stated_deadline_makes_it_urgent_and_raises_severity(model, packs) -> None:
    pack = packs.get("skyway")
    calm = _a("my bag never arrived at the carousel", pack, model)
    rushed = _a("my bag never arrived at the carousel and the wedding is tomorrow", pack, model)
    flight = _a("my flight leaves in 2 hours and I still have no boarding pass", pack, model)
    assert not calm["urgent"] and rushed["urgent"] and flight["urgent"]
    assert SEVERITIES.index(rushed["severity"]) > SEVERITIES.index(calm["severity"])
    assert not _a("lovely crew on my flight today, thanks!", pack, model)["urgent"]


@pytest.mark.parametrize("text,lang", [
    ("¿dónde está mi pedido? llevo dos semanas esperando", "es"), ("où est ma commande ? toujours rien", "fr"),
    ("wo ist meine Bestellung? Immer noch nichts", "de"), ("cadê meu pedido? até agora nada", "pt"),
    ("dov'è il mio ordine? ancora niente", "it"), ("@AcmeShop where is my order? still nothing", "en"),
    # lingua's low-accuracy mode alone read these as de and it
    ("where is my order?", "en"), ("the password reset email never came, I've tried twice", "en"),
])
def test_language_of_short_posts(model, packs, text: str, lang: str) -> None:
    assert _a(text, packs.get("default"), model)["lang"] == lang


def test_addressed_to_another_brand(model, packs) -> None:
    pack = packs.get("skyway")
    handles = [h for hs in pack.view.handles.values() for h in hs]
    assert not _a("@OtherAir you lost my bag", pack, model)["addressed_to_brand"]
    assert _a(f"@{handles[0]} you lost my bag", pack, model)["addressed_to_brand"]
    assert _a(f"@OtherAir @{handles[0]} you both lost my bag", pack, model)["addressed_to_brand"]
    assert _a("you lost my bag", pack, model)["addressed_to_brand"]


@pytest.mark.parametrize("text", ["", "   ", "😡😡😡👏", "x" * 10_000, "mi pedido no ha llegado, this is ridiculous",
                                  "a" * 9_000 + " wedding tomorrow 🙃", "\u200b\u200b", "@a @b @c", "http://x.co"])
def test_bad_input_still_gets_a_full_analysis(model, packs, text: str) -> None:
    got = _a(text, packs.get("default"), model)
    assert got["intent"] in INTENTS and got["severity"] in SEVERITIES
    assert isinstance(got["sarcasm"], bool) and isinstance(got["urgent"], bool)
    assert isinstance(got["addressed_to_brand"], bool) and isinstance(got["lang"], str) and got["lang"]
    json.dumps(got)


def test_a_pack_example_decides_the_intent_of_a_close_post(model, packs) -> None:
    data = json.loads(json.dumps(packs.get("default").data))
    text = "the self-checkout gave me a voucher instead of my change"
    assert _a(text, data, model)["intent"] != "spam"
    data.setdefault("analysis", {})["examples"] = {"spam": ["the self-checkout gave me a voucher instead of change"]}
    assert _a(text, data, model)["intent"] == "spam"
    assert _a("how long does delivery to canada take?", data, model)["intent"] == "question"  # not close: no change


def test_without_a_model_analysis_falls_back_to_the_rules(packs) -> None:
    saved = core_triage.registered()
    core_triage.register(None)
    try:
        got = analyze({"platform": "x", "text": "I know where your staff live. Watch your back."}, packs.get("default"))
        assert got["intent"] == "threat" and got["sarcasm"] is False and got["lang"] == "und"
    finally:
        core_triage.register(saved)


def test_corrections_are_stored_atomically_and_survive_a_restart(tmp_path) -> None:
    store = CorrectionStore(tmp_path)
    assert store.add("default", "my parcel is in a hedge", "complaint") == 1
    assert store.add("default", "my parcel is in a hedge", "request") == 1  # the same text: replaced
    store.add("skyway", "where is gate 5?", "question")
    again = CorrectionStore(tmp_path)
    assert again.examples("default") == {"request": ("my parcel is in a hedge",)}
    assert again.examples("skyway") == {"question": ("where is gate 5?",)}
    assert [p.name for p in tmp_path.iterdir()] == ["triage_corrections.json"]  # no temp file left behind
    (tmp_path / "triage_corrections.json").write_text("{not json", encoding="utf-8")
    assert CorrectionStore(tmp_path).examples("default") == {}  # a broken file does not stop the server
