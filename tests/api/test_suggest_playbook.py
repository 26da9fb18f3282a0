"""/api/suggest answers with the offline playbook engine, for every sample post and both shipped packs."""
from __future__ import annotations

from twitter_text import parse_tweet

from server.config import REPO_ROOT
from server.core.analysis import analyze
from server.core.playbook import generate
from server.packs.store import PackStore


def test_suggest_endpoint_uses_the_engine_for_every_sample(client, sample_posts) -> None:
    store = PackStore(REPO_ROOT / "prompts")
    for post in sample_posts:
        body = {k: v for k, v in post.items() if k != "expected_intent"}
        resp = client.post("/api/suggest", json={"post": body})
        assert resp.status_code == 200, resp.get_data(as_text=True)
        answer = resp.get_json()
        assert answer["engine"] == "playbook" and answer["pack"]["name"] == "default"
        assert answer["analysis"]["intent"] == analyze(body, store.get("default"))["intent"]
        assert answer["reply"] == generate(body, analyze(body, store.get("default")), store.get("default"), {})["reply"]
        if post["platform"] == "x":
            assert parse_tweet(answer["reply"]).weightedLength <= 280
        other = client.post("/api/suggest", json={"post": body, "pack": "skyway",
                                                  "options": {"signature": "^KM"}}).get_json()
        assert other["pack"]["name"] == "skyway" and other["reply"] != answer["reply"]
        assert other["reply"].endswith("-KM")
        if answer["analysis"]["intent"] in ("abuse", "spam"):
            assert answer["engage"] is False and answer["advice"]
