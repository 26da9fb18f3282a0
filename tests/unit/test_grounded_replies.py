"""The offline engine's replies, grounded (issue 14): answers from the pack's articles with sources, no invented
facts, memory of sent replies across customers, promises kept (escalation, threats), deadlines, private data in
the post, the customer's history, languages. The engine is pure: the context is a plain dict here, as the suggest
flow (server/suggest/context.py) builds it."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.config import REPO_ROOT
from server.core import analysis, playbook, tone
from server.core.deadlines import promised_minutes
from server.packs.store import PackStore, read_files
from server.suggest.context import gather
from tests.support.knowledge_queries import DEFAULT_PARAPHRASES, SKYWAY_PARAPHRASES, UNANSWERABLE

STORE = PackStore(REPO_ROOT / "prompts")
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def post_of(text: str, platform: str = "x", handle: str = "kate_m", **extra: Any) -> dict[str, Any]:
    return {"platform": platform, "text": text, "author": {"handle": handle, "name": "Kate Mink"}, **extra}


def run(text: str, pack: str = "default", *, context: dict[str, Any] | None = None, facts: dict | None = None,
        options: dict | None = None, **post_extra: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    p = STORE.get(pack)
    post = post_of(text, **post_extra)
    found = analysis.analyze(post, p)
    found.update(facts or {})
    ctx = gather(post, p, found)
    ctx.update(context or {})
    ctx["now"] = NOW
    out = playbook.generate(post, found, p, options or {}, context=ctx)
    report = tone.check(out["reply"], post["platform"], pack=p, post=post,
                        analysis={**found, "escalated": bool(ctx.get("escalated"))})
    return out, found, report


def pack_text(name: str) -> str:
    return "\n".join(read_files(REPO_ROOT / "prompts" / name).values())


@pytest.mark.parametrize("pack,cases", [("default", DEFAULT_PARAPHRASES), ("skyway", SKYWAY_PARAPHRASES)])
def test_questions_get_the_articles_facts_and_name_it(pack: str, cases: list[tuple[str, str]]) -> None:
    body = {a["id"]: a["body"] for a in STORE.get(pack).data["knowledge"]}
    answered = 0
    for question, want in cases:
        out, _, report = run(question, pack, facts={"intent": "question", "severity": "normal"})
        ids = [s["id"] for s in out["sources"]]
        if ids == [want]:
            answered += 1
            fact_words = set(re.findall(r"\w{4,}", body[want].lower()))
            said = set(re.findall(r"\w{4,}", out["reply"].lower()))
            assert len(fact_words & said) >= 3, (question, out["reply"])
            assert "checking" not in out["reply"].lower(), out["reply"]  # an answer, not a stall
            assert out["sources"][0]["title"] and out["sources"][0]["url"].startswith("https://")
        assert playbook.measure(out["reply"], STORE.get(pack).view.channel("x")) <= 280, out["reply"]
        assert report["verdict"] != "block", (question, out["reply"], report["findings"])
    assert answered >= 0.85 * len(cases)


NUMBER = re.compile(r"£?\d+(?:[.,:]\d+)?\s*(?:am|pm|%|kg|days?|hours?|minutes?)?", re.I)


@pytest.mark.parametrize("pack", ["default", "skyway"])
def test_no_invented_facts_when_nothing_answers(pack: str) -> None:
    """No number, time or price in the reply that is not in the pack's own files (or the post)."""
    known = pack_text(pack).lower()
    for question in UNANSWERABLE:
        out, _, report = run(question, pack, facts={"intent": "question", "severity": "normal"})
        for m in NUMBER.finditer(out["reply"]):
            figure = m.group(0).strip().lower()
            assert figure.split()[0] in known or figure in question.lower(), (question, out["reply"], figure)
        if not out["sources"]:
            assert re.search(r"check|find out|look into|get back|reply here|will", out["reply"], re.I), out["reply"]
        assert report["verdict"] != "block"


def test_memory_draws_on_a_sent_reply_personalised_again() -> None:
    sent = {"id": "reply:41", "title": "Earlier reply from the team",
            "reply": "Hi Ana, so sorry about the lid! Order 7712345 is covered: we replace a kettle with a loose lid "
                     "for free within 2 years. Email ana@example.org gets the label. ^KM",
            "names": ["Ana"]}
    out, _, report = run("@AcmeShop the lid on my new kettle keeps popping open, is that covered?",
                         facts={"intent": "question", "severity": "normal"},
                         context={"articles": [], "memory": [sent]})
    assert out["sources"] == [{"id": "reply:41", "title": "Earlier reply from the team"}]
    reply = out["reply"]
    assert "replace a kettle with a loose lid" in reply
    assert "Ana" not in reply and "7712345" not in reply and "ana@example.org" not in reply and "^KM" not in reply
    assert "Kate" in reply and reply.endswith("^AC")
    assert report["verdict"] != "block"


def test_safety_reply_says_escalated_only_when_it_was() -> None:
    text = "@AcmeShop the kettle sparked and burnt my hand"
    facts = {"intent": "legal_safety", "severity": "critical"}
    not_done, _, report = run(text, facts=facts, context={"escalated": False})
    assert "escalat" not in not_done["reply"].lower() and "I've raised" not in not_done["reply"]
    assert "untaken_action" not in {f["rule"] for f in report["findings"]}
    assert "escalate it" in not_done["advice"]  # the agent is told it is theirs to do
    done, _, report = run(text, facts=facts, context={"escalated": True})
    assert "escalated" in done["reply"].lower()
    assert "untaken_action" not in {f["rule"] for f in report["findings"]}
    assert not done.get("advice") or "escalate it" not in done["advice"]


def test_threat_gets_advice_and_no_reply() -> None:
    out, _, _ = run("@AcmeShop I know where your warehouse staff live. Watch yourselves.",
                    facts={"intent": "threat", "severity": "critical"})
    assert out["reply"] == "" and out["engage"] is False
    assert "do not engage" in out["advice"].lower()


@pytest.mark.parametrize("text,limit", [
    ("@SkywayAir my flight leaves in 2 hours and the app lost my booking ABC123", 120),
    ("@AcmeShop the dress I ordered hasn't come and the wedding is tomorrow!!", 1440),
    ("@AcmeShop only 90 mins left before the party and the cake stand isn't here", 90),
])
def test_promise_fits_inside_the_stated_deadline(text: str, limit: float) -> None:
    pack = "skyway" if "Skyway" in text else "default"
    out, facts, report = run(text, pack, facts={"intent": "complaint", "severity": "normal"})
    promised = [m for _, m in promised_minutes(out["reply"])]
    assert promised and max(promised) < limit, out["reply"]
    assert "past_deadline" not in {f["rule"] for f in report["findings"]}
    assert re.search(r"only have|to go|time is", out["reply"]), out["reply"]  # says it knows the deadline


def test_post_showing_private_data_gets_asked_to_remove_it() -> None:
    text = ("@AcmeShop charged twice for order 5512345!! card 4111 1111 1111 1111, email kate.m@gmail.com, "
            "call me on 07700 900123")
    out, _, report = run(text)
    reply = out["reply"].lower()
    assert "delete" in reply or "remove" in reply
    assert "card details" in reply and "email" in reply and "phone number" in reply
    assert "dm" in reply
    assert "order number" not in reply and "email address on your order" not in reply  # never asked again
    assert report["verdict"] != "block", report["findings"]
    assert not {"private_data_request", "asks_given"} & {f["rule"] for f in report["findings"]}


def test_tone_still_blocks_asking_for_a_card_number_after_such_a_post() -> None:
    post = post_of("@AcmeShop card 4111 1111 1111 1111 charged twice")
    found = analysis.analyze(post, STORE.get("default"))
    for draft in ("Kate, please delete this post and DM us your card number and CVV. ^AC",
                  "Kate, what's the CVV on your card? ^AC"):
        report = tone.check(draft, "x", pack=STORE.get("default"), post=post, analysis=found)
        assert report["verdict"] == "block"


def test_reply_knows_the_customers_earlier_post() -> None:
    earlier = {"id": 3, "post_id": "1", "text": "@AcmeShop where is order 4471239? it was due Friday",
               "created_at": (NOW - timedelta(days=2)).isoformat(), "reply": "Sorry Kate, checking now. ^AC"}
    out, _, _ = run("@AcmeShop still no sign of order 4471239, this is ridiculous",
                    facts={"intent": "complaint", "severity": "high"}, context={"history": [earlier]})
    assert "I can see we" in out["reply"] and "Tuesday" in out["reply"], out["reply"]
    unrelated = {**earlier, "text": "@AcmeShop love the new toaster colours", "reply": None}
    out, _, _ = run("@AcmeShop still no sign of order 4471239, this is ridiculous",
                    facts={"intent": "complaint", "severity": "high"}, context={"history": [unrelated]})
    assert "I can see" not in out["reply"]


@pytest.mark.parametrize("text,lang,words", [
    ("@AcmeShop ¿cuánto tarda el reembolso de mi devolución?", "es", ("Hola", "reembolso")),
    ("@AcmeShop combien de temps pour le remboursement de mon retour ?", "fr", ("Bonjour", "remboursement")),
    ("@AcmeShop mi pedido no ha llegado y es un desastre", "es", ("siento",)),
])
def test_post_answered_in_its_language(text: str, lang: str, words: tuple[str, ...]) -> None:
    out, _, report = run(text, lang=lang)
    assert all(w in out["reply"] for w in words), out["reply"]
    assert "notice" not in out
    assert report["verdict"] != "block"


def test_language_without_a_playbook_gets_a_notice() -> None:
    out, _, _ = run("@AcmeShop Wo ist meine Bestellung? Ich warte seit zwei Wochen", lang="de")
    assert out["notice"] == "No German playbook in this pack; answered in English."
    out, _, _ = run("@SkywayAir ¿dónde está mi maleta?", "skyway", lang="es")
    assert "Spanish" in out["notice"]


def test_no_cheer_or_thanks_for_an_upset_or_sarcastic_post() -> None:
    for variant in range(6):
        out, _, report = run("@AcmeShop great job, third missed delivery this week 👏",
                             facts={"intent": "complaint", "severity": "normal", "sarcasm": True},
                             options={"variant": variant})
        first = out["reply"].split(".")[0].lower()
        assert "thank" not in first and "great question" not in first, out["reply"]
        assert not {"thanks_complaint", "cheer_mismatch"} & {f["rule"] for f in report["findings"]}


def test_stock_phrases_are_gone() -> None:
    seen = []
    for question, _ in DEFAULT_PARAPHRASES[:12]:
        out, _, _ = run("@AcmeShop this is the third time, " + question, facts={"intent": "complaint",
                                                                                 "severity": "critical"})
        seen.append(out["reply"])
    joined = " ".join(seen)
    assert "You deserve far better" not in joined and "I'd feel exactly the same" not in joined
