"""Triage through the app: the contract's analysis fields in /api/suggest, the threat playbook, and
POST /api/triage/correction (stored in the app's data folder, then used as an example post of that pack)."""
from __future__ import annotations

import json

import pytest

POST = {"platform": "x", "post_id": "9001", "author": {"handle": "sam", "name": "Sam Roe"},
        "text": "@AcmeShop the locker code you sent opens someone else's locker", "created_at": "2026-11-24T08:00:00Z"}


def test_suggest_carries_the_new_analysis_fields(client) -> None:
    res = client.post("/api/suggest", json={"post": {**POST, "text": "@AcmeShop delivered to the wrong house AGAIN. "
                                                                    "Great job 👏"}})
    assert res.status_code == 200
    a = res.get_json()["analysis"]
    assert a["intent"] == "complaint" and a["sarcasm"] is True and a["lang"] == "en"
    assert a["urgent"] is False and a["addressed_to_brand"] is True


@pytest.mark.parametrize("pack", ["default", "skyway"])
def test_a_threat_gets_do_not_engage_advice_and_no_request_for_details(client, pack: str) -> None:
    res = client.post("/api/suggest", json={"pack": pack, "post": {
        **POST, "text": "I know where your staff live. Watch your back."}})
    body = res.get_json()
    assert res.status_code == 200 and body["analysis"]["intent"] == "threat"
    reply = json.dumps(body).lower()
    assert "security" in reply and "do not engage" in reply
    assert not any(w in body.get("reply", "").lower() for w in ("dm", "details", "contact", "number", "email"))


def test_a_correction_is_stored_and_then_decides_a_close_post(client, app) -> None:
    before = client.post("/api/suggest", json={"post": POST}).get_json()["analysis"]["intent"]
    assert before != "outage"
    res = client.post("/api/triage/correction", json={"post": POST, "intent": "outage"})
    assert res.status_code == 201, res.get_json()
    body = res.get_json()
    assert body["stored"] is True and body["pack"] == "default" and body["corrections"] == 1
    assert body["analysis"]["intent"] == "outage"
    saved = json.loads((app.config["REPLYDESK"].data_dir / "triage_corrections.json").read_text(encoding="utf-8"))
    assert saved["packs"]["default"][0]["intent"] == "outage"
    close = {**POST, "post_id": "9002", "text": "@AcmeShop the locker code you sent me opens someone else's locker!"}
    assert client.post("/api/suggest", json={"post": close}).get_json()["analysis"]["intent"] == "outage"
    other = client.post("/api/suggest", json={"pack": "skyway", "post": close}).get_json()["analysis"]["intent"]
    assert other != "outage"  # a correction belongs to its pack


@pytest.mark.parametrize("body,status,code", [
    ({"intent": "complaint"}, 400, None),
    ({"post": POST}, 400, "invalid_intent"),
    ({"post": POST, "intent": "grumpy"}, 400, "invalid_intent"),
    ({"post": {**POST, "text": "   "}, "intent": "complaint"}, 400, None),
    ({"post": POST, "intent": "complaint", "pack": "no-such-pack"}, 404, "unknown_pack"),
    ({"post": {**POST, "text": "x" * 10_001}, "intent": "complaint"}, 413, None),
])
def test_bad_corrections_get_a_clear_json_error(client, body: dict, status: int, code: str | None) -> None:
    res = client.post("/api/triage/correction", json=body)
    assert res.status_code == status
    err = res.get_json()
    assert err["error"] and err["message"]
    if code:
        assert err["error"] == code


def test_corrections_need_the_token(app) -> None:
    res = app.test_client().post("/api/triage/correction", json={"post": POST, "intent": "complaint"})
    assert res.status_code == 401
