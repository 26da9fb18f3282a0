"""The suggest flow with the real queue (SQLite) behind it: a reply the team sent comes back, personalised, for a
later similar post from another customer; a safety post is escalated before the reply says so; the customer's
history shows; sources and advice are in every answer; and no suggestion for any real post in the tests is
blocked by the product's own tone check (issue 14)."""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.paths import DATA


def post(pid: str, text: str, handle: str = "kate_m", name: str = "Kate Mink", **extra: Any) -> dict[str, Any]:
    return {"platform": "x", "post_id": pid, "url": f"https://x.com/{handle}/status/{pid}",
            "author": {"handle": handle, "name": name}, "text": text, "created_at": "2026-12-03T09:00:00Z", **extra}


def suggest(client, body: dict[str, Any], pack: str | None = None, **options: Any) -> dict[str, Any]:
    req: dict[str, Any] = {"post": body}
    if pack:
        req["pack"] = pack
    if options:
        req["options"] = options
    resp = client.post("/api/suggest", json=req)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def test_a_sent_reply_is_drawn_on_for_another_customer(client) -> None:
    first = suggest(client, post("1900000000000000001", "@AcmeShop my espresso robot Model Z makes a grinding "
                                                       "noise when it starts, is that normal?", "ana_r", "Ana Ruiz"))
    item = first["queue_item"]
    sent = ("Hi Ana, a grinding noise on the first start is the Model Z's grinder settling in and stops after a "
            "few cups; if it lasts past a week, we'll swap it. Order 7712345 is covered. ^KM")
    resp = client.post(f"/api/queue/{item['id']}/replied", json={"reply": sent})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    later = suggest(client, post("1900000000000000002", "@AcmeShop is it normal that my Model Z espresso robot "
                                                       "makes a grinding noise when it starts?", "ben_t", "Ben Tate"))
    assert later["analysis"]["intent"] in ("question", "complaint"), later["analysis"]
    assert {"id": f"reply:{item['id']}", "title": "Earlier reply from the team"} in later["sources"]
    reply = later["reply"]
    assert "grinder settling in" in reply and "Ben" in reply
    assert "Ana" not in reply and "7712345" not in reply and "^KM" not in reply
    assert later["tone"]["verdict"] != "block"


def test_safety_post_is_escalated_and_only_then_said_so(client) -> None:
    answer = suggest(client, post("1900000000000000003", "@AcmeShop the kettle sparked and burnt my hand, this "
                                                        "is dangerous"))
    if answer["analysis"]["intent"] != "legal_safety":
        pytest.fail(f"expected a safety post: {answer['analysis']}")
    assert answer["queue_item"]["escalated"] is True
    assert "escalated" in answer["reply"].lower()
    assert "untaken_action" not in {f["rule"] for f in answer["tone"]["findings"]}
    # The same post without an id cannot be tracked, so nothing escalates it: the reply must not say so.
    untracked = {k: v for k, v in post("x", answer["queue_item"]["text"]).items() if k not in ("post_id", "url")}
    other = suggest(client, untracked)
    assert "escalat" not in other["reply"].lower()
    assert "escalate it" in (other["advice"] or "")


def test_the_customers_history_shows(client) -> None:
    first = suggest(client, post("1900000000000000004", "@AcmeShop where is order 4471239? it was due Friday"))
    client.post(f"/api/queue/{first['queue_item']['id']}/replied",
                json={"reply": "Kate, sorry! I'm checking order 4471239 with the courier now. ^AC"})
    again = suggest(client, post("1900000000000000005", "@AcmeShop still no sign of order 4471239. Ridiculous."))
    assert "I can see we" in again["reply"], again["reply"]


def test_every_answer_carries_sources_and_advice(client) -> None:
    answer = suggest(client, post("1900000000000000006", "@AcmeShop how long do refunds take after you get my "
                                                        "return?"))
    assert answer["sources"] and answer["sources"][0]["id"] == "refund-timing"
    assert answer["sources"][0]["url"].startswith("https://acmeshop.example/")
    assert "advice" in answer and "sources" in answer
    ws_free = suggest(client, {"platform": "x", "text": "@AcmeShop love the new toaster!"})
    assert ws_free["sources"] == [] and "advice" in ws_free


def real_posts() -> list[dict[str, Any]]:
    """Every real-looking post in the tests' data: the sample posts and the analysis set."""
    out = []
    for name in ("sample_posts.json", "analysis_posts.json"):
        for raw in json.loads((DATA / name).read_text()):
            out.append({k: v for k, v in raw.items() if k in ("platform", "post_id", "url", "author", "text",
                                                            "created_at", "lang", "thread")})
    return out


@pytest.mark.parametrize("pack", ["default", "skyway"])
def test_the_engines_own_replies_are_never_blocked(client, pack: str) -> None:
    blocked = []
    for body in real_posts():
        for options in ({}, {"style": "shorter"}, {"style": "warmer"}, {"style": "more formal"}, {"variant": 3}):
            answer = suggest(client, body, pack, **options)
            if answer["tone"]["verdict"] == "block":
                blocked.append((body["text"][:60], options, answer["reply"],
                                [f["rule"] for f in answer["tone"]["findings"] if f["severity"] == "block"]))
    assert not blocked, blocked[:5]
