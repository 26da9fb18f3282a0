"""One-click pairing: the token goes to the extension that asked, once, and only after someone who holds it approves."""
from __future__ import annotations

import pytest

from server.web import pairing

EXT = {"Origin": "chrome-extension://abcdefghijklmnopabcdefghijklmnop"}
OTHER_EXT = {"Origin": "moz-extension://0b7e3f5c-1111-2222-3333-444455556666"}


@pytest.fixture
def anon(app):
    """A client with no token: what the extension is before pairing."""
    return app.test_client()


def ask(anon, headers=EXT, **body):
    r = anon.post("/api/pair", json=body or {"client": "Chromium"}, headers=headers)
    assert r.status_code == 201, r.json
    return r.json


def test_approved_request_gets_the_token_once(app, anon, client):
    req = ask(anon)
    assert set(req) == {"id", "code", "expires_in", "approve_with"} and req["code"] in req["approve_with"]
    assert anon.get(f"/api/pair/{req['id']}", headers=EXT).json == {"state": "pending"}
    r = client.post("/api/pair/approve", json={"code": req["code"].lower()})  # typed by hand: case does not matter
    assert r.status_code == 200 and r.json["state"] == "approved" and r.json["client"] == "Chromium"
    got = anon.get(f"/api/pair/{req['id']}", headers=EXT)
    assert got.json == {"state": "delivered", "token": app.config["REPLYDESK_TOKEN"]}
    assert anon.get(f"/api/pair/{req['id']}", headers=EXT).status_code == 404  # delivered once
    assert client.post("/api/pair/approve", json={"code": req["code"]}).status_code == 404  # approved once


def test_nothing_is_handed_over_without_approval_or_to_another_asker(app, anon, client):
    req = ask(anon)
    for headers in (EXT, {}):  # Chromium's extension GETs carry no Origin
        assert "token" not in anon.get(f"/api/pair/{req['id']}", headers=headers).json
    client.post("/api/pair/approve", json={"code": req["code"]})
    # Another extension that learned the poll id gets nothing, and the rightful one still can.
    assert anon.get(f"/api/pair/{req['id']}", headers=OTHER_EXT).status_code == 404
    assert anon.get(f"/api/pair/{req['id']}", headers=EXT).json["token"] == app.config["REPLYDESK_TOKEN"]


def test_only_extensions_ask_and_only_token_holders_approve(anon, client):
    for headers in ({}, {"Origin": "https://evil.example"}, {"Origin": "null"}):
        r = anon.post("/api/pair", json={}, headers=headers)
        assert r.status_code == 403 and r.json["message"], headers
    req = ask(anon)
    assert anon.get(f"/api/pair/{req['id']}", headers={"Origin": "https://evil.example"}).status_code == 403
    assert anon.get(f"/api/pair/{req['id'][:-2]}x").status_code == 404  # the poll id is the secret
    r = anon.post("/api/pair/approve", json={"code": req["code"]})
    assert r.status_code == 401 and "python -m server pair" in r.json["message"]
    r = anon.post("/api/pair/approve", json={"code": req["code"]}, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert client.post("/api/pair/approve", json={"code": "ZZZ-ZZZ"}).status_code == 404
    for bad in ({}, {"code": 5}, {"code": "  "}):
        r = client.post("/api/pair/approve", json=bad)
        assert r.status_code == 400 and r.json["error"] == "invalid_code", bad
    assert client.post("/api/pair/approve", data="{", content_type="application/json").status_code == 400


def test_denied_and_expired_requests_give_nothing(app, anon, client):
    denied = ask(anon)
    assert client.post("/api/pair/approve", json={"code": denied["code"], "approve": False}).json["state"] == "denied"
    assert anon.get(f"/api/pair/{denied['id']}", headers=EXT).json == {"state": "denied"}
    store = app.extensions["replydesk"].pairings
    late = ask(anon)
    now = store.clock()
    store.clock = lambda: now + pairing.TTL_SECONDS + 1
    assert client.post("/api/pair/approve", json={"code": late["code"]}).status_code == 404
    assert anon.get(f"/api/pair/{late['id']}", headers=EXT).status_code == 404


def test_a_flood_of_requests_is_refused(anon):
    for _ in range(pairing.MAX_PENDING):
        ask(anon)
    r = anon.post("/api/pair", json={}, headers=EXT)
    assert r.status_code == 429 and r.json["error"] == "too_many_pairings"


def test_codes_are_unambiguous_and_client_names_are_cleaned(anon):
    req = ask(anon, client="Chrome\n\x1b[31m" + "x" * 500)
    assert all(ch in pairing.CODE_ALPHABET + "-" for ch in req["code"]) and len(req["code"]) == 7
    r = anon.post("/api/pair", data=b"not json", headers={**EXT, "Content-Type": "application/json"})
    assert r.status_code == 400
