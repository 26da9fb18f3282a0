"""Where the tests' files live."""
from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
DATA = TESTS / "data"
FIXTURES = DATA / "fixtures"
ARTIFACTS = TESTS / "artifacts"
EXTENSION_DIR = REPO / "extension"
