"""Who may talk to the server: Host names, origins, tokens, and the token's storage."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from server.config import REPO_ROOT
from server.web.keystore import get_or_create_token
from server.web.security import host_allowed, host_name, is_extension_origin, token_ok

POST = {"platform": "x", "post_id": "1", "author": {"handle": "kate", "name": "Kate Mink"},
        "text": "@AcmeShop my order 1234 never arrived"}


@pytest.mark.parametrize("host,ok", [
    ("127.0.0.1:8765", True), ("localhost:8765", True), ("[::1]:8765", True), ("LOCALHOST", True),
    ("127.0.0.1", True), ("attacker.example", False), ("attacker.example:8765", False),
    ("127.0.0.1.nip.io:8765", False), ("localhost.evil:80", False), ("", False),
])
def test_host_names(host, ok):
    assert host_allowed(host) is ok


def test_host_name_strips_port():
    assert host_name("[::1]:8765") == "[::1]"
    assert host_name("LocalHost:1") == "localhost"


def test_extension_origins():
    assert is_extension_origin("chrome-extension://abcdefghijklmnop")
    assert is_extension_origin("moz-extension://1234-5678")
    assert not is_extension_origin("https://x.com")
    assert not is_extension_origin("http://127.0.0.1:8765")


def test_token_compare():
    assert token_ok("Bearer abc", "abc")
    assert not token_ok("Bearer abd", "abc")
    assert not token_ok("abc", "abc")
    assert not token_ok(None, "abc")
    assert not token_ok("Basic abc", "abc")


def test_missing_and_wrong_token_are_401(app):
    c = app.test_client()
    r = c.post("/api/suggest", json={"post": POST})
    assert r.status_code == 401 and r.json["error"] == "unauthorized"
    assert "python -m server token" in r.json["message"]
    r = c.post("/api/suggest", json={"post": POST}, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


def test_healthz_needs_no_token(app):
    r = app.test_client().get("/healthz")
    assert r.status_code == 200 and r.json["ok"] is True


def test_foreign_host_refused_even_with_token(client):
    r = client.post("/api/suggest", json={"post": POST}, headers={"Host": "rebind.attacker.example"})
    assert r.status_code == 403 and r.json["error"] == "host_not_allowed"
    r = client.get("/healthz", headers={"Host": "rebind.attacker.example:8765"})
    assert r.status_code == 403


@pytest.mark.parametrize("origin", ["https://evil.example", "https://x.com", "http://127.0.0.1:8765", "null"])
def test_web_page_origins_refused(client, origin):
    r = client.post("/api/suggest", json={"post": POST}, headers={"Origin": origin})
    assert r.status_code == 403 and r.json["error"] == "origin_not_allowed"


@pytest.mark.parametrize("origin", ["chrome-extension://abcdefghijklmnopabcdefghijklmnop", "moz-extension://0a1b"])
def test_extension_origins_allowed_with_cors(client, origin):
    r = client.post("/api/suggest", json={"post": POST}, headers={"Origin": origin})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == origin


def test_preflight_from_extension(client):
    r = client.options("/api/suggest", headers={"Origin": "moz-extension://0a1b",
                                                "Access-Control-Request-Method": "POST"})
    assert r.status_code == 204
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]


def test_no_cors_header_for_non_extension_clients(client):
    r = client.post("/api/suggest", json={"post": POST})
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers


def test_token_file_fallback_is_user_only(tmp_path):
    token = get_or_create_token(tmp_path)
    path = tmp_path / "pairing-token"
    assert path.exists() and path.read_text() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert get_or_create_token(tmp_path) == token


def test_token_in_keyring_not_in_file(tmp_path, monkeypatch):
    import keyring
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1

        def __init__(self):
            self.store = {}

        def get_password(self, service, username):
            return self.store.get((service, username))

        def set_password(self, service, username, password):
            self.store[(service, username)] = password

        def delete_password(self, service, username):
            self.store.pop((service, username), None)

    mem = Memory()
    previous = keyring.get_keyring()
    keyring.set_keyring(mem)
    try:
        token = get_or_create_token(tmp_path / "d")
        assert token in mem.store.values()
        assert not (tmp_path / "d" / "pairing-token").exists()
        assert get_or_create_token(tmp_path / "d") == token
    finally:
        keyring.set_keyring(previous)


def test_cli_token_matches_server_and_warns_without_keyring(tmp_path):
    env = dict(os.environ, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    r = subprocess.run([sys.executable, "-m", "server", "token", "--data-dir", str(tmp_path)], cwd=REPO_ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip().splitlines()[-1]
    assert "keyring" in r.stderr.lower()
    assert token not in r.stderr
    assert get_or_create_token(tmp_path) == token
