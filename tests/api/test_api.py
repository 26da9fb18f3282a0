"""The suggest API's handling of bad input (always a clear 4xx, never a 500) and restarts."""
from __future__ import annotations

import json

import pytest

from server.app import create_app
from tests.support.live import make_config

POST = {"platform": "x", "post_id": "42", "url": "https://x.com/kate/status/42",
        "author": {"handle": "kate", "name": "Kate Mink"}, "text": "@AcmeShop where is my order 1234?",
        "created_at": "2026-11-24T08:00:00Z"}


def err(resp, status, code=None):
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert isinstance(body, dict) and body.get("error") and body.get("message"), body
    if code:
        assert body["error"] == code, body
    return body


def test_suggest_ok(client):
    r = client.post("/api/suggest", json={"post": POST})
    assert r.status_code == 200
    body = r.get_json()
    for key in ("reply", "engine", "analysis", "tone", "pack", "elapsed_ms"):
        assert key in body
    assert body["pack"]["name"] == "default"


@pytest.mark.parametrize("raw,needle", [
    (b"{oops", "not valid JSON"),
    (b"", "empty"),
    (b"[1, 2]", "JSON object"),
    (b"\xff\xfe{}", "UTF-8"),
    (b"null", "JSON object"),
])
def test_not_json(client, raw, needle):
    body = err(client.post("/api/suggest", data=raw, content_type="application/json"), 400, "invalid_json")
    assert needle in body["message"]


def test_deeply_nested_json(client):
    deep = "[" * 5000 + "]" * 5000
    err(client.post("/api/suggest", data=deep, content_type="application/json"), 400, "invalid_json")
    nested = {"post": POST, "x": json.loads("[" * 40 + "]" * 40)}
    err(client.post("/api/suggest", json=nested), 400, "invalid_json")


def test_missing_post(client):
    body = err(client.post("/api/suggest", json={"text": "hi"}), 400, "invalid_post")
    assert "'post'" in body["message"]


@pytest.mark.parametrize("field", ["text", "platform"])
def test_missing_fields(client, field):
    post = {k: v for k, v in POST.items() if k != field}
    body = err(client.post("/api/suggest", json={"post": post}), 400, "invalid_post")
    assert f"post.{field} is required" in body["message"]


def test_empty_text(client):
    err(client.post("/api/suggest", json={"post": {**POST, "text": "   "}}), 400, "invalid_post")
    err(client.post("/api/suggest", json={"post": {**POST, "text": ""}}), 400, "invalid_post")


def test_unknown_platform(client):
    body = err(client.post("/api/suggest", json={"post": {**POST, "platform": "myspace"}}), 400, "unknown_platform")
    assert "myspace" in body["message"] and "facebook" in body["message"]


def test_unknown_pack(client):
    body = err(client.post("/api/suggest", json={"post": POST, "pack": "nope"}), 404, "unknown_pack")
    assert "default" in body["message"]


@pytest.mark.parametrize("name", ["../../etc/passwd", "..", "a/b", "UPPER", "", "x" * 100])
def test_pack_name_traversal(client, name):
    err(client.post("/api/suggest", json={"post": POST, "pack": name}), 404, "unknown_pack")


def test_pack_wrong_type(client):
    err(client.post("/api/suggest", json={"post": POST, "pack": ["default"]}), 400, "invalid_pack")


def test_body_over_64kb(client):
    big = {"post": {**POST, "text": "a" * 9000}, "pad": "b" * 70_000}
    err(client.post("/api/suggest", json=big), 413, "too_large")


def test_text_over_10000(client):
    body = err(client.post("/api/suggest", json={"post": {**POST, "text": "a" * 10_001}}), 413, "text_too_long")
    assert "10000" in body["message"]


@pytest.mark.parametrize("field,value", [
    ("text", 12), ("text", None), ("platform", 1), ("author", "kate"), ("author", {"name": 5}),
    ("thread", "earlier"), ("thread", [{"author": {}}]), ("created_at", 7), ("url", ["x"]), ("post_id", 1.5),
])
def test_wrong_types(client, field, value):
    body = err(client.post("/api/suggest", json={"post": {**POST, field: value}}), 400)
    assert f"post.{field}" in body["message"] or "post" in body["message"]


def test_post_not_object(client):
    err(client.post("/api/suggest", json={"post": "hello"}), 400, "invalid_post")


@pytest.mark.parametrize("options,needle", [
    ("fast", "options"), ({"style": "angrier"}, "style"), ({"variant": -1}, "variant"),
    ({"variant": "2"}, "variant"), ({"signature": "x" * 41}, "signature"),
])
def test_bad_options(client, options, needle):
    body = err(client.post("/api/suggest", json={"post": POST, "options": options}), 400, "invalid_options")
    assert needle in body["message"]


def test_unknown_fields_are_ignored(client):
    r = client.post("/api/suggest", json={"post": {**POST, "extra": {"a": 1}}, "whatever": True})
    assert r.status_code == 200


def test_null_bytes_and_html_are_data(client):
    r = client.post("/api/suggest", json={"post": {**POST, "text": "hi\x00 <script>alert(1)</script> my order"}})
    assert r.status_code == 200
    assert "<script>" not in r.get_json()["reply"]


def test_method_and_path_errors_are_json(client):
    err(client.get("/api/suggest"), 405, "method_not_allowed")
    err(client.get("/api/nothing-here"), 404, "not_found")


def test_packs_listing(client):
    r = client.get("/api/packs")
    assert r.status_code == 200
    names = [p["name"] for p in r.get_json()["packs"]]
    assert "default" in names
    r = client.get("/api/packs/default")
    assert r.status_code == 200 and r.get_json()["data"]["pack"]["brand"]
    err(client.get("/api/packs/..%2f..%2fetc"), 404)


def test_restart_with_same_data_dir_keeps_token_and_last_good_pack(tmp_path):
    import shutil

    from server.config import REPO_ROOT

    packs = tmp_path / "packs"
    shutil.copytree(REPO_ROOT / "prompts", packs)
    cfg = make_config(tmp_path / "data", packs_dir=packs)
    first = create_app(cfg)
    token = first.config["REPLYDESK_TOKEN"]
    c = first.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert c.post("/api/suggest", json={"post": POST}, headers=headers).status_code == 200
    # A supervisor breaks the pack on disk, then the server restarts.
    (packs / "default" / "pack.toml").write_text("[pack\nname = broken")
    second = create_app(cfg)
    assert second.config["REPLYDESK_TOKEN"] == token
    c2 = second.test_client()
    r = c2.post("/api/suggest", json={"post": POST}, headers=headers)
    assert r.status_code == 200, r.get_json()
    status = c2.get("/api/packs", headers=headers).get_json()["packs"]
    default = next(p for p in status if p["name"] == "default")
    assert default["error"] and default["error"]["file"] == "pack.toml" and default["error"]["line"] == 1
