"""The model path kept first-class, against the loopback fake model: a good reply is tidied and kept in one call
whatever its signature or wrapping; only content problems (wrong language, a fact not in the sources) cost a
second call; the prompt carries the brand's facts and the customer's language; triage from the model validates or
falls back; usage is counted per suggestion and in totals. Every test asserts the number of model calls."""
from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from server.config import REPO_ROOT, Config
from server.core import analysis
from server.llm import OpenAIEngine, tidy
from server.packs.store import PackStore
from tests.support.fake_llm import DEFAULT_REPLY, reshape
from tests.support.paths import DATA

PLAYBOOK = "PLAYBOOK REPLY ^AC"
BODY = DEFAULT_REPLY.removesuffix(" ^AC")
HOURS = {"id": "store-hours", "title": "Store and chat hours", "kind": "article",
         "url": "https://acmeshop.example/help/hours",
         "text": "Our live chat is open 8am to 8pm, Monday to Saturday. Refunds reach your card within 5 business "
                 "days. Express delivery costs $4.99."}
SENT = {"id": "reply:42", "title": "Sent reply to @jo", "kind": "reply",
        "text": "Jo, so sorry! Gift orders placed before 2pm ship the same day; I've flagged yours. ^AC"}


@pytest.fixture(autouse=True)
def _fresh(fake):
    fake.reset()
    fake.reply = DEFAULT_REPLY
    yield


def _packs(tmp: Path, extra_llm: str = "", tail: str = "") -> PackStore:
    packs = tmp / "packs"
    shutil.copytree(REPO_ROOT / "prompts" / "default", packs / "default")
    llm = packs / "default" / "llm.toml"
    llm.write_text(llm.read_text().replace("[llm]\n", "[llm]\n" + extra_llm, 1) + "\n" + tail)
    return PackStore(packs, good_dir=tmp / "good")


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    return PackStore(REPO_ROOT / "prompts", good_dir=tmp_path_factory.mktemp("good")).get("default")


@pytest.fixture(scope="module")
def post():
    return json.loads((DATA / "sample_posts.json").read_text())[0]


@pytest.fixture
def engine(fake, tmp_path):
    eng = OpenAIEngine(Config(data_dir=tmp_path, llm_base_url=fake.url, llm_model="fake-model", llm_timeout=3), None)
    yield eng
    eng.close()


def _gen(engine, post, pack, *, stream=False, options=None, grounding=None):
    deltas: list[str] = []
    out = engine.generate(post, analysis.analyze(post, pack), pack, options or {}, playbook_reply=PLAYBOOK,
                          on_delta=deltas.append if stream else None, grounding=grounding)
    return out, deltas


# -- deterministic repairs: one call, the model's reply kept ---------------------------------------------------
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize(("mode", "fix"), [("signed_ai", "signature_replaced"), ("unsigned", "signature_added"),
                                           ("preamble", "preamble")])
def test_a_good_reply_is_kept_in_one_call_whatever_its_signature(fake, engine, post, pack, mode, fix, stream):
    fake.mode = mode
    out, deltas = _gen(engine, post, pack, stream=stream, options={"signature": "^KM"})
    assert len(fake.requests) == 1 and out["usage"]["calls"] == 1
    assert out["engine"] == "openai" and "fallback_reason" not in out and "repaired" not in out
    assert out["reply"] == BODY + " ^KM"  # the agent's signature, whatever the model wrote
    assert fix in out["fixes"]
    if stream:  # the model's own text streamed as it came; done carries the tidied reply
        assert "".join(deltas) == reshape(DEFAULT_REPLY, mode)


def test_the_agents_signature_in_the_packs_format(fake, tmp_path, post):
    store = PackStore(REPO_ROOT / "prompts", good_dir=tmp_path / "good")
    skyway = store.get("skyway")
    eng = OpenAIEngine(Config(data_dir=tmp_path, llm_base_url=fake.url, llm_model="m", llm_timeout=3), None)
    fake.reply = ("Dear Kate, we are sorry that your gift is running late. A member of our team is reviewing this "
                  "now and will reply within 30 minutes. Kind regards, Skyway Care")
    out, _ = _gen(eng, post, skyway, options={"signature": "^KM"})
    eng.close()
    assert len(fake.requests) == 1
    assert out["reply"].endswith("Kind regards, -KM") and out["engine"] == "openai"
    assert "-KM" in fake.requests[0]["body"]["messages"][0]["content"]  # the prompt asked for the same


def test_a_reply_cut_at_the_token_limit_keeps_its_whole_sentences(fake, engine, post, pack):
    fake.reply = BODY + " Meanwhile, could you also check whether the"
    fake.mode = "length"  # finish_reason "length": cut at max_tokens
    out, _ = _gen(engine, post, pack)
    assert len(fake.requests) == 1
    assert out["reply"] == BODY + " ^AC" and "cut_to_sentence" in out["fixes"]


def test_tidy_cuts_over_the_limit_only_when_the_rest_stands():
    long = "Kate, so sorry about this. " + "We are on it. " * 30
    fixed = tidy(long, signature="^AC", limit=280, measure=len, finish="stop")
    assert len(fixed.text) <= 280 and fixed.text.startswith("Kate, so sorry about this. We are on it.")
    assert fixed.text.endswith(". ^AC") and "cut_to_sentence" in fixed.fixes
    one_run_on = "Kate " + "so very sorry and " * 30 + "done."
    kept = tidy(one_run_on, signature="^AC", limit=280, measure=len, finish="stop")
    assert "cut_to_sentence" not in kept.fixes and len(kept.text) > 280  # the guard reports it instead


# -- content problems: one more call, then the playbook --------------------------------------------------------
def test_a_reply_in_the_wrong_language_is_asked_again_once(fake, engine, post, pack):
    spanish = {**post, "lang": "es", "text": "Hola, mi pedido de regalo llega tarde y es para mañana. ¿Qué pasa?"}
    fixed = ("Kate, lo siento mucho por el retraso de tu regalo. Ya he pedido al mensajero que lo acelere y te "
             "escribo aquí hoy antes de las 5pm. ^AC")
    fake.script.extend([{"mode": "ok", "reply": DEFAULT_REPLY}, {"mode": "ok", "reply": fixed}])
    out, _ = _gen(engine, spanish, pack)
    assert len(fake.requests) == 2 and out["usage"]["calls"] == 2
    assert (out["engine"], out["reply"], out.get("repaired")) == ("openai", fixed, True)
    first_user = fake.requests[0]["body"]["messages"][-1]["content"]
    assert "language: Spanish" in first_user and "in Spanish" in first_user
    assert "write the whole reply in Spanish" in fake.requests[1]["body"]["messages"][-1]["content"]


def test_a_model_that_keeps_the_wrong_language_falls_back(fake, engine, post, pack):
    french = {**post, "lang": "fr", "text": "Bonjour, ma commande est en retard et c'est pour demain, merci."}
    out, _ = _gen(engine, french, pack)
    assert len(fake.requests) == 2
    assert (out["engine"], out["fallback_reason"], out["fallback_detail"]) == ("playbook", "guard_blocked",
                                                                               "wrong_language")


def test_the_prompt_carries_the_brands_facts_and_sources_name_them(fake, engine, post, pack):
    question = {**post, "text": "When is your live chat open? And how long do refunds take?"}
    fake.reply = ("Kate, our live chat is open 8am to 8pm, Monday to Saturday, and refunds reach your card "
                  "within 5 business days. ^AC")
    out, _ = _gen(engine, question, pack, grounding=[HOURS, SENT])
    assert len(fake.requests) == 1 and out["engine"] == "openai"
    assert out["sources"] == [{"id": "store-hours", "title": "Store and chat hours",
                               "url": "https://acmeshop.example/help/hours"}]
    user = fake.requests[0]["body"]["messages"][-1]["content"]
    assert "<facts>" in user and "[store-hours] (article)" in user and "[reply:42] (sent reply)" in user
    assert user.index("</facts>") < user.index("<customer_post>")
    assert "Refunds reach your card" not in fake.requests[0]["body"]["messages"][0]["content"]  # not the system


def test_a_fact_not_in_the_sources_is_asked_again_then_kept(fake, engine, post, pack):
    question = {**post, "text": "When is your live chat open?"}
    wrong = "Kate, our live chat is open 7am to 10pm every day, so pop in anytime! ^AC"
    right = "Kate, our live chat is open 8am to 8pm, Monday to Saturday. Happy to help there too! ^AC"
    fake.script.extend([{"mode": "ok", "reply": wrong}, {"mode": "ok", "reply": right}])
    out, _ = _gen(engine, question, pack, grounding=[HOURS])
    assert len(fake.requests) == 2
    assert (out["reply"], out.get("repaired"), [s["id"] for s in out["sources"]]) == (right, True, ["store-hours"])
    ask = fake.requests[1]["body"]["messages"][-1]["content"]
    assert '"07:00"' in ask and "not in the brand's facts" in ask


@pytest.mark.parametrize(("reply", "kind"), [
    ("Kate, express delivery is just $2.99 and refunds take 5 business days. ^AC", "price"),
    ("Kate, refunds reach your card within 10 business days, promise! ^AC", "duration"),
    ("Kate, see acmeshop.example/help/secret-deals for the refund times. ^AC", "link"),
])
def test_each_kind_of_made_up_fact_is_caught(fake, engine, post, pack, reply, kind):
    fake.mode, fake.reply = "ok", reply
    out, _ = _gen(engine, {**post, "text": "How long do refunds take?"}, pack, grounding=[HOURS])
    assert len(fake.requests) == 2 and out["fallback_reason"] == "guard_blocked"
    assert "unsupported_fact" in out["fallback_detail"]
    assert f"the {kind} " in fake.requests[1]["body"]["messages"][-1]["content"]


def test_without_grounding_a_promised_time_is_no_claim(fake, engine, post, pack):
    out, _ = _gen(engine, post, pack)  # DEFAULT_REPLY promises "by 5pm today"
    assert len(fake.requests) == 1 and out["reply"] == DEFAULT_REPLY and out["sources"] == []


# -- triage from the model -------------------------------------------------------------------------------------
TRIAGE_PACK = "triage = true\n"


def test_triage_from_the_model_validates_against_the_schema(fake, tmp_path, post):
    store = _packs(tmp_path, TRIAGE_PACK, '[llm.tasks.triage]\nmodel = "small-triage"\nmax_tokens = 100\n')
    eng = OpenAIEngine(Config(data_dir=tmp_path, llm_base_url=fake.url, llm_model="big", llm_timeout=3), None)
    fake.reply = '```json\n{"intent": "complaint", "severity": "high", "urgent": true, "lang": "EN"}\n```'
    out = eng.triage(post, store.get("default"))
    assert len(fake.requests) == 1
    body = fake.requests[0]["body"]
    assert (body["model"], body["max_tokens"], body["response_format"]) == ("small-triage", 100,
                                                                            {"type": "json_object"})
    assert out.pop("usage")["calls"] == 1
    assert out == {"intent": "complaint", "severity": "high", "urgent": True, "lang": "en"}
    eng.close()


@pytest.mark.parametrize("broken", [
    '{"intent": "complaint", "severity": "high",}',          # trailing comma: not JSON
    '{"intent": "angry", "severity": "high"}',               # not in the vocabulary
    '{"intent": "complaint"}',                               # required key missing
    "The customer is upset about a late gift.",              # prose
])
def test_triage_that_does_not_validate_gives_none(fake, tmp_path, post, broken):
    store = _packs(tmp_path, TRIAGE_PACK)
    eng = OpenAIEngine(Config(data_dir=tmp_path, llm_base_url=fake.url, llm_model="m", llm_timeout=3), None)
    fake.reply = broken
    assert eng.triage(post, store.get("default")) is None
    assert len(fake.requests) == 1
    assert eng.usage_totals()["outcomes"] == {"invalid_json": 1}
    eng.close()


def test_no_triage_call_unless_the_pack_asks(fake, engine, post, pack):
    assert engine.triage(post, pack) is None and fake.requests == []


# -- settings per task, usage totals ---------------------------------------------------------------------------
def test_a_model_per_task(fake, tmp_path, post):
    store = _packs(tmp_path, "", '[llm.tasks.reply]\nmodel = "reply-model"\ntemperature = 0.1\n')
    eng = OpenAIEngine(Config(data_dir=tmp_path, llm_base_url=fake.url, llm_model="install", llm_timeout=3), None)
    pk = store.get("default")
    out, _ = _gen(eng, post, pk)
    assert len(fake.requests) == 1 and out["model"] == "reply-model"
    assert (fake.requests[0]["body"]["model"], fake.requests[0]["body"]["temperature"]) == ("reply-model", 0.1)
    assert eng.settings(pk, "triage").model == "install"  # the other task keeps the install's model
    eng.close()


def test_usage_totals_add_up_across_threads(fake, engine, post, pack):
    threads = [threading.Thread(target=_gen, args=(engine, post, pack)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    totals = engine.usage_totals()
    assert len(fake.requests) == 6
    assert (totals["requests"], totals["calls"], totals["outcomes"]) == (6, 6, {"model": 6})
    assert totals["total_tokens"] == totals["prompt_tokens"] + totals["completion_tokens"] > 0
    assert totals["by_task"]["reply"]["model_ms"] == totals["model_ms"] > 0


def test_a_server_without_token_counts_gets_an_estimate(fake, engine, post, pack):
    fake.mode = "no_usage"
    out, _ = _gen(engine, post, pack)
    assert len(fake.requests) == 1
    assert out["usage"]["estimated"] is True and out["usage"]["completion_tokens"] > 0


# -- through /api/suggest: retrieval's articles reach the model and the answer -----------------------------------
def test_suggest_passes_the_articles_and_answers_with_their_sources(fake, tmp_path, post):
    from server.app import create_app
    from tests.support.live import make_config

    app = create_app(make_config(tmp_path / "data", llm_base_url=fake.url, llm_model="fake-model", llm_timeout=3))
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {app.config['REPLYDESK_TOKEN']}"
    fake.mode = "unsigned"
    fake.reply = "Kate, our care team answers Monday to Friday 8am to 8pm and Saturday 9am to 5pm (UK time)."
    question = {**post, "text": "@AcmeShop what are your customer care opening hours on Saturday?"}
    out = client.post("/api/suggest", json={"post": question, "options": {"signature": "^KM"}}).get_json()
    assert len(fake.requests) == 1
    assert out["engine"] == "openai" and out["reply"] == fake.reply + " ^KM"
    assert [s["id"] for s in out["sources"]] == ["care-hours"]
    assert out["usage"]["calls"] == 1 and out["usage"]["total_tokens"] > 0
    user = fake.requests[0]["body"]["messages"][-1]["content"]
    assert "[care-hours] (article) Customer care hours" in user and "Saturday 9am to 5pm" in user
    totals = app.extensions["replydesk"].llm.usage_totals()
    assert (totals["requests"], totals["calls"]) == (1, 1)


def test_the_sites_language_tag_beats_the_analysis_guess(fake, engine, post, pack):
    english = {**post, "lang": "en", "text": "@AcmeShop the password reset email never came, I've tried twice"}
    facts = {**analysis.analyze(english, pack), "lang": "it"}  # a detector's slip upstream
    out = engine.generate(english, facts, pack, {}, playbook_reply=PLAYBOOK)
    assert len(fake.requests) == 1 and out["engine"] == "openai"
    assert "language: English" in fake.requests[0]["body"]["messages"][-1]["content"]


def test_a_promised_time_is_no_claim_even_with_grounding(fake, engine, post, pack):
    fake.reply = ("Kate, so sorry! Express delivery costs $4.99, and I'll update you here by 5pm today with news "
                  "from the courier. ^AC")
    out, _ = _gen(engine, post, pack, grounding=[HOURS])
    assert len(fake.requests) == 1 and out["engine"] == "openai" and out["reply"] == fake.reply
