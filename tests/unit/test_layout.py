"""The architecture's rules, checked on the source tree: server/core is pure, the server's modules import without
cycles, functions and files stay small, and the tests keep to their tiers with every shared helper in tests/support.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import REPO, TESTS

SERVER = REPO / "server"
CORE = SERVER / "core"
TIERS = ("unit", "api", "browser", "system")

# What the pure core must never load, directly or through anything it imports: the web stack, storage, secrets,
# HTTP clients and the model's SDK, and socket servers.
CORE_FORBIDDEN = ("flask", "werkzeug", "flask_sock", "simple_websocket", "sqlite3", "_sqlite3", "keyring",
                  "requests", "urllib3", "openai", "http.client", "http.server", "socketserver",
                  "wsgiref.simple_server")
SLA_FORBIDDEN = ("flask", "jsonschema", "keyring")
MAX_FUNCTION_LINES = 80
MAX_FILE_LINES = 500

# Loads each named module in turn and reports which forbidden modules each one brought in first.
PROBE = """
import importlib, json, sys
forbidden, names = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def loaded():
    return {f for f in forbidden if any(m == f or m.startswith(f + ".") for m in sys.modules)}
found = {}
for name in names:
    before = loaded()
    importlib.import_module(name)
    new = sorted(loaded() - before)
    if new:
        found[name] = new
print(json.dumps(found))
"""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def probe(forbidden: tuple[str, ...], names: list[str]) -> dict[str, list[str]]:
    """Import `names` in a fresh interpreter; {module: forbidden modules it loaded first}."""
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(forbidden), json.dumps(names)], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# ---- (a) the core is pure ----------------------------------------------------------------------------------------
def test_core_loads_no_web_storage_secrets_or_network_modules() -> None:
    names = [module_name(p) for p in python_files(CORE)]
    assert "server.core.sla" in names, names
    found = probe(CORE_FORBIDDEN, names)
    assert not found, f"server/core must stay pure; these modules load forbidden ones: {found}"


def test_the_probe_sees_what_an_import_loads() -> None:
    assert probe(("email.message", "flask"), ["email.message"]) == {"email.message": ["email.message"]}


def test_sla_alone_loads_no_flask_jsonschema_or_keyring() -> None:
    found = probe(SLA_FORBIDDEN, ["server.core.sla"])
    assert not found, f"import server.core.sla loads {found['server.core.sla']}"


# ---- (b) no import cycles ----------------------------------------------------------------------------------------
def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_time_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run when the module is imported: the top level, and inside module-level if/try/with/class
    blocks, but not in functions and not under `if TYPE_CHECKING:`."""
    for node in body:
        yield node
        if isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from import_time_statements(node.body)
            yield from import_time_statements(node.orelse)
        elif isinstance(node, ast.Try | ast.TryStar):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from import_time_statements(block)
        elif isinstance(node, ast.With | ast.ClassDef):
            yield from import_time_statements(node.body)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The `server` modules `path` imports at import time."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in import_time_statements(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from package import module`
    return {m for m in found if m in known and m != name}


def import_graph() -> dict[str, set[str]]:
    files = python_files(SERVER)
    known = {module_name(p) for p in files}
    return {module_name(p): imported_modules(p, known) for p in files}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_find_cycle_reports_a_cycle_and_accepts_a_tree() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_server_modules_import_without_cycles() -> None:
    graph = import_graph()
    assert "server.app" in graph and graph["server.app"], "the import graph came out empty"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle among server modules: " + " -> ".join(cycle or [])


# ---- (c) small functions, small files ----------------------------------------------------------------------------
def test_no_server_function_over_80_lines_and_no_file_over_500() -> None:
    long_functions, long_files = [], []
    for path in python_files(SERVER):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = path.relative_to(REPO)
        last = max((node.end_lineno or 0 for node in tree.body), default=0)
        if last > MAX_FILE_LINES:
            long_files.append(f"{rel} ({last} lines)")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long_functions.append(f"{rel}:{node.lineno} {node.name} ({lines} lines)")
    assert not long_files and not long_functions, (
        f"files over {MAX_FILE_LINES} lines: {long_files}; functions over {MAX_FUNCTION_LINES} lines: "
        f"{long_functions}")


# ---- (d) tests keep to their tiers and share through tests/support only ---------------------------------------
def all_test_files() -> list[Path]:
    return [p for p in python_files(TESTS) if "data" not in p.relative_to(TESTS).parts]


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports anywhere (functions included), with relative imports resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def is_test_module(module: str) -> bool:
    last = module.rpartition(".")[2]
    return module.split(".")[0] == "tests" and (last.startswith("test_") or last == "conftest")


def test_test_modules_are_told_from_helpers() -> None:
    assert is_test_module("tests.api.test_admin") and is_test_module("tests.conftest")
    assert not is_test_module("tests.support.admin") and not is_test_module("server.test_mode")


def test_no_test_module_imports_another_and_bench_imports_none() -> None:
    offenders = []
    for path in all_test_files() + python_files(REPO / "bench"):
        bad = sorted(m for m in imports_of(path) if is_test_module(m))
        if bad:
            offenders.append(f"{path.relative_to(REPO)} imports {bad}")
    assert not offenders, "shared code belongs in tests/support: " + "; ".join(offenders)


def test_every_test_module_lives_in_a_tier_folder() -> None:
    loose = [str(p.relative_to(REPO)) for p in all_test_files()
             if p.name.startswith("test_") and p.relative_to(TESTS).parts[0] not in TIERS]
    assert not loose, f"test modules outside tests/{{{','.join(TIERS)}}}: {loose}"


# What each tier may not use: unit tests run no server of any kind; API tests drive no browser and start no process.
SERVER_FIXTURES = {"app", "client", "live_server", "fake"}
TIER_FORBIDDEN = {
    "unit": ("flask", "werkzeug", "playwright", "server.app", "tests.support.live", "tests.support.servers",
             "tests.support.fake_llm", "tests.support.browser", "tests.support.desktop", "tests.support.load"),
    "api": ("playwright", "tests.support.browser", "tests.support.desktop", "tests.support.servers",
            "tests.support.load"),
}


@pytest.mark.parametrize("tier", sorted(TIER_FORBIDDEN))
def test_tiers_use_only_what_they_are_for(tier: str) -> None:
    offenders = []
    for path in python_files(TESTS / tier):
        rel = path.relative_to(REPO)
        used = sorted(m for m in imports_of(path)
                      if any(m == f or m.startswith(f + ".") for f in TIER_FORBIDDEN[tier]))
        if used:
            offenders.append(f"{rel} imports {used}")
        if tier == "unit":
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                    wanted = SERVER_FIXTURES & {a.arg for a in node.args.args}
                    if wanted:
                        offenders.append(f"{rel}:{node.lineno} {node.name} uses {sorted(wanted)}")
    assert not offenders, f"tests/{tier} breaks its tier: " + "; ".join(offenders)
