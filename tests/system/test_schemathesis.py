"""A schemathesis run against the live server process, with the token, from the served /api/openapi.json.

Bounded: a fixed number of examples per operation, a per-request timeout and an overall time budget, so `make test`
stays quick. It must find no 500s, no answer outside the description (status, content type, headers, schema), no
schema-breaking input accepted (every field of the wrong type gets a 4xx), no auth ignored, and no hang.

positive_data_acceptance is left out on purpose: some rules are not expressible in JSON Schema (a time zone must
exist, `since` before `until`, a snooze `until` in the next 7 days, an item id that exists), so schema-valid input
may rightly get a 4xx.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ARTIFACTS
from tests.support.servers import ServerProcess

MAX_EXAMPLES = 30
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
          "ignored_auth", "unsupported_method", "missing_required_header", "use_after_free",
          "ensure_resource_availability"]
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "409", "413", "415", "422"]
"""


@pytest.mark.timeout(240)
def test_schemathesis_finds_nothing(tmp_path: Path):
    srv = ServerProcess(tmp_path / "data").start()
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    cmd = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
           f"{srv.url}/api/openapi.json", "-H", f"Authorization: Bearer {srv.token}",
           "--checks", ",".join(CHECKS), "--phases", "examples,coverage,fuzzing",
           "--max-examples", str(MAX_EXAMPLES), "--request-timeout", "20",
           "--exclude-path", "/ws",  # a WebSocket: tests/api/test_openapi.py and test_hostile.py cover it
           "--seed", "20261124", "--no-color", "--generation-database", "none", "--workers", "1"]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=200, cwd=tmp_path)
    finally:
        srv.stop()
    out = run.stdout + run.stderr
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "schemathesis.txt").write_text(out.replace(srv.token, "<token>"))
    summary = re.search(r"(\d+) generated", out)
    print("\nschemathesis:", out.strip().splitlines()[-1] if out.strip() else "(no output)",
          f"- {summary.group(1) if summary else '?'} test cases")
    assert run.returncode == 0, out[-6000:]
    assert "No issues found" in out or " passed" in out, out[-3000:]
    tested = re.search(r"Tested: (\d+)", out)
    assert tested and int(tested.group(1)) >= 10, out[-3000:]
    log = srv.log_text()
    assert "unexpected error" not in log and "Traceback" not in log, log[-3000:]
    assert summary and int(summary.group(1)) > 100
