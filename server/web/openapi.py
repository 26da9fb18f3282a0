"""Serves the OpenAPI description of the HTTP API (server/openapi.yaml) as JSON at /api/openapi.json.

The description is written by hand in YAML, next to the code, so it reads as documentation; tests keep it honest
(every route is described, every described path exists, real answers validate against it) and schemathesis
fuzzes the live server from it. It needs no token (server/security.py lets this one /api path through), so
anyone can check the server's promises.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from flask import Flask, current_app, jsonify

SPEC_PATH = Path(__file__).resolve().parent / "openapi.yaml"
EXT_KEY = "replydesk_openapi"


def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    """The description as a plain dict (YAML's safe loader: the file is data, never code).

    libyaml's safe loader when PyYAML has it: the pure-Python one took half a second of every server start."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as fh:
        spec = yaml.load(fh, Loader=loader)  # noqa: S506 - a safe loader, C or Python
    if not isinstance(spec, dict) or "paths" not in spec:
        raise ValueError(f"{path.name} is not an OpenAPI document")
    return spec


def spec_for(app: Flask) -> dict[str, Any]:
    """The description with this server's version, read once per app."""
    cached = app.extensions.get(EXT_KEY)
    if cached is None:
        cached = copy.deepcopy(load_spec())
        cached["info"]["version"] = str(app.config.get("REPLYDESK_VERSION", cached["info"].get("version", "0")))
        app.extensions[EXT_KEY] = cached
    return cached


def init_app(app: Flask) -> None:
    spec_for(app)  # a broken description fails at start-up, not on the first request

    @app.get("/api/openapi.json")
    def openapi_json() -> Any:
        return jsonify(spec_for(current_app._get_current_object()))  # type: ignore[attr-defined]
