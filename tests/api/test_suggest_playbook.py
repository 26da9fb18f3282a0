"""/api/suggest answers with the offline playbook engine, for every sample post and both shipped packs."""
from __future__ import annotations

from twitter_text import parse_tweet

from server.config import REPO_ROOT
from server.core.analysis import analyze
from server.core.playbook import generate
from server.packs.store import PackStore
from server.suggest.context import gather


def test_suggest_endpoint_uses_the_engine_for_every_sample(client, sample_posts) -> None:
    store = PackStore(REPO_ROOT / "prompts")
    for post in sample_posts:
        body = {k: v for k, v in post.items() if k != "expected_intent"}
        resp = client.post("/api/suggest", json={"post": body})
        assert resp.status_code == 200, resp.get_data(as_text=True)
        answer = resp.get_json()
        assert answer["engine"] == "playbook" and answer["pack"]["name"] == "default"
        assert answer["analysis"]["intent"] == analyze(body, store.get("default"))["intent"]
        facts = analyze(body, store.get("default"))
        # The engine with what the API knew: the articles it searched, and whether the queue escalated the post.
        context = gather(body, store.get("default"), facts)
        context["escalated"] = bool((answer.get("queue_item") or {}).get("escalated"))
        assert answer["reply"] == generate(body, facts, store.get("default"), {}, context=context)["reply"]
        assert answer["sources"] == generate(body, facts, store.get("default"), {}, context=context)["sources"]
        if post["platform"] == "x":
            assert parse_tweet(answer["reply"]).weightedLength <= 280
        other = client.post("/api/suggest", json={"post": body, "pack": "skyway",
                                                  "options": {"signature": "^KM"}}).get_json()
        assert other["pack"]["name"] == "skyway" and other["reply"] != answer["reply"]
        assert other["reply"].endswith("-KM")
        if answer["analysis"]["intent"] in ("abuse", "spam"):
            assert answer["engage"] is False and answer["advice"]


def test_a_post_addressed_to_another_brand_gets_a_warning_for_the_agent(client) -> None:
    """Issue 13: '@OtherAir my flight got cancelled' on the retail pack is flagged, not answered blindly."""
    other = {"platform": "x", "post_id": "ob1", "text": "@OtherAir my flight got cancelled and nobody is helping",
             "author": {"handle": "sam_lee", "name": "Sam Lee"}}
    ours = {**other, "post_id": "ob2", "text": "@AcmeShop my parcel never arrived and nobody is helping"}
    warned = client.post("/api/suggest", json={"post": other}).get_json()
    plain = client.post("/api/suggest", json={"post": ours}).get_json()
    assert warned["analysis"]["addressed_to_brand"] is False
    assert "@OtherAir" in warned["advice"] and "AcmeShop" in warned["advice"]
    assert plain["analysis"]["addressed_to_brand"] is True and plain["advice"] is None
