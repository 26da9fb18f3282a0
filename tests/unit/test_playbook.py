"""The offline playbook engine: properties of good social care replies, for every sample, variant, style and pack."""
from __future__ import annotations

import json
import re
from typing import Any

import pytest
from twitter_text import parse_tweet

from server.config import REPO_ROOT
from server.core.analysis import analyze
from server.core.playbook import formalize, format_signature, generate
from server.packs.store import PackStore
from tests.support.paths import DATA

SAMPLES: list[dict[str, Any]] = json.loads((DATA / "sample_posts.json").read_text(encoding="utf-8"))
LABELLED: list[dict[str, Any]] = json.loads((DATA / "analysis_posts.json").read_text(encoding="utf-8"))
STYLES = (None, "shorter", "warmer", "more formal")
PACKS = ("default", "skyway")

ACTION = re.compile(r"\b(check|checking|look|looking|chas\w+|send|sending|pass|passing|shar\w+|escalat\w+|rais\w+|"
                    r"fix|updat\w+|follow\w*|review\w*|investigat\w+|sort|track\w*|post|reply|replying|get back|"
                    r"come back|confirm|contact|call|flag\w*|working|action|find|ship|apply|applied|handl\w+|"
                    r"progress|respond|referred|make sure)\b", re.I)
TIME = re.compile(r"\b(today|tomorrow|tonight|now|shortly|within|hours?|minutes?|days?|right away|this (morning|"
                  r"afternoon|evening))\b", re.I)
CONTRACTION = re.compile(r"\b(I'm|I've|I'll|I'd|you're|you've|you'll|we're|we've|we'll|they're|it's|that's|"
                         r"there's|here's|what's|let's|can't|won't|don't|doesn't|didn't|isn't|aren't|wasn't|"
                         r"hasn't|haven't|shouldn't|wouldn't|couldn't|they'll|it'll)\b", re.I)
EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF]")
NEXT_STEP_INTENTS = ("complaint", "question", "request", "outage", "legal_safety", "praise")


@pytest.fixture(scope="module")
def packs() -> dict[str, Any]:
    store = PackStore(REPO_ROOT / "prompts")
    return {name: store.get(name) for name in PACKS}


def weighted(text: str) -> int:
    return parse_tweet(text).weightedLength


def reply_for(post: dict[str, Any], pack: Any, **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    facts = analyze(post, pack)
    return generate(post, facts, pack, options), facts


def signature_of(pack: Any, raw: str | None = None) -> str:
    sig = pack.data["signature"]
    return format_signature(raw, sig["format"], sig.get("default", ""))


def _all_cases(packs: dict[str, Any]):
    for pack_name in PACKS:
        pack = packs[pack_name]
        for post in SAMPLES:
            facts = analyze(post, pack)
            for variant in range(4):
                for style in STYLES:
                    options = {"variant": variant} if style is None else {"variant": variant, "style": style}
                    yield pack, post, facts, options, generate(post, facts, pack, options)


def test_every_reply_fits_and_follows_the_pack(packs) -> None:
    """Every sample, variant and style, in both packs: the channel's length, the signature, the pack's phrases."""
    count = 0
    for pack, post, facts, options, out in _all_cases(packs):
        count += 1
        reply = out["reply"]
        where = (pack.name, post["post_id"], options, reply)
        if post["platform"] == "x":
            assert weighted(reply) <= 280, where
        else:
            assert len(reply) <= pack.data["channels"]["facebook"]["limit"], where
            assert len(reply) <= pack.data["channels"]["facebook"]["recommended"], where
        assert reply.endswith(signature_of(pack)), where
        low = reply.lower()
        for phrase in pack.data["tone"]["banned_phrases"]:
            assert phrase.lower() not in low, (phrase, where)
        for phrase in pack.data["tone"]["required_phrases"]:
            assert phrase.lower() in low, (phrase, where)
        assert "4432" not in reply, "card digits must never be repeated in public"
        assert "{" not in reply and "}" not in reply, where
        if facts["intent"] != "spam":
            who = facts["name"] or (f"@{facts['handle']}" if post["platform"] == "x" else None)
            if who:
                assert who in reply, where
        if facts["intent"] in NEXT_STEP_INTENTS:
            assert ACTION.search(reply) and TIME.search(reply), ("no concrete next step with a time", where)
        if not pack.data["pack"]["emoji"] or options.get("style") == "more formal":
            assert not EMOJI.search(reply), where
        if pack.data["pack"]["formality"] == "formal" or options.get("style") == "more formal":
            assert not CONTRACTION.search(reply) and "!" not in reply, where
    assert count == 2 * len(SAMPLES) * 4 * len(STYLES)


def test_labelled_posts_fit_on_x_too(packs) -> None:
    for pack in packs.values():
        for post in LABELLED:
            for style in STYLES:
                out, _ = reply_for({**post, "platform": "x"}, pack, style=style)
                assert weighted(out["reply"]) <= 280, (pack.name, post["id"], style, out["reply"])


def test_deterministic_and_variant_changes_wording(packs) -> None:
    pack = packs["default"]
    for post in SAMPLES:
        first, _ = reply_for(post, pack)
        again, _ = reply_for(json.loads(json.dumps(post)), pack)
        assert first == again
        assert reply_for(post, pack, variant=0)[0] == first  # variant 0 is the default
    mike = next(p for p in SAMPLES if p["author"]["handle"] == "mike_t_1987")
    replies = {reply_for(mike, pack, variant=v)[0]["reply"] for v in range(6)}
    assert len(replies) >= 4, replies
    for v in range(5):  # Regenerate always gives a different wording than the one before
        assert reply_for(mike, pack, variant=v)[0]["reply"] != reply_for(mike, pack, variant=v + 1)[0]["reply"]


def test_ten_complaints_get_varied_replies(packs) -> None:
    texts = [
        "@AcmeShop my parcel never arrived", "@AcmeShop the delivery was late again",
        "@AcmeShop still waiting for my parcel, not impressed", "@AcmeShop your courier left my box in the rain",
        "@AcmeShop the item I got is damaged", "@AcmeShop wrong item delivered today",
        "@AcmeShop nobody replied to my email about my delivery", "@AcmeShop the box was crushed and the lid broken",
        "@AcmeShop I was overcharged at checkout", "@AcmeShop really disappointed with your service today",
    ]
    pack = packs["default"]
    replies = []
    for i, text in enumerate(texts):
        post = {"platform": "x", "post_id": f"77{i}", "author": {"handle": "kate", "name": "Kate Mink"}, "text": text}
        out, facts = reply_for(post, pack)
        assert facts["intent"] == "complaint", text
        replies.append(out["reply"])
    assert len(set(replies)) >= 8, replies


def test_style_options_change_the_text(packs) -> None:
    pack = packs["default"]
    for post in SAMPLES:
        base, facts = reply_for(post, pack)
        shorter = reply_for(post, pack, style="shorter")[0]["reply"]
        warmer = reply_for(post, pack, style="warmer")[0]["reply"]
        formal = reply_for(post, pack, style="more formal")[0]["reply"]
        if facts["intent"] in ("abuse", "spam"):
            assert len(shorter) <= len(base["reply"])
            continue
        assert len(shorter) < len(base["reply"]), (base["reply"], shorter)
        assert warmer != base["reply"], warmer
        assert formal != base["reply"] or not CONTRACTION.search(base["reply"]), formal
        assert not CONTRACTION.search(formal) and "!" not in formal, formal


def test_warmer_adds_warmth_and_keeps_empathy_before_the_fix(packs) -> None:
    pack = packs["default"]
    gus = next(p for p in SAMPLES if p["author"]["handle"] == "grumpy_gus")
    base = reply_for(gus, pack)[0]["reply"]
    warm = reply_for(gus, pack, style="warmer")[0]["reply"]
    warm_lines = pack.data["intents"]["complaint"]["warm"]
    assert any(line in warm for line in warm_lines) and not any(line in base for line in warm_lines)
    # empathy (acknowledging the feeling) comes before the next step
    empathy = [e for lines in pack.data["intents"]["complaint"]["empathy"].values() for e in lines]
    found = [base.find(e) for e in empathy if e in base]
    step = min(i for i in (base.find("I'm looking"), base.find("I'm on it"), base.find("Let me"),
                           base.find("I'm raising"), base.find("I'm checking"), base.find("I've flagged"))
               if i >= 0)
    assert found and min(found) < step


def test_dm_when_private_details_are_mentioned(packs) -> None:
    for pack in packs.values():
        for post in SAMPLES:
            out, facts = reply_for(post, pack)
            dm = pack.data["channels"][post["platform"]]["dm_phrase"]
            mode = pack.data["intents"][facts["intent"]].get("dm")
            if facts["entities"]["orders"] and facts["intent"] in ("complaint", "request", "question"):
                assert dm in out["reply"], (pack.name, out["reply"])
            if mode == "never":
                assert dm not in out["reply"]
    ana = next(p for p in SAMPLES if p["author"]["handle"] == "ana_lucia")
    assert packs["default"].data["channels"]["x"]["dm_phrase"] not in reply_for(ana, packs["default"])[0]["reply"]


def test_personal_reply_names_the_order_or_product(packs) -> None:
    pack = packs["default"]
    by = {p["author"]["handle"]: p for p in SAMPLES}
    assert "88231-A" in reply_for(by["mike_t_1987"], pack)[0]["reply"]
    assert "mixer" in reply_for(by["sarahbakes"], pack)[0]["reply"]
    assert "55102" in reply_for(by["kevin.o"], pack)[0]["reply"]
    # the regulated pack never repeats an order/booking number in public, but flights are public
    assert "88231-A" not in reply_for(by["mike_t_1987"], packs["skyway"])[0]["reply"]
    assert "AC482" in reply_for(by["nina_travels"], packs["skyway"])[0]["reply"]


def test_thread_follow_up_mentions_the_earlier_promise(packs) -> None:
    tom = next(p for p in SAMPLES if p["author"]["handle"] == "tom_h")
    reply = reply_for(tom, packs["default"])[0]["reply"]
    assert "refund" in reply and ("still" in reply or "waiting" in reply), reply


def test_faq_answers_instead_of_deflecting(packs) -> None:
    ana = next(p for p in SAMPLES if p["author"]["handle"] == "ana_lucia")
    reply = reply_for(ana, packs["default"])[0]["reply"]
    assert "Canada" in reply and "business days" in reply
    assert not re.search(r"\b(call|phone) (us|our hotline)\b|https?://", reply)


def test_abuse_spam_and_injection_are_not_engaged(packs) -> None:
    for pack in packs.values():
        by = {p["author"]["handle"]: reply_for(p, pack) for p in SAMPLES}
        troll, _ = by["trollface9000"]
        assert troll["engage"] is False and "engag" in troll["advice"].lower()
        assert weighted(troll["reply"]) <= 160, "a passive, short reply"
        assert not re.search(r"\b(idiot|garbage|bankrupt|wrong|actually)\b", troll["reply"], re.I)
        spam, _ = by["promo_deals_4u"]
        assert spam["engage"] is False and "no reply" in spam["advice"].lower()
        assert "bit.ly" not in spam["reply"] and len(spam["reply"]) <= 140
        injected, _ = by["sam"]
        assert injected["engage"] is False and "injection" in injected["advice"]
        assert "password" not in injected["reply"].lower() and "prompt" not in injected["reply"].lower()
        normal, _ = by["mike_t_1987"]
        assert "engage" not in normal and "advice" not in normal


def test_legal_and_safety_escalate_without_admitting_liability(packs) -> None:
    lauren = next(p for p in SAMPLES if p["author"]["handle"] == "lauren.k")
    for pack in packs.values():
        for style in STYLES:
            reply = reply_for(lauren, pack, style=style)[0]["reply"]
            assert "specialist" in reply and pack.data["channels"]["x"]["dm_phrase"] in reply, reply
            assert not re.search(r"\b(our fault|liab|we are responsible|refund|compensat)", reply, re.I), reply


def test_lighthearted_only_when_the_customer_is(packs) -> None:
    sarah = next(p for p in SAMPLES if p["author"]["handle"] == "sarahbakes")
    happy = reply_for(sarah, packs["default"])[0]["reply"]
    assert len(EMOJI.findall(happy)) == 1, happy
    assert not EMOJI.search(reply_for(sarah, packs["skyway"])[0]["reply"])  # pack.emoji = false
    linda = next(p for p in SAMPLES if p["author"]["handle"] == "linda.wu")  # praise, but not playful
    assert not EMOJI.search(reply_for(linda, packs["default"])[0]["reply"])
    for post in SAMPLES:
        facts = analyze(post, packs["default"])
        if not facts["lighthearted"]:
            assert not EMOJI.search(reply_for(post, packs["default"])[0]["reply"]), post["text"]


def test_agent_signature_in_the_pack_format(packs) -> None:
    mike = next(p for p in SAMPLES if p["author"]["handle"] == "mike_t_1987")
    assert reply_for(mike, packs["default"], signature="^KM")[0]["reply"].endswith(" ^KM")
    assert reply_for(mike, packs["skyway"], signature="^KM")[0]["reply"].endswith(" -KM")
    assert reply_for(mike, packs["default"])[0]["reply"].endswith(" ^AC")
    assert reply_for(mike, packs["skyway"])[0]["reply"].endswith("Kind regards, -Skyway Care")
    assert format_signature("KM", "^{initials}") == "^KM"
    assert format_signature("/KM", "^{initials}") == "^KM"
    assert format_signature("Kate Mink", "^{initials}") == "^KM"
    assert format_signature("-Kate", "-{name}") == "-Kate"
    assert format_signature("", "-{name}", "-Skyway Care") == "-Skyway Care"
    assert format_signature(None, "^{initials}", "") == ""


def test_two_packs_give_visibly_different_replies(packs) -> None:
    for post in SAMPLES:
        a = reply_for(post, packs["default"])[0]["reply"]
        b = reply_for(post, packs["skyway"])[0]["reply"]
        assert a != b
        assert b.startswith("Dear ") or b.startswith("Thank you"), b
        assert "Kind regards" in b and "Kind regards" not in a
        assert b.endswith("-Skyway Care") and a.endswith("^AC")


def test_formalize() -> None:
    out = formalize("Hi Kate! I'm so sorry, we'll sort it out and I can't wait 🎉")
    assert out == "Hello Kate. I am so sorry, we will resolve it and I cannot wait"
    assert not CONTRACTION.search(formalize("It's fine, that's what we're here for, don't worry"))


def test_long_names_and_references_still_fit(packs) -> None:
    post = {"platform": "x", "post_id": "1", "author": {"handle": "a" * 15, "name": "Bartholomewwwwwwwwwwww Q"},
            "text": "@AcmeShop order AB-1234567890123456 never arrived, third time!!! worst service, the washing "
                    "machine and the gift card and the kettle all broken. I'm done!!!"}
    for pack in packs.values():
        for style in STYLES:
            for variant in range(3):
                out, _ = reply_for(post, pack, style=style, variant=variant, signature="^" + "Z" * 39)
                assert weighted(out["reply"]) <= 280, out["reply"]


def test_one_apology_per_reply(packs) -> None:
    """An apology reads sincere once and scripted twice ("I'm really sorry, Tom. I'm sorry the refund ...")."""
    for pack in packs.values():
        for post in SAMPLES:
            for variant in range(4):
                reply = reply_for(post, pack, variant=variant)[0]["reply"]
                sentences = re.split(r"(?<=[.!?])\s+", reply)
                apologies = [s for s in sentences if re.search(r"\bsorry\b|\bapologi", s, re.IGNORECASE)]
                assert len(apologies) <= 1, (pack.name, variant, reply)
