"""Runs every benchmark of the project and writes one table to bench/RESULTS.md.

Each `bench/bench_*.py` defines `run() -> list[dict]`, one dict per measured figure:
{"name": str, "median_ms": float, "p99_ms": float, "target": str, "n": int, "note": str (optional),
"unit": str (optional, default "ms": for figures that are not times, e.g. "%" or "MB")}.
"""
from __future__ import annotations

import importlib.util
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {cpu}, "
            f"Python {platform.python_version()}")


def main(only: list[str]) -> int:
    rows: list[dict] = []
    failed: list[str] = []
    for path in sorted(HERE.glob("bench_*.py")):
        if only and not any(o in path.stem for o in only):
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        print(f"== {path.stem}", flush=True)
        started = time.perf_counter()
        try:
            spec.loader.exec_module(mod)
            got = mod.run()
        except Exception as exc:  # one broken benchmark must not hide the others
            failed.append(f"{path.stem}: {exc!r}")
            print(f"   failed: {exc!r}", flush=True)
            continue
        for row in got:
            row.setdefault("bench", path.stem.removeprefix("bench_"))
            unit = row.get("unit", "ms")
            print(f"   {row['name']}: median {row['median_ms']:.3f} {unit}, p99 {row['p99_ms']:.3f} {unit} "
                  f"(target {row.get('target', '-')})", flush=True)
        rows.extend(got)
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    out = ["# Benchmark results", "", f"Machine: {machine()}  ", f"Run: {stamp} with `make bench`", "",
           "| benchmark | figure | n | median | p99 | target | note |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        unit = r.get("unit", "ms")
        out.append(f"| {r['bench']} | {r['name']} | {r.get('n', '')} | {r['median_ms']:.3f} {unit} "
                   f"| {r['p99_ms']:.3f} {unit} | {r.get('target', '')} | {r.get('note', '')} |")
    if failed:
        out += ["", "Failed benchmarks:", *[f"- {f}" for f in failed]]
    if not only:
        (HERE / "RESULTS.md").write_text("\n".join(out) + "\n")
    print("\n".join(out))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
