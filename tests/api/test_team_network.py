"""A team server on the network: Host allow-list, HTTPS off loopback (directly or via trusted proxies), agents'
tokens, and the per-address limit on failed sign-ins (bearer tokens and console passwords together)."""
from __future__ import annotations

from pathlib import Path

import pytest

from server.app import create_app
from server.config import Config
from server.web.security import Caller, caller, check_listen, is_loopback_address
from tests.support.admin import PASSWORD, make_admin_app
from tests.support.live import make_config

OFF = {"REMOTE_ADDR": "10.0.0.5"}  # another machine on the LAN
HTTPS = "https://desk.example.com"
HOSTS = ("desk.example.com",)


def team_app(tmp: Path, **kw):
    return create_app(make_config(tmp / "data", allowed_hosts=kw.pop("allowed_hosts", HOSTS), **kw))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_allow_list_adds_names_to_loopback(tmp_path):
    app = team_app(tmp_path, allowed_hosts=("Desk.Example.com:443", "other.example"))
    c = app.test_client()
    for host in ("desk.example.com", "desk.example.com:8765", "other.example", "127.0.0.1:8765", "localhost"):
        assert c.get("/healthz", headers={"Host": host}).status_code == 200, host
    r = c.get("/api/queue", headers={"Host": "evil.example", **bearer(app.config["REPLYDESK_TOKEN"])})
    assert r.status_code == 403 and r.json["error"] == "host_not_allowed"
    assert "REPLYDESK_ALLOWED_HOSTS" in r.json["message"] and "evil.example" in r.json["message"]


def test_plain_http_from_another_machine_is_refused(tmp_path):
    app = team_app(tmp_path)
    c, auth = app.test_client(), bearer(app.config["REPLYDESK_TOKEN"])
    r = c.get("/api/queue", base_url="http://desk.example.com", headers=auth, environ_base=OFF)
    assert r.status_code == 403 and r.json["error"] == "https_required"
    assert "docs/team-server.md" in r.json["message"] and "REPLYDESK_INSECURE_HTTP=1" in r.json["message"]
    assert c.get("/admin/login", base_url="http://desk.example.com", environ_base=OFF).status_code == 403
    # HTTPS from another machine, and plain HTTP on loopback, are fine; a probe of /healthz may be plain.
    assert c.get("/api/queue", base_url=HTTPS, headers=auth, environ_base=OFF).status_code == 200
    assert c.get("/api/queue", base_url="http://desk.example.com", headers=auth).status_code == 200
    assert c.get("/healthz", base_url="http://desk.example.com", environ_base=OFF).status_code == 200


def test_insecure_http_is_an_explicit_choice(tmp_path):
    app = team_app(tmp_path, insecure_http=True)
    r = app.test_client().get("/api/queue", base_url="http://desk.example.com",
                              headers=bearer(app.config["REPLYDESK_TOKEN"]), environ_base=OFF)
    assert r.status_code == 200


def test_forwarded_headers_count_only_from_trusted_proxies(tmp_path):
    fwd = {"X-Forwarded-For": "10.0.0.5", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "desk.example.com"}
    # Without trusted_proxies, a client cannot claim HTTPS with a header.
    plain = team_app(tmp_path / "a")
    r = plain.test_client().get("/api/queue", base_url="http://desk.example.com", environ_base=OFF,
                                headers={**fwd, **bearer(plain.config["REPLYDESK_TOKEN"])})
    assert r.status_code == 403 and r.json["error"] == "https_required"
    # Behind one trusted proxy on loopback (nginx): its X-Forwarded-Proto says the client used TLS...
    app = team_app(tmp_path / "b", trusted_proxies=1)
    c, auth = app.test_client(), bearer(app.config["REPLYDESK_TOKEN"])
    r = c.get("/api/queue", base_url="http://127.0.0.1:8765", headers={**fwd, **auth})
    assert r.status_code == 200
    # ...and without it the request is the remote client's plain HTTP, refused; the forwarded Host is checked.
    r = c.get("/api/queue", base_url="http://127.0.0.1:8765",
              headers={"X-Forwarded-For": "10.0.0.5", "X-Forwarded-Host": "desk.example.com", **auth})
    assert r.status_code == 403 and r.json["error"] == "https_required"
    r = c.get("/api/queue", base_url="http://127.0.0.1:8765", headers={**fwd, "X-Forwarded-Host": "evil.example",
                                                                      **auth})
    assert r.status_code == 403 and r.json["error"] == "host_not_allowed"


def test_agent_tokens_and_the_pairing_token_say_who_calls(tmp_path):
    app = team_app(tmp_path)
    agents = app.extensions["replydesk"].agents
    token = agents.add("Dana Kim", initials="DK")
    c = app.test_client()
    assert c.get("/api/queue", base_url=HTTPS, headers=bearer(token), environ_base=OFF).status_code == 200
    with app.test_request_context():
        who = caller(f"Bearer {token}")
        assert (who.name, who.initials, who.supervisor) == ("Dana Kim", "DK", False)
        assert caller(f"Bearer {app.config['REPLYDESK_TOKEN']}") == Caller(app.config["REPLYDESK"].agent_name,
                                                                           "", True)
        assert caller("Bearer ") is None and caller("Bearer wrong") is None and caller(None) is None
    agents.revoke("Dana Kim")
    agents._cache.clear()  # revocation reaches every process within the cache's few seconds; here at once
    assert c.get("/api/queue", base_url=HTTPS, headers=bearer(token), environ_base=OFF).status_code == 401


def test_failed_tokens_from_one_address_are_limited(tmp_path):
    app = team_app(tmp_path)
    c, good = app.test_client(), bearer(app.config["REPLYDESK_TOKEN"])

    def get(headers, addr="10.0.0.5"):
        return c.get("/api/queue", base_url=HTTPS, headers=headers, environ_base={"REMOTE_ADDR": addr})

    for i in range(9):
        assert get(bearer(f"guess-{i}")).status_code == 401
        assert get(good).status_code == 200  # successes neither count nor forgive
        assert get({}).status_code == 401  # no token at all guesses nothing
    assert get(bearer("guess-9")).status_code == 401  # the tenth failure...
    r = get(good)  # ...and for the rest of the window even the right token waits
    assert r.status_code == 429 and r.json["error"] == "rate_limited"
    assert 1 <= r.json["retry_after"] <= 60 and r.headers["Retry-After"] == str(r.json["retry_after"])
    assert get(bearer("guess-x")).status_code == 429
    assert get(good, addr="10.0.0.6").status_code == 200  # per address
    assert get(good, addr="127.0.0.1").status_code == 200  # loopback is the desk's own machine: never limited
    for i in range(15):
        assert get(bearer(f"local-{i}"), addr="127.0.0.1").status_code == 401
    assert get(good, addr="127.0.0.1").status_code == 200


def test_limits_are_per_app(tmp_path):
    one, two = team_app(tmp_path / "a"), team_app(tmp_path / "b")
    for _ in range(10):
        one.test_client().get("/api/queue", base_url=HTTPS, headers=bearer("x"), environ_base=OFF)
    r = two.test_client().get("/api/queue", base_url=HTTPS, headers=bearer(two.config["REPLYDESK_TOKEN"]),
                              environ_base=OFF)
    assert r.status_code == 200


def test_failed_console_sign_ins_share_the_address_limit(tmp_path):
    app = make_admin_app(tmp_path, allowed_hosts=HOSTS)
    c = app.test_client()

    def login(name, password):
        page = c.get("/admin/login", base_url=HTTPS, environ_base=OFF).text
        csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        return c.post("/admin/login", base_url=HTTPS, environ_base=OFF,
                      data={"name": name, "password": password, "csrf_token": csrf})

    for i in range(10):  # ten names, so the console's own per-name limit (5) never triggers
        assert login(f"user{i}", "wrong password").status_code == 401
    blocked = login("alice", PASSWORD)
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    r = c.get("/api/queue", base_url=HTTPS, headers=bearer(app.config["REPLYDESK_TOKEN"]), environ_base=OFF)
    assert r.status_code == 429 and r.json["error"] == "rate_limited"


@pytest.mark.parametrize("host,allowed,refused", [
    ("127.0.0.1", (), False), ("localhost", (), False), ("::1", (), False), ("127.0.0.2", (), False),
    ("0.0.0.0", (), True), ("::", (), True), ("192.168.1.10", (), True), ("0.0.0.0", ("desk.example.com",), False),
])
def test_check_listen(host, allowed, refused):
    message = check_listen(Config(host=host, allowed_hosts=allowed))
    assert (message is not None) is refused
    if refused:
        assert "REPLYDESK_ALLOWED_HOSTS" in message and host in message


@pytest.mark.parametrize("addr,loop", [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True),
                                       ("::ffff:127.0.0.1", True), ("10.0.0.5", False), ("", False),
                                       (None, False), ("not-an-ip", False)])
def test_loopback_addresses(addr, loop):
    assert is_loopback_address(addr) is loop
