"""The OpenAPI description (server/openapi.yaml) stays honest: it describes every route the server has, describes
nothing the server lacks, and the answers of real calls over HTTP validate against its schemas."""
from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from server.web.openapi import load_spec

SPEC_URI = "urn:replydesk:openapi"
# The paths whose routes the description must cover: the agent API, health and the WebSocket.
DESCRIBED_PREFIXES = ("/api", "/healthz", "/ws")
POST = {"platform": "x", "post_id": "77", "url": "https://x.com/kate/status/77",
        "author": {"handle": "kate", "name": "Kate Mink"},
        "text": "@AcmeShop my order 1234 never arrived and I'm really upset", "created_at": "2026-11-24T08:00:00Z"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def flask_to_openapi(rule: str) -> str:
    """'/api/queue/<int:item_id>/replied' -> '/api/queue/{item_id}/replied'."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


class Spec:
    """Finds the schema for (path template, method, status) and validates a JSON body against it."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.registry = Registry().with_resource(SPEC_URI, Resource(contents=spec, specification=DRAFT202012))

    def operations(self) -> set[tuple[str, str]]:
        return {(path, method.upper()) for path, item in self.spec["paths"].items() for method in item
                if method in ("get", "post", "put", "patch", "delete", "options")}

    def template_for(self, path: str) -> str:
        """The described path template a concrete path matches ('/api/packs/default' -> '/api/packs/{name}');
        a literal path wins over a template (as in Flask: '/api/pair/approve' is not '/api/pair/{poll_id}')."""
        if path in self.spec["paths"]:
            return path
        for template in self.spec["paths"]:
            pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, path):
                return template
        raise AssertionError(f"{path} matches no described path")

    def response_pointer(self, template: str, method: str, status: int) -> str:
        op = self.spec["paths"][template][method.lower()]
        responses = op["responses"]
        key = str(status) if str(status) in responses else f"{str(status)[0]}XX"
        assert key in responses, f"{method} {template} answered {status}, which the description does not list"
        pointer = f"/paths/{_escape(template)}/{method.lower()}/responses/{key}"
        ref = responses[key].get("$ref")
        if ref:
            pointer = ref[1:]
        return pointer

    def resolve(self, pointer: str) -> Any:
        node: Any = self.spec
        for part in pointer.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def check(self, method: str, path: str, status: int, content_type: str | None, body: Any) -> None:
        """Raise AssertionError if this answer is not what the description promises."""
        template = self.template_for(path)
        pointer = self.response_pointer(template, method, status)
        response = self.resolve(pointer)
        content = response.get("content")
        if not content:
            return
        assert content_type and content_type.split(";")[0].strip() in content, \
            f"{method} {path} {status}: content type {content_type} not described"
        media = content_type.split(";")[0].strip()
        schema_pointer = f"{pointer}/content/{_escape(media)}/schema"
        validator = Draft202012Validator({"$ref": f"{SPEC_URI}#{schema_pointer}"}, registry=self.registry)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{method} {path} {status}: {errors[0].message} at {list(errors[0].path)}"


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec(load_spec())


def check_response(spec: Spec, resp: requests.Response) -> None:
    req = resp.request
    path = req.path_url.split("?")[0]
    body = resp.json() if resp.headers.get("Content-Type", "").startswith("application/json") else None
    spec.check(req.method or "GET", path, resp.status_code, resp.headers.get("Content-Type"), body)


def test_spec_is_openapi_31_and_its_schemas_are_valid(spec):
    doc = spec.spec
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] and doc["paths"]
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
        assert name
    # Every $ref points at something that exists.
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        spec.resolve(ref[1:])
    # Every operation lists its answers, and every error answer is the shared Error shape.
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert op.get("responses"), f"{method} {path} lists no responses"
            assert op.get("operationId"), f"{method} {path} has no operationId"


SAMPLE_PARAMS = {"item_id": "1", "name": "default", "poll_id": "abc"}


def test_every_route_is_described_and_every_description_exists(app, spec):
    """Each described path and method reaches a route of the server; each route (and method) of the agent API, health
    and WebSocket is reached by some described path. Matching goes through Flask's own URL map, so a route with a
    free path part (`/api/queue/<int:item_id>/<action>`) is described by its concrete paths (replied, dismiss...)."""
    from werkzeug.exceptions import MethodNotAllowed, NotFound
    from werkzeug.routing import WebsocketMismatch

    adapter = app.url_map.bind("127.0.0.1")
    reached: set[tuple[str, str]] = set()
    phantom = []
    for template, method in sorted(spec.operations()):
        path = re.sub(r"\{([^}]+)\}", lambda m: SAMPLE_PARAMS[m.group(1)], template)
        try:
            try:
                endpoint, _args = adapter.match(path, method=method)
            except WebsocketMismatch:  # /ws is a WebSocket route: it matches only as an upgrade
                endpoint, _args = adapter.match(path, method=method, websocket=True)
        except (NotFound, MethodNotAllowed):
            phantom.append((template, method))
            continue
        reached.add((endpoint, method))
    assert not phantom, f"server/openapi.yaml describes routes the server lacks: {phantom}"
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(DESCRIBED_PREFIXES):
            continue
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            if (rule.endpoint, method) not in reached:
                missing.append((flask_to_openapi(rule.rule), method))
    assert not missing, f"routes missing from server/openapi.yaml: {missing}"


def test_served_spec_is_the_yaml_with_the_server_version(live_server, spec):
    r = requests.get(f"{live_server.url}/api/openapi.json", timeout=10)  # no token needed
    assert r.status_code == 200
    served = r.json()
    assert served["info"]["version"] == live_server.app.config["REPLYDESK_VERSION"]
    assert served["paths"] == spec.spec["paths"]
    assert served["components"] == spec.spec["components"]
    check_response(spec, r)


def test_spec_refuses_web_pages_and_foreign_hosts_like_any_api_path(live_server, spec):
    r = requests.get(f"{live_server.url}/api/openapi.json", headers={"Origin": "https://evil.example"}, timeout=10)
    assert r.status_code == 403
    check_response(spec, r)
    r = requests.get(f"{live_server.url}/api/openapi.json", headers={"Host": "rebind.example"}, timeout=10)
    assert r.status_code == 403


def _calls(srv) -> list[tuple[str, str, dict[str, Any], int]]:
    """(method, path, requests kwargs, expected status): one success per operation and the usual errors."""
    auth = srv.headers
    calls: list[tuple[str, str, dict[str, Any], int]] = [
        ("GET", "/healthz", {}, 200),
        ("GET", "/api/openapi.json", {}, 200),
        ("POST", "/api/suggest", {"json": {"post": POST}, "headers": auth}, 200),
        ("POST", "/api/suggest", {"json": {"post": {**POST, "platform": "facebook"}, "options": {"variant": 2,
                                  "style": "warmer", "signature": "^KM"}}, "headers": auth}, 200),
        ("POST", "/api/suggest", {"json": {"post": POST}}, 401),
        ("POST", "/api/suggest", {"json": {"post": POST}, "headers": {**auth, "Origin": "https://evil.example"}}, 403),
        ("POST", "/api/suggest", {"json": {"post": {**POST, "text": 5}}, "headers": auth}, 400),
        ("POST", "/api/suggest", {"json": {"post": POST, "pack": "nope"}, "headers": auth}, 404),
        ("POST", "/api/suggest", {"json": {"post": {**POST, "text": "a" * 10_001}}, "headers": auth}, 413),
        ("POST", "/api/suggest", {"data": b"x" * 70_000, "headers": {**auth, "Content-Type": "application/json"}},
         413),
        ("OPTIONS", "/api/suggest", {"headers": {"Origin": "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
                                                 "Access-Control-Request-Method": "POST"}}, 204),
        ("POST", "/api/tone", {"json": {"text": "Hi Kate, so sorry about the wait! ^KM", "platform": "x"},
                               "headers": auth}, 200),
        ("POST", "/api/tone", {"json": {"text": "Calm down. Per our policy nothing can be done.",
                                        "platform": "facebook", "post": POST}, "headers": auth}, 200),
        ("POST", "/api/tone", {"json": {"platform": "x"}, "headers": auth}, 400),
        ("POST", "/api/tone", {"json": {"text": "hi", "pack": "nope"}, "headers": auth}, 404),
        ("POST", "/api/triage/correction", {"json": {"post": POST, "intent": "complaint"}, "headers": auth}, 201),
        ("POST", "/api/triage/correction", {"json": {"post": POST, "intent": "nope"}, "headers": auth}, 400),
        ("GET", "/api/packs", {"headers": auth}, 200),
        ("GET", "/api/packs/default", {"headers": auth}, 200),
        ("GET", "/api/packs/nope", {"headers": auth}, 404),
        ("GET", "/ws", {}, 400),
        ("POST", "/api/queue", {"json": {"post": {**POST, "post_id": "q1"}}, "headers": auth}, 201),
        ("POST", "/api/queue", {"json": {"post": {**POST, "post_id": "q1"}}, "headers": auth}, 200),
        ("POST", "/api/queue", {"json": {"post": {**POST, "post_id": "q2", "platform": "facebook"}},
                                "headers": auth}, 201),
        ("POST", "/api/queue", {"json": {"post": {**POST, "post_id": "q3"}}, "headers": auth}, 201),
        ("POST", "/api/queue", {"json": {"post": {"platform": "x", "text": "no id"}}, "headers": auth}, 400),
        ("GET", "/api/queue", {"headers": auth}, 200),
        ("GET", "/api/queue?state=all&platform=x&limit=5&offset=0", {"headers": auth}, 200),
        ("GET", "/api/queue?state=bogus", {"headers": auth}, 400),
        ("GET", "/api/queue/{q1}", {"headers": auth}, 200),
        ("GET", "/api/queue/999999", {"headers": auth}, 404),
        ("POST", "/api/queue/{q1}/snooze", {"json": {"minutes": 5}, "headers": auth}, 200),
        ("POST", "/api/queue/{q1}/snooze", {"json": {"minutes": "soon"}, "headers": auth}, 400),
        ("POST", "/api/queue/{q1}/replied", {"headers": auth}, 200),
        ("POST", "/api/queue/{q1}/dismiss", {"headers": auth}, 409),
        ("POST", "/api/queue/{q2}/dismiss", {"json": {}, "headers": auth}, 200),
        ("POST", "/api/queue/{q3}/claim", {"headers": auth}, 200),
        ("DELETE", "/api/queue/{q3}/claim", {"headers": auth}, 200),
        ("POST", "/api/queue/{q3}/replied", {"json": {"replied_at": "2026-11-24T08:10:00Z"}, "headers": auth}, 200),
        ("POST", "/api/queue/999999/replied", {"headers": auth}, 404),
        ("POST", "/api/queue/{q2}/escalate", {"json": {"reason": "spec test"}, "headers": auth}, 200),
        ("GET", "/api/queue/export", {"headers": auth}, 200),
        ("GET", "/api/stats", {"headers": auth}, 200),
        ("GET", "/api/stats?since=2026-01-01&until=2026-12-31&platform=x&tz=Europe/London", {"headers": auth}, 200),
        ("GET", "/api/stats?tz=Mars/Olympus", {"headers": auth}, 400),
    ]
    return calls


def test_real_answers_validate_against_the_spec(live_server, spec):
    seen_ok: set[tuple[str, str]] = set()
    ids: dict[str, int] = {}
    for method, path, kwargs, expected in _calls(live_server):
        path = path.format(**ids) if "{" in path else path
        r = requests.request(method, live_server.url + path, timeout=30, **kwargs)
        assert r.status_code == expected, f"{method} {path}: {r.status_code} {r.text[:300]}"
        check_response(spec, r)
        if path == "/api/queue" and method == "POST" and r.status_code < 300:
            ids[r.json()["post_id"]] = r.json()["id"]
        if r.status_code < 300:
            seen_ok.add((spec.template_for(path.split("?")[0]), method))
    # One-click pairing: its calls depend on each other's answers (the poll id, the code).
    ext = {"Origin": "chrome-extension://abcdefghijklmnopabcdefghijklmnop"}
    asked = requests.post(live_server.url + "/api/pair", json={"client": "spec test"}, headers=ext, timeout=30)
    approved = requests.post(live_server.url + "/api/pair/approve", json={"code": asked.json()["code"]},
                             headers=live_server.headers, timeout=30)
    polled = requests.get(f"{live_server.url}/api/pair/{asked.json()['id']}", headers=ext, timeout=30)
    refused = requests.post(live_server.url + "/api/pair", json={}, timeout=30)  # no extension Origin
    for r, status in ((asked, 201), (approved, 200), (polled, 200), (refused, 403)):
        assert r.status_code == status, r.text
        check_response(spec, r)
        if r.status_code < 300:
            seen_ok.add((spec.template_for(r.request.path_url), r.request.method))
    assert polled.json() == {"state": "delivered", "token": live_server.token}
    untested = sorted(op for op in spec.operations() - seen_ok if op != ("/ws", "GET"))
    assert not untested, f"operations without a successful call in this test: {untested}"


def test_websocket_upgrade_is_101_as_described(live_server, spec):
    """The described 101: a real handshake, then the auth message and the hello event."""
    from simple_websocket import Client, ConnectionClosed

    assert "101" in spec.spec["paths"]["/ws"]["get"]["responses"]
    ws = Client.connect(live_server.ws_url)
    try:
        ws.send(json.dumps({"type": "auth", "token": live_server.token}))
        first = json.loads(ws.receive(timeout=10))
        assert first["type"] == "hello"
    finally:
        try:
            ws.close()
        except ConnectionClosed:
            pass
