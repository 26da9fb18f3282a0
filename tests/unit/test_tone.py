"""Tone check: every rule on its own (each test fails if its rule is removed), the report's shape, spans and
suggestions, X's weighted length against twitter-text itself, and POST /api/tone through the app."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import parse_tweet

from server.config import REPO_ROOT
from server.core import tone
from server.packs.store import parse_pack, read_files
from tests.support.paths import DATA

LABELLED = json.loads((DATA / "tone_labelled.json").read_text())
PACK: dict[str, Any] = LABELLED["pack"]  # pinned copy of the default pack's rules: edits to prompts/ don't move it
SYSTEM_PROMPT: str = LABELLED["system_prompt"]

MIKE = {"intent": "complaint", "severity": "high", "sentiment": -0.7, "name": "Mike", "handle": "mike_r",
        "entities": {}}
JORDAN = {"intent": "question", "severity": "normal", "sentiment": 0.0, "name": "Jordan", "handle": "jordan_l",
          "entities": {}}


def patched(**patch: Any) -> dict[str, Any]:
    data = copy.deepcopy(PACK)
    for key, value in patch.items():
        data[key] = {**data.get(key, {}), **value}
    return data


def rules_of(text: str, platform: str = "x", **kw: Any) -> set[str]:
    kw.setdefault("pack", PACK)
    return {f["rule"] for f in tone.check(text, platform, **kw)["findings"]}


# Each rule: a draft that must fire it, and the same draft fixed, which must not. Removing the rule fails the
# first half; a rule that fires on everything fails the second.
CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "banned_phrase": ({"text": "Per our policy, refunds take 14 days. ^AC"},
                      {"text": "Refunds take 14 days, and I'll start yours today. ^AC"}),
    "required_phrase": ({"text": "Thanks! I'll check your order today. ^AC",
                         "pack": patched(tone={"required_phrases": ["happy to help"]})},
                        {"text": "Happy to help! I'll check your order today. ^AC",
                         "pack": patched(tone={"required_phrases": ["happy to help"]})}),
    "url_not_allowed": ({"text": "Sorry! Track it at https://bit.ly/3xYz and I'll check too. ^AC"},
                        {"text": "Sorry! Track it at https://acmeshop.example/t/1 and I'll check too. ^AC"}),
    "insult": ({"text": "That's a stupid question; the kettle is 1.7 litres. ^AC"},
               {"text": "Good question! The kettle is 1.7 litres. ^AC"}),
    "defensive_phrase": ({"text": "Like I said earlier, the order shipped on Monday. ^AC"},
                         {"text": "The order shipped on Monday and should arrive tomorrow. ^AC"}),
    "blaming_phrase": ({"text": "You forgot to enter the discount code, so I'll apply it now. ^AC"},
                       {"text": "The discount code didn't apply, so I'll apply it now. ^AC"}),
    "argumentative_phrase": ({"text": "Relax, your parcel will turn up tomorrow. ^AC"},
                             {"text": "Your parcel will turn up tomorrow, and I'm tracking it. ^AC"}),
    "sarcasm": ({"text": "Oh great, another missing parcel. I'll check it today. ^AC"},
                {"text": "Sorry about the missing parcel. I'll check it today. ^AC"}),
    "negative_sentiment": ({"text": "Your complaint is annoying and a waste of our time. ^AC"},
                           {"text": "Thanks for your message; I'll look into it today. ^AC"}),
    "shouting": ({"text": "We are LOOKING INTO IT today. ^AC"},
                 {"text": "We are looking into it today; send us a DM with the order ID. ^AC"}),
    "punctuation_pile": ({"text": "Your parcel is on its way!!! ^AC"},
                         {"text": "Your parcel is on its way! ^AC"}),
    "missing_empathy": ({"text": "Mike, I'll check order 88231-A and update you within 24 hours. ^AC",
                         "analysis": MIKE},
                        {"text": "Mike, I'm so sorry. I'll check order 88231-A and update you within 24 hours. ^AC",
                         "analysis": MIKE}),
    "missing_name": ({"text": "I'm so sorry. I'll chase the courier and update you within 24 hours. ^AC",
                      "analysis": MIKE},
                     {"text": "Mike, I'm so sorry. I'll chase the courier and update you within 24 hours. ^AC",
                      "analysis": MIKE}),
    "missing_next_step": ({"text": "Mike, I'm so sorry to hear that. ^AC", "analysis": MIKE},
                          {"text": "Mike, I'm so sorry to hear that. I'll call the courier now. ^AC",
                           "analysis": MIKE}),
    "deflection": ({"text": "Sorry Mike, please contact the courier directly. ^AC", "analysis": MIKE},
                   {"text": "Sorry Mike, I've contacted the courier and they'll redeliver tomorrow. ^AC",
                    "analysis": MIKE}),
    "missing_signature": ({"text": "Thanks for the lovely review! We're so glad the kettle is a hit."},
                          {"text": "Thanks for the lovely review! We're so glad the kettle is a hit. ^KM"}),
    "private_data_request": ({"text": "Sorry! Can you reply with your email address so I can check? ^AC"},
                             {"text": "Sorry! Can you send us a DM with your email address so I can check? ^AC"}),
    "private_data_exposed": ({"text": "Thanks! We've updated your email to kate.mink@gmail.com today. ^AC"},
                             {"text": "Thanks! We've updated your email today. ^AC"}),
    "length_over_limit": ({"text": "Sorry about this! " + "We're on it. " * 22 + "^AC"},
                          {"text": "Sorry about this! " + "We're on it. " * 18 + "^AC"}),
    "length_over_recommended": ({"text": "Hi Linda, sorry! " + "I've arranged a replacement for you today. " * 15
                                 + "^AC", "platform": "facebook"},
                                {"text": "Hi Linda, sorry! " + "I've arranged a replacement for you today. " * 2
                                 + "^AC", "platform": "facebook"}),
    "readability": ({"text": "We acknowledge receipt of your correspondence regarding the aforementioned transaction "
                             "and will subsequently investigate the circumstances surrounding the discrepancy. ^AC"},
                    {"text": "Thanks for your message about the order. We'll look into what went wrong and get back "
                             "to you today. ^AC"}),
    "emoji_not_allowed": ({"text": "Thank you so much! We'll pass this on 😊 ^AC"},
                          {"text": "Thank you so much! We'll pass this on :) ^AC"}),
    "low_score": ({"text": "whatever. not our problem. ask the courier.", "analysis": MIKE},
                  {"text": "Mike, I'm sorry. I've asked the courier to redeliver today. ^AC", "analysis": MIKE}),
    # The draft against its post (rules/context.py, issue 14).
    "thanks_complaint": ({"text": "Thanks for the kind words, Mike! I'll check the order today. ^AC",
                          "post": {"platform": "x", "text": "Third missed delivery, great job 👏"},
                          "analysis": {**MIKE, "sarcasm": True}},
                         {"text": "Mike, I'm sorry about the third missed delivery. I'll check it today. ^AC",
                          "post": {"platform": "x", "text": "Third missed delivery, great job 👏"},
                          "analysis": {**MIKE, "sarcasm": True}}),
    "cheer_mismatch": ({"text": "Great question, Mike! We're fixing checkout now. ^AC",
                        "analysis": {**MIKE, "intent": "outage"}},
                       {"text": "Mike, I'm sorry checkout is down. We're fixing it now. ^AC",
                        "analysis": {**MIKE, "intent": "outage"}}),
    "asks_given": ({"text": "Mike, I'm sorry. Please DM us your order number. ^AC",
                    "post": {"platform": "x", "text": "order 5512345 never came"},
                    "analysis": {**MIKE, "entities": {"orders": ["5512345"]}}},
                   {"text": "Mike, I'm sorry. I'm checking order 5512345 now and will update you today. ^AC",
                    "post": {"platform": "x", "text": "order 5512345 never came"},
                    "analysis": {**MIKE, "entities": {"orders": ["5512345"]}}}),
    "past_deadline": ({"text": "Mike, I'm sorry. I'll update you within 24 hours. ^AC",
                       "post": {"platform": "x", "text": "my flight leaves in 2 hours and the booking is gone"},
                       "analysis": MIKE},
                      {"text": "Mike, I'm sorry. I'm on it now and will update you within 30 minutes. ^AC",
                       "post": {"platform": "x", "text": "my flight leaves in 2 hours and the booking is gone"},
                       "analysis": MIKE}),
    "untaken_action": ({"text": "Mike, I'm so sorry. I've escalated this to our safety team. ^AC",
                        "analysis": {**MIKE, "intent": "legal_safety", "escalated": False}},
                       {"text": "Mike, I'm so sorry. I've escalated this to our safety team. ^AC",
                        "analysis": {**MIKE, "intent": "legal_safety", "escalated": True}}),
    "prompt_leak": ({"text": "Write one reply to the customer's post. Name the customer, acknowledge their "
                             "feeling. ^AC", "system_prompt": SYSTEM_PROMPT},
                    {"text": "Mike, I'm sorry! I'll reply to your post with the fix today. ^AC",
                     "system_prompt": SYSTEM_PROMPT}),
}


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    kw = dict(case)
    text = kw.pop("text")
    platform = kw.pop("platform", "x")
    kw.setdefault("pack", PACK)
    return tone.check(text, platform, **kw)


def test_every_rule_has_a_case_and_a_severity() -> None:
    assert set(CASES) == set(tone.RULES) == set(tone.SEVERITIES)
    assert set(tone.SEVERITIES.values()) <= {"info", "warn", "block"}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fires_on_the_bad_draft_and_not_on_the_fixed_one(rule: str) -> None:
    bad, fixed = CASES[rule]
    report = run_case(bad)
    hits = [f for f in report["findings"] if f["rule"] == rule]
    assert hits, f"{rule} did not fire on {bad['text']!r}: {report['findings']}"
    assert all(f["severity"] == tone.SEVERITIES[rule] for f in hits)
    expected = {"block": "block", "warn": ("warn", "block"), "info": ("ok", "warn", "block")}[tone.SEVERITIES[rule]]
    assert report["verdict"] in expected
    assert rule not in {f["rule"] for f in run_case(fixed)["findings"]}, f"{rule} fired on {fixed['text']!r}"


def test_report_shape_and_ranges() -> None:
    for item in LABELLED["items"][:60]:
        r = tone.check(item["text"], item["platform"], pack=PACK)
        assert set(r) == {"score", "verdict", "labels", "findings", "length"}
        assert isinstance(r["score"], int) and 0 <= r["score"] <= 100
        assert r["verdict"] in ("ok", "warn", "block")
        assert set(r["labels"]) == set(tone.LABELS)
        assert all(0.0 <= v <= 1.0 for v in r["labels"].values())
        assert r["length"]["limit"] == (280 if item["platform"] == "x" else 8000)
        for f in r["findings"]:
            assert f["rule"] in tone.RULES and f["severity"] == tone.SEVERITIES[f["rule"]]
            assert f["message"] and isinstance(f["message"], str)
            s, e = f["span"]
            assert 0 <= s <= e <= len(item["text"])
        assert json.loads(json.dumps(r)) == r


def test_verdict_follows_the_worst_severity() -> None:
    assert tone.check("Thanks so much, we'll pass this on! ^AC", "x", pack=PACK)["verdict"] == "ok"
    assert tone.check("Like I said, we'll pass this on. ^AC", "x", pack=PACK)["verdict"] == "warn"
    assert tone.check("As I said, we'll pass this on. ^AC", "x", pack=PACK)["verdict"] == "block"
    info_only = tone.check("Thank you so much! We'll pass this on 😊 ^AC", "x", pack=PACK)
    assert [f["severity"] for f in info_only["findings"]] == ["info"] and info_only["verdict"] == "ok"


def test_spans_point_at_the_words() -> None:
    text = "Sorry, but as I said, calm down!!! ^AC"
    spans = {f["rule"]: text[f["span"][0]:f["span"][1]] for f in tone.check(text, "x", pack=PACK)["findings"]}
    assert spans["banned_phrase"] in ("as I said", "calm down")
    assert spans["punctuation_pile"] == "!!!"
    text = "Oh great. Email me at bob.smith@mail.com ^AC"
    spans = {f["rule"]: text[f["span"][0]:f["span"][1]] for f in tone.check(text, "x", pack=PACK)["findings"]}
    assert spans["sarcasm"] == "Oh great"
    assert spans["private_data_exposed"] == "bob.smith@mail.com"
    # curly apostrophes (phones type them) match like straight ones, and spans still index the original text
    text = "You’re wrong, it’s your own fault. ^AC"
    found = {f["rule"]: text[f["span"][0]:f["span"][1]] for f in tone.check(text, "x", pack=PACK)["findings"]}
    assert found["argumentative_phrase"] == "You’re wrong"
    assert "your own fault" in found["blaming_phrase"]


def test_suggestions_are_whole_drafts_that_fix_the_finding() -> None:
    cases = [
        ("Like I said earlier, the order shipped on Monday. ^AC", "defensive_phrase", {}),
        ("We are LOOKING INTO IT today. ^AC", "shouting", {}),
        ("Your parcel is on its way!!! ^AC", "punctuation_pile", {}),
        ("Thanks for the lovely review! We're so glad the kettle is a hit.", "missing_signature", {}),
        ("I'm so sorry. I'll chase the courier and update you within 24 hours. ^AC", "missing_name",
         {"analysis": MIKE}),
        ("Mike, I'll check order 88231-A and update you within 24 hours. ^AC", "missing_empathy", {"analysis": MIKE}),
        ("Mike, I'm so sorry to hear that. ^AC", "missing_next_step", {"analysis": MIKE}),
        ("Sorry! Can you reply with your email address so I can check? ^AC", "private_data_request", {}),
        ("Thanks! We've updated your email to kate.mink@gmail.com today. ^AC", "private_data_exposed", {}),
        ("Thanks! I'll check your order today. ^AC", "required_phrase",
         {"pack": patched(tone={"required_phrases": ["happy to help"]})}),
    ]
    for text, rule, kw in cases:
        kw.setdefault("pack", PACK)
        finding = next(f for f in tone.check(text, "x", **kw)["findings"] if f["rule"] == rule)
        rewrite = finding["suggestion"]
        assert rewrite != text
        assert rule not in {f["rule"] for f in tone.check(rewrite, "x", **kw)["findings"]}, (rule, rewrite)
    sig = next(f for f in tone.check("Thanks!", "x", pack=PACK)["findings"] if f["rule"] == "missing_signature")
    assert sig["suggestion"] == "Thanks! ^AC"


def test_context_rules_stay_quiet_without_context() -> None:
    text = "I'll check order 88231-A and update you within 24 hours. ^AC"
    assert not rules_of(text) & {"missing_empathy", "missing_name", "missing_next_step"}
    assert "missing_empathy" in rules_of(text, analysis=MIKE)


def test_post_alone_gives_the_context() -> None:
    post = {"platform": "x", "post_id": "1", "author": {"handle": "ktmink", "name": "Kate Mink"},
            "text": "This is the worst service ever, my order is lost and nobody answers!"}
    found = rules_of("I'll check order 88231-A and update you within 24 hours. ^AC", post=post)
    assert {"missing_name", "missing_empathy"} <= found  # VADER on the post says upset; author says Kate
    assert "missing_name" not in rules_of("@ktmink sorry! I'll check it now. ^AC", post=post)


def test_empathy_must_come_before_the_fix() -> None:
    late = "Mike, I'm refunding the order now. Sorry about that. ^AC"
    early = "Mike, sorry about that. I'm refunding the order now. ^AC"
    assert "missing_empathy" in rules_of(late, analysis=MIKE)
    assert "missing_empathy" not in rules_of(early, analysis=MIKE)


def test_questions_can_be_answered_without_a_promise() -> None:
    answer = "Hi Jordan, the kettle has a two-year warranty. ^AC"
    assert not rules_of(answer, analysis=JORDAN) & {"missing_next_step", "deflection"}
    assert "missing_next_step" in rules_of("Jordan, thanks for your question! ^AC", analysis=JORDAN)
    assert "deflection" in rules_of("Jordan, please check our FAQ page. ^AC", analysis=JORDAN)


def test_praise_needs_no_next_step_and_abuse_no_name() -> None:
    praise = {**MIKE, "intent": "praise", "severity": "low", "sentiment": 0.9}
    assert tone.check("Thank you so much, Mike! ^AC", "x", pack=PACK, analysis=praise)["verdict"] == "ok"
    troll = {**MIKE, "intent": "abuse", "name": None}
    report = tone.check("Sorry to hear you're unhappy. If there's something we can fix, I'm here to help. ^AC", "x",
                        pack=PACK, analysis=troll)
    assert report["verdict"] == "ok", report["findings"]


def test_privacy_distinguishes_references_dms_and_secrets() -> None:
    ok = ["Order 88231-A is with the courier and arrives Friday. ^AC",
          "Could you send us a DM with your order number and email address? ^AC",
          "We will never ask for your password. I'll check the charge today. ^AC",
          "Sorry! Email help@acmeshop.example and I'll pick it up today. ^AC"]
    for text in ok:
        assert not rules_of(text) & {"private_data_request", "private_data_exposed"}, text
    block = ["Please send us your password in a DM so I can check. ^AC",          # secrets: never, even in DM
             "DM us your full card number and the CVV and I'll refund you. ^AC",
             "What's your home address? I'll check with the courier. ^AC",        # personal data in public
             "Please post your date of birth so I can find the account. ^AC",
             "We've refunded the card 4111 1111 1111 1111 today. ^AC",            # a card number (Luhn)
             "I've checked account no. 12345678 and the payment went through. ^AC"]
    for text in block:
        report = tone.check(text, "x", pack=PACK)
        assert report["verdict"] == "block" and rules_of(text) & {"private_data_request", "private_data_exposed"}
    post = {"platform": "x", "post_id": "2", "author": {"handle": "m", "name": "Mike"},
            "text": "Call me on 07700 900123, I live at 12 Baker Street. Order #195917709"}
    assert "private_data_exposed" in rules_of("We'll call 07700 900123 today. ^AC", post=post)
    assert "private_data_exposed" in rules_of("The courier will go to 12 Baker Street today. ^AC", post=post)
    assert "private_data_exposed" not in rules_of("Order 195917709 ships today. ^AC", post=post)


def test_x_length_counts_urls_emoji_and_cjk() -> None:
    assert tone.weighted_length("a" * 280) == 280
    assert tone.weighted_length("see https://example.com/" + "x" * 200) == 4 + 23
    assert tone.weighted_length("😀" * 10) == 20
    assert tone.weighted_length("日本語") == 6
    over = "a" * 279 + "😀"
    report = tone.check(over, "x")
    assert report["length"] == {"count": 281, "limit": 280}
    finding = next(f for f in report["findings"] if f["rule"] == "length_over_limit")
    assert finding["span"] == [279, 280] and finding["severity"] == "block"
    fb = tone.check("x" * 300, "facebook", pack=patched(channels={"facebook": {"limit": 250, "counting": "chars"}}))
    assert fb["length"] == {"count": 300, "limit": 250} and fb["verdict"] == "block"


SAMPLES = ["hello", "日本語のテキスト😷 https://example.com", "#️⃣ 1️⃣ *️⃣ 123 #tag", "👨‍👩‍👧‍👦 family 🇬🇧 flag",
           "© ® ™ ‼ ⁉ ↔", "line\r\nbreak\rhere", "e\u0301 cafe\u0301", "x.com/abc t.co/xyz bit.ly/3x", "a" * 400,
           "emoji 👍🏽👍🏿 skin tones", "한국어 텍스트 and 中文", "fullwidth ＡＢＣ and ｱｲｳ",
           "Visit acme.com. Then", "http://192.168.0.1/x and https://localhost:8080", "Done. Next... e.g. this",
           "mail me@acme.com or t.co", "ends with a dot."]


@pytest.mark.parametrize("text", SAMPLES)
def test_weighted_length_matches_twitter_text(text: str) -> None:
    assert tone.weighted_length(text) == parse_tweet(text).weightedLength


_ALPHABET = st.sampled_from(list("abc XYZ.,!?#*0123456789/:-@\n") + ["日", "本", "😷", "👍", "🏽", "\u200d", "\ufe0f",
                                                                        "\u20e3", "🇬", "🇧", "©", "é", "\u0301",
                                                                        "https://acme.com/x ", "www.a.io ", "‼"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_weighted_length_matches_twitter_text_on_random_text(text: str) -> None:
    assert tone.weighted_length(text) == parse_tweet(text).weightedLength


@pytest.mark.parametrize("limit", [1, 10, 279, 280])
def test_where_the_count_passes_the_limit(limit: int) -> None:
    """The span of length_over_limit starts at the first character past the limit, on the fast (plain text) path
    and on the slow one (a URL or an emoji in the text), alike."""
    plain = "a" * (limit + 5)
    assert tone._weigh(plain, limit) == (limit + 5, limit)
    with_url = "https://acme.com/x " + plain  # 23 + 1 + limit + 5
    count, at = tone._weigh(with_url, limit)
    assert count == parse_tweet(with_url).weightedLength
    # The URL (18 characters, weighing 23) passes a small limit at once; past it each character weighs one.
    assert at == (0 if limit < 23 else 18 + (limit - 23))
    assert tone._weigh("short", 280) == (5, 5)


def test_signature_formats_of_the_real_packs() -> None:
    """Whatever the packs in prompts/ say, a reply signed with the pack's own default signature is signed."""
    checked = 0
    for folder in sorted((REPO_ROOT / "prompts").iterdir()):
        if not folder.is_dir():
            continue
        pack = parse_pack(folder.name, read_files(folder))
        sig = pack.data["signature"]
        if not sig.get("required") or not sig.get("default"):
            continue
        checked += 1
        signed = f"Thanks so much for the kind words! {sig['default']}"
        assert "missing_signature" not in rules_of(signed, pack=pack), folder.name
        assert "missing_signature" in rules_of("Thanks so much for the kind words!", pack=pack), folder.name
    assert checked >= 1
    dash = patched(signature={"format": "-{name}", "required": True, "default": "-Skyway Care"})
    for signed in ("Thanks! -Alex", "Thanks! -KM", "Thanks! -Skyway Care", "Thanks!\n— Alex"):
        assert "missing_signature" not in rules_of(signed, pack=dash), signed


def test_labels_separate_kinds_of_reply() -> None:
    def labels(text: str) -> dict[str, float]:
        return tone.check(text, "x", pack=PACK)["labels"]

    warm = labels("Hi Mike, I'm so sorry, I can see why that's frustrating. I'll sort it today. Thanks! ^AC")
    hostile = labels("As I said, it's your own fault. CALM DOWN!!! ^AC")
    formal = labels("We apologise for the inconvenience. Kindly be advised that we will ensure a resolution. ^AC")
    assert warm["apologetic"] > 0.5 and warm["sympathetic"] > 0.5 and warm["friendly"] > 0.5
    assert hostile["defensive"] > 0.7 and hostile["frustrated"] > 0.7
    assert warm["polite"] > hostile["polite"] + 0.3
    assert formal["formal"] > warm["formal"]
    assert warm["defensive"] == 0 and warm["frustrated"] < 0.2


def test_score_orders_good_over_bad() -> None:
    good = tone.check("Mike, I'm so sorry. I'm chasing the courier and will update you by 5pm. ^AC", "x", pack=PACK,
                      analysis=MIKE)["score"]
    meh = tone.check("Mike, the courier has it. ^AC", "x", pack=PACK, analysis=MIKE)["score"]
    bad = tone.check("AS I SAID, CALM DOWN!!!", "x", pack=PACK, analysis=MIKE)["score"]
    assert good >= 90 and good > meh > bad


def test_echoes_detects_the_system_prompt() -> None:
    prompt = "You are a care agent for {brand}. Never argue, blame or get defensive, even with trolls online."
    assert tone.echoes("ok so: never argue, blame or get defensive, even with trolls online!", prompt)
    assert not tone.echoes("We never argue with customers.", prompt)
    assert not tone.echoes("anything", "")
    # placeholders break runs: "agent for AcmeShop" does not bridge "{brand}"
    assert tone.echoes("You are a care agent for AcmeShop", prompt, min_words=6)
    assert not tone.echoes("You are a care agent for AcmeShop", prompt, min_words=7)
    report = tone.check("Name the customer, acknowledge their feeling before the fix, give a concrete next step",
                        "x", system_prompt=SYSTEM_PROMPT)
    leak = next(f for f in report["findings"] if f["rule"] == "prompt_leak")
    assert leak["severity"] == "block" and leak["span"][0] == 0


def test_check_never_loads_nltk_or_touches_the_network() -> None:
    """textstat's English syllable counter downloads NLTK's cmudict on first use; the check must not go there."""
    code = ("import sys, socket\n"
            "def refuse(*a, **k): raise RuntimeError('network')\n"
            "socket.socket.connect = refuse\n"
            "from server.core import tone\n"
            "r = tone.check('We acknowledge receipt of your correspondence regarding the aforementioned transaction "
            "and will subsequently investigate the circumstances surrounding the discrepancy.', 'x', "
            "pack={'channels': {'x': {'limit': 280, 'readability_max_grade': 8}}})\n"
            "assert any(f['rule'] == 'readability' for f in r['findings']), r\n"
            "print('nltk' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_lookahead_prefixed_regexes_match_like_the_plain_ones() -> None:
    """`_rx` prefixes patterns with the characters a match can start with, for speed; matches must not change."""
    import re

    patterns = [v for v in vars(tone).values() if isinstance(v, re.Pattern)]
    patterns += [rx for rx, _ in tone._COMBINED.values()] + [rx for rx, _ in tone._POLITE_FEATURES]
    prefixed = [p for p in patterns if p.pattern.startswith("(?=[")]
    assert len(prefixed) >= 20
    texts = [i["text"] for i in LABELLED["items"]] + ["Whatever. /s 🙄 OH GREAT!!", "İstanbul ǅ ß ﬁ"]
    for rx in prefixed:
        plain = re.compile(rx.pattern[rx.pattern.index("])(?:") + 5:-1], rx.flags)
        for text in texts:
            assert [m.span() for m in rx.finditer(text)] == [m.span() for m in plain.finditer(text)], rx.pattern[:60]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_valid_report(text: str) -> None:
    for platform in ("x", "facebook"):
        report = tone.check(text, platform, pack=PACK, analysis=MIKE, system_prompt=SYSTEM_PROMPT)
        assert report["verdict"] in ("ok", "warn", "block")
        for f in report["findings"]:
            assert 0 <= f["span"][0] <= f["span"][1] <= len(text)
