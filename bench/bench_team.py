"""Team load: 50 simulated agents, each with a token of their own, working posts as a care agent does (track,
claim, suggest, tone twice, list the queue, mark replied), at a realistic pace and flat out, against

- one process on SQLite: `python -m server run`, exactly as one agent runs it (Werkzeug, the data folder's file);
- two gunicorn worker processes on PostgreSQL: `run --workers 2 --database-url ...` on a throw-away cluster;

and, informational, flat out only: gunicorn with one worker on SQLite and one worker on PostgreSQL, which split
the two-worker figure into "what gunicorn does" and "what the second worker adds".

Rows: calls per second (unit calls/s), p50 and p99 per call kind and overall, per configuration and pace; the
flat-out ratio of two PostgreSQL workers to one SQLite process. Each row's note gives the CPU split over its
window (server, database, this generator, and other work on the machine). Driver: tests/support/team_load.py
(also run, shorter, by tests/system/test_team_load.py). REPLYDESK_TEAM_BENCH_SECONDS sets each window's length.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
from server.config import Config  # noqa: E402 - after the path and the environment

SECONDS = float(os.environ.get("REPLYDESK_TEAM_BENCH_SECONDS", "20"))
INFO_SECONDS = max(3.0, SECONDS / 2)  # the informational runs: half as long
SEED_REPLIES = 1000  # sent replies on the desk before a run: the reply memory's steady state (see seed_sent_replies)
P99_TARGET_MS = 200.0
RATIO_TARGET = 1.8
THREADS = Config.threads  # gunicorn threads per worker: the server's default (--threads, server/config.py)

SQLITE_ONE = "SQLite, one process (Werkzeug)"
PG_TWO = "PostgreSQL, 2 gunicorn workers"
SQLITE_GUNICORN = "SQLite, gunicorn 1 worker"
PG_ONE = "PostgreSQL, gunicorn 1 worker"


def _postmaster_pid(cluster: Any) -> int:
    return int((cluster.data / "postmaster.pid").read_text().split()[0])


def _sqlite_gunicorn(data: Path) -> Any:
    """gunicorn with one worker on the data folder's SQLite file (the server allows --workers 1 without a team
    database): TeamProcess's command without --database-url."""
    from tests.support.team import TeamProcess

    class SqliteGunicorn(TeamProcess):
        def command(self) -> list[str]:
            cmd = super().command()
            i = cmd.index("--database-url")
            return cmd[:i] + cmd[i + 2:]

    return SqliteGunicorn(data, "", workers=1, threads=THREADS)


def _measure(srv: Any, tokens: dict[str, str], paces: list[Any], seconds: float, tag: str,
             db_pid: int | None) -> dict[str, dict]:
    from tests.support.team_load import drive

    groups = {"server": [srv.pid]} | ({"database": [db_pid]} if db_pid else {})
    return {p.name: drive(srv.url, tokens, seconds, p, f"{tag}-{p.name.replace(' ', '')}", cpu_groups=groups)
            for p in paces}


def measure_all() -> dict[str, dict[str, dict]]:
    """Every configuration and pace in turn: {configuration: {pace: report}}."""
    from tests.support.postgres import PgCluster
    from tests.support.servers import ServerProcess
    from tests.support.team import TeamProcess
    from tests.support.team_load import FLAT_OUT, REALISTIC, add_agents, seed_sent_replies

    def desk(data: Path, url: str | None) -> dict[str, str]:
        seed_sent_replies(data, url, SEED_REPLIES)
        return add_agents(data, url)

    out: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "sqlite-one"
        tokens = desk(data, None)
        srv = ServerProcess(data).start()
        try:
            out[SQLITE_ONE] = _measure(srv, tokens, [REALISTIC, FLAT_OUT], SECONDS, "s1", None)
        finally:
            srv.stop()
        data = root / "sqlite-gunicorn"
        tokens = desk(data, None)
        srv = _sqlite_gunicorn(data).start()
        try:
            out[SQLITE_GUNICORN] = _measure(srv, tokens, [FLAT_OUT], INFO_SECONDS, "sg", None)
        finally:
            srv.stop()
        cluster = PgCluster()
        cluster.start()
        try:
            for name, workers, paces, seconds in ((PG_TWO, 2, [REALISTIC, FLAT_OUT], SECONDS),
                                                  (PG_ONE, 1, [FLAT_OUT], INFO_SECONDS)):
                url = cluster.create_database()
                data = root / f"pg-{workers}"
                tokens = desk(data, url)
                srv = TeamProcess(data, url, workers=workers, threads=THREADS).start()
                try:
                    out[name] = _measure(srv, tokens, paces, seconds, f"p{workers}", _postmaster_pid(cluster))
                finally:
                    srv.stop()
        finally:
            cluster.destroy()
    return out


def _note(rep: dict) -> str:
    from tests.support.team_load import describe_cpu

    errors = (f"{rep['error_count']} ERRORS, e.g. {rep['errors'][:2]}" if rep["error_count"] else "0 errors")
    return (f"{rep['agents']} agents, {rep['pace_described']}, {rep['seconds']:.0f} s after a "
            f"{rep['warmup_seconds']:.0f} s warm-up, desk seeded with {SEED_REPLIES} sent replies, "
            f"{rep['calls_per_second']} calls/s, {errors}, {rep['connections_opened']} TCP connections; "
            f"{describe_cpu(rep['cpu'])}")


def rows_for(config: str, rep: dict, informational: bool = False) -> list[dict]:
    from tests.support.load import percentile
    from tests.support.team_load import CALL_KINDS

    realistic = rep["pace"] == "realistic"
    target = f"p99 < {P99_TARGET_MS:.0f} ms" if realistic and not informational else "informational"
    prefix = f"{config}, {rep['pace']}"
    windows = [float(x) for x in rep["calls_per_second_windows"]]
    note = _note(rep)
    rows = [{"name": f"{prefix}: calls per second", "median_ms": rep["calls_per_second"],
             "p99_ms": percentile(windows, 1), "unit": "calls/s", "n": rep["total_calls"], "target": "informational",
             "note": note + "; p99 column = the slowest 1% of 1-second windows"},
            {"name": f"{prefix}: every call", "median_ms": rep["overall"]["median_ms"],
             "p99_ms": rep["overall"]["p99_ms"], "n": rep["overall"]["n"], "target": target, "note": note}]
    if not informational:
        rows += [{"name": f"{prefix}: {kind}", "median_ms": c["median_ms"], "p99_ms": c["p99_ms"], "n": c["n"],
                  "target": target, "note": f"{rep['agents']} agents, {rep['pace']}"}
                 for kind in CALL_KINDS if (c := rep["calls"][kind])["n"]]
    return rows


def ratio_row(name: str, top: dict, bottom: dict, target: str) -> dict:
    from tests.support.team_load import describe_cpu

    ratio = round(top["calls_per_second"] / bottom["calls_per_second"], 2) if bottom["calls_per_second"] else 0.0
    return {"name": name, "median_ms": ratio, "p99_ms": ratio, "unit": "x", "n": top["total_calls"],
            "target": target,
            "note": (f"{top['calls_per_second']} / {bottom['calls_per_second']} calls/s, same workflow and agents; "
                     f"numerator {describe_cpu(top['cpu'])}; denominator {describe_cpu(bottom['cpu'])}")}


def run() -> list[dict]:
    from tests.support.paths import ARTIFACTS

    got = measure_all()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "team_bench.json").write_text(json.dumps(got, indent=2))
    rows: list[dict] = []
    for config in (SQLITE_ONE, PG_TWO):
        for rep in got[config].values():
            rows += rows_for(config, rep)
    for config in (SQLITE_GUNICORN, PG_ONE):
        rows += rows_for(config, got[config]["flat out"], informational=True)
    flat = {c: got[c]["flat out"] for c in got}
    rows.append(ratio_row("flat out: two PG workers / one SQLite process, calls per second", flat[PG_TWO],
                          flat[SQLITE_ONE], f">= {RATIO_TARGET} x"))
    rows.append(ratio_row("flat out: two PG workers / one PG worker, calls per second", flat[PG_TWO], flat[PG_ONE],
                          "informational (2 x is the limit)"))
    rows.append(ratio_row("flat out: gunicorn 1 worker / Werkzeug, both SQLite, calls per second",
                          flat[SQLITE_GUNICORN], flat[SQLITE_ONE], "informational"))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
