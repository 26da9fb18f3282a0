"""The tone check through the app: /api/tone and the tone report /api/suggest carries (Flask test client)."""
from __future__ import annotations

import pytest

from server.core import tone


def test_api_tone_flags_a_hostile_draft(client) -> None:
    res = client.post("/api/tone", json={"text": "As I said, calm down.", "platform": "x"})
    assert res.status_code == 200
    body = res.get_json()
    assert body["verdict"] != "ok" and body["findings"]
    assert set(body) >= {"score", "verdict", "labels", "findings", "length"}
    assert {"defensive_phrase", "argumentative_phrase", "banned_phrase"} & {f["rule"] for f in body["findings"]}


def test_api_tone_uses_the_post_for_context(client) -> None:
    post = {"platform": "x", "post_id": "42", "url": "https://x.com/ktmink/status/42",
            "author": {"handle": "ktmink", "name": "Kate Mink"},
            "text": "@AcmeShop my order is lost AGAIN and nobody answers. Worst service ever!!!",
            "created_at": "2026-11-24T08:00:00Z"}
    res = client.post("/api/tone", json={"text": "I'll check it today. ^AC", "platform": "x", "post": post})
    assert res.status_code == 200
    assert "missing_name" in {f["rule"] for f in res.get_json()["findings"]}


@pytest.mark.parametrize("body,status", [
    ({"platform": "x"}, 400),
    ({"text": 42, "platform": "x"}, 400),
    ({"text": "hi", "platform": "myspace"}, 400),
    ({"text": "hi", "platform": "x", "pack": "no-such-pack"}, 404),
    ({"text": "x" * 10_001, "platform": "x"}, 413),
])
def test_api_tone_rejects_bad_input_with_json(client, body: dict, status: int) -> None:
    res = client.post("/api/tone", json=body)
    assert res.status_code == status
    err = res.get_json()
    assert err["error"] and err["message"]


def test_api_suggest_carries_a_tone_report(client, sample_posts) -> None:
    post = {k: v for k, v in sample_posts[0].items() if not k.startswith("expected")}
    res = client.post("/api/suggest", json={"post": post})
    assert res.status_code == 200
    report = res.get_json()["tone"]
    assert set(report) >= {"score", "verdict", "labels", "findings", "length"}
    assert set(report["labels"]) == set(tone.LABELS)
