"""The triage model behind `server.core.analysis`: loading, the agents' corrections, training and evaluation.

`init_app(app, svc)` (one line in create_app) loads the model once per process, registers it with core analysis,
keeps this app's correction store and adds POST /api/triage/correction. Core never opens a file: it receives the
loaded model through `server.core.analysis.triage.register` and calls `read()` on it.

Files: model.py (runtime), features.py (shared with training), corrections.py (the store), routes.py (the API),
train.py / evaluate.py (offline), triage.npz (the artifact), data/ + SOURCES.md (what it learned from).
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, has_app_context

from server.core.analysis import triage as core_triage
from server.triage.corrections import CorrectionStore
from server.triage.corrections_db import DbCorrectionStore
from server.triage.model import TriageModel

STORE_KEY = "replydesk.triage_corrections"
_model: list[TriageModel] = []
_lock = threading.Lock()


def model() -> TriageModel:
    """The process's one model (a few hundred ms to load the first time, free afterwards)."""
    with _lock:
        if not _model:
            _model.append(TriageModel(examples_of=_corrections_of))
        return _model[0]


def store_of(app: Flask | None = None) -> CorrectionStore | DbCorrectionStore:
    target = app if app is not None else current_app
    return target.extensions[STORE_KEY]


def _corrections_of(pack: str) -> Mapping[str, tuple[str, ...]]:
    """The current app's corrections for `pack` (none outside a request: a bench or a script)."""
    if not has_app_context():
        return {}
    store = current_app.extensions.get(STORE_KEY)
    return store.examples(pack) if store is not None else {}


def init_app(app: Flask, svc: Any) -> None:
    from server.triage import routes
    # A team's corrections live in the team database (every process learns from every agent's correction).
    team_db = svc.queue.store.db if svc.config.team and svc.queue is not None else None
    app.extensions[STORE_KEY] = DbCorrectionStore(team_db) if team_db is not None \
        else CorrectionStore(svc.config.data_dir)
    core_triage.register(model())
    routes.init_app(app)
