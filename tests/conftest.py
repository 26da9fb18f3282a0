"""Shared fixtures for every tier: apps and real servers on loopback with their own data folders, the fake model and
the sample posts. The helpers behind them live in tests/support; fixtures stay here."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Choose keyring's backend before anything imports keyring: a bare CI machine has none; the product falls back.
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
for var in ("OPENAI_API_KEY", "REPLYDESK_LLM_BASE_URL", "REPLYDESK_LLM_MODEL"):
    os.environ.pop(var, None)

from server.app import create_app  # noqa: E402
from tests.support.live import LiveServer, make_config  # noqa: E402
from tests.support.paths import DATA, TESTS  # noqa: E402

TIERS = ("unit", "api", "browser", "system")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test carries its tier's marker (the folder it lives in), so `-m "unit or api"` selects like the paths."""
    for item in items:
        parts = Path(str(item.path)).relative_to(TESTS).parts
        if parts and parts[0] in TIERS:
            item.add_marker(parts[0])


@pytest.fixture(scope="session", autouse=True)
def triage_model() -> None:
    """Every tier analyses with the triage model registered, as the server does (create_app registers it), so a
    unit test sees the same analysis whether or not an app was created earlier in the session."""
    from server import triage
    from server.core.analysis import triage as core_triage

    core_triage.register(triage.model())


@pytest.fixture(scope="session")
def sample_posts() -> list[dict[str, Any]]:
    return json.loads((DATA / "sample_posts.json").read_text())


@pytest.fixture(scope="module")
def fake():
    """A real chat-completions server on loopback (tests/support/fake_llm.py), one per test module; tests set its
    mode."""
    from tests.support.fake_llm import FakeLLM

    with FakeLLM(slow_seconds=30, trickle_interval=0.1) as server:
        yield server


@pytest.fixture
def app(tmp_path: Path):
    return create_app(make_config(tmp_path / "data"))


@pytest.fixture
def client(app):
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {app.config['REPLYDESK_TOKEN']}"
    return c


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    srv = LiveServer(create_app(make_config(tmp_path / "data"))).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """One real PostgreSQL for the session's team-mode tests (see tests/support/postgres.py)."""
    from tests.support.postgres import PgCluster

    cluster = PgCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture()
def pg_url(pg_cluster: Any) -> str:
    """A fresh database of the session's cluster, for one test."""
    return pg_cluster.create_database()
