"""The /demo page the extension runs on: sample posts in X- and Facebook-like markup, live times, safe HTML."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from server.demo import routes as demo
from tests.support.paths import DATA, REPO


def test_demo_posts_are_the_shared_samples() -> None:
    shipped = json.loads(demo.POSTS_FILE.read_text(encoding="utf-8"))
    assert shipped == json.loads((DATA / "sample_posts.json").read_text(encoding="utf-8"))


def test_demo_posts_match_the_shared_samples_file() -> None:
    shared = REPO.parent / "shared" / "samples" / "posts.json"
    if not shared.is_file():
        pytest.skip("no ../shared/samples beside the repository")
    assert demo.POSTS_FILE.read_bytes() == shared.read_bytes()


def test_demo_page_shows_every_sample(client, sample_posts) -> None:
    resp = client.get("/demo", headers={"Authorization": ""})
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    csp = resp.headers["Content-Security-Policy"]
    assert "connect-src 'none'" in csp and "script-src 'self'" in csp  # the page itself never calls the API
    html = resp.get_data(as_text=True)
    for post in sample_posts:
        assert post["url"] in html
    assert html.count('data-testid="tweet"') == sum(1 + len(p.get("thread", [])) for p in sample_posts
                                                    if p["platform"] == "x")
    assert html.count('data-testid="tweetTextarea_0"') == sum(p["platform"] == "x" for p in sample_posts)
    assert html.count('aria-label="Write a comment…"') == sum(p["platform"] == "facebook" for p in sample_posts)
    assert client.get("/demo/static/demo.js").status_code == 200


def test_rebase_keeps_gaps_and_makes_the_newest_recent() -> None:
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    posts = [{"platform": "x", "text": "a", "created_at": "2026-11-24T08:00:00Z", "expected_intent": "question"},
             {"platform": "x", "text": "b", "created_at": "2026-11-24T07:00:00Z",
              "thread": [{"text": "c", "created_at": "2026-11-20T07:00:00Z"}]}]
    out = demo.rebase(posts, now)
    assert out[0]["created_at"] == "2030-01-01T11:57:00Z"
    assert out[1]["created_at"] == "2030-01-01T10:57:00Z"
    assert out[1]["thread"][0]["created_at"] == "2029-12-28T10:57:00Z"
    assert "expected_intent" not in out[0]
    assert demo.ago(now - timedelta(minutes=12), now) == "12m" and demo.ago(now - timedelta(hours=3), now) == "3h"


def test_linkify_escapes_and_links() -> None:
    html = str(demo.linkify('<img src=x onerror=alert(1)> @AcmeShop see https://a.example/x #tag', "x"))
    assert "<img" not in html and "&lt;img" in html
    assert '<a href="https://x.com/AcmeShop" role="link" rel="noopener">@AcmeShop</a>' in html
    assert 'href="https://x.com/hashtag/tag"' in html and 'href="https://a.example/x"' in html
