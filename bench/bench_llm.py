"""The server's own overhead on the LLM path, with the model's time subtracted.

A loopback chat-completions server (tests/support/fake_llm.py) with a fixed time to first token records when it got each
request, sent its first token and finished. Through a real /ws connection we time the same suggest from the
client: overhead to first token = client's time to first delta - model's time to first token; overhead in total =
client's time to done - model's total time. Both include everything the server adds: parsing, analysis, the
playbook reply (the safety net is always computed), prompt building, the HTTP call to the model, streaming
relay, the output guard with the tone check, the final tone report, after-suggest hooks and the WebSocket hop.
The last rows time the LLM layer alone (engine.generate minus the model's time) for three shapes of a good model
reply, each of which must be kept in one call.
"""
from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

N = 200
WARMUP = 15
MODEL_TTFT = 0.020      # seconds the fake model waits before its first token
CHUNK_DELAY = 0.001     # seconds between streamed tokens
TARGET = "median < 15 ms"


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def _row(name: str, values_s: list[float], target: str, note: str) -> dict:
    ms = [v * 1000 for v in values_s]
    return {"name": name, "median_ms": statistics.median(ms), "p99_ms": _p99(ms), "target": target, "n": len(ms),
            "note": note}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, wait: float = 30.0) -> None:
    import requests

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


N_ENGINE = 100
SHAPES = (("ok", "signed as asked"), ("signed_ai", "signed ^AI"), ("preamble", "behind a preamble, unsigned"))


def _engine_rows(fake_url: str, fake_root: str, http: object, post: dict, tmp: Path, seen: int) -> list[dict]:
    """The LLM layer alone (prompt, call, relay, tidy, guard with the tone check), streamed, per reply shape:
    engine.generate's wall time minus the model's own time, and how many calls each suggestion took."""
    from server.config import Config
    from server.core import analysis
    from server.llm import OpenAIEngine
    from server.packs.store import PackStore

    pack = PackStore(ROOT / "prompts", good_dir=tmp / "good").get("default")
    engine = OpenAIEngine(Config(data_dir=tmp, llm_base_url=fake_url, llm_model="fake-model", llm_timeout=10), None)
    facts = analysis.analyze(post, pack)
    rows = []
    try:
        for mode, label in SHAPES:
            http.post(f"{fake_root}/_mode", json={"mode": mode}, timeout=10)  # type: ignore[attr-defined]
            walls, calls, kept = [], [], 0
            for _ in range(WARMUP + N_ENGINE):
                started = time.perf_counter()
                out = engine.generate(post, facts, pack, {"signature": "^KM"}, playbook_reply="PLAYBOOK ^KM",
                                      on_delta=lambda piece: None)
                walls.append(time.perf_counter() - started)
                calls.append(out["usage"]["calls"])
                kept += out["engine"] == "openai"
            timings = http.get(f"{fake_root}/_timings", timeout=10).json()["timings"][seen:]  # type: ignore
            seen += len(timings)
            note = (f"{kept}/{len(walls)} model replies kept, {statistics.mean(calls):.2f} model calls a suggestion")
            if set(calls) != {1}:  # calls and timings no longer pair up one to one
                rows.append({"name": f"llm engine overhead, reply {label}", "median_ms": float("nan"),
                             "p99_ms": float("nan"), "target": "1 call", "n": 0, "note": note})
                continue
            over = [w - (t["done"] - t["received"]) for w, t in zip(walls, timings, strict=True)][WARMUP:]
            rows.append(_row(f"llm engine overhead, reply {label}", over, "1 call", note))
    finally:
        engine.close()
    return rows


def run() -> list[dict]:
    """Three processes, as in production: the fake model, the Reply Desk server, and this client."""
    import requests
    from simple_websocket import Client

    post = json.loads((ROOT / "tests" / "data" / "sample_posts.json").read_text())[0]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    for var in ("OPENAI_API_KEY", "REPLYDESK_PACKS_DIR", "REPLYDESK_DEFAULT_PACK"):
        env.pop(var, None)
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            fake = subprocess.Popen([sys.executable, "-m", "tests.support.fake_llm", "--ttft", str(MODEL_TTFT),
                                     "--chunk-delay", str(CHUNK_DELAY)], cwd=ROOT, env=env, text=True,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            procs.append(fake)
            fake_url = fake.stdout.readline().strip()  # type: ignore[union-attr]
            fake_root = fake_url.rsplit("/v1", 1)[0]
            port = _free_port()
            data = str(Path(tmp) / "data")
            server_env = {**env, "REPLYDESK_LLM_BASE_URL": fake_url, "REPLYDESK_LLM_MODEL": "fake-model",
                          "REPLYDESK_LLM_TIMEOUT": "10"}
            server = subprocess.Popen([sys.executable, "-m", "server", "run", "--port", str(port), "--data-dir", data],
                                      cwd=ROOT, env=server_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(server)
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(url, server)
            token = subprocess.run([sys.executable, "-m", "server", "token", "--data-dir", data], cwd=ROOT, env=env,
                                   capture_output=True, text=True, check=True).stdout.strip()
            http = requests.Session()

            def model_timings() -> list[dict]:
                return http.get(f"{fake_root}/_timings", timeout=10).json()["timings"]

            ws = Client.connect(f"ws://127.0.0.1:{port}/ws")
            ws.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as browsers do
            fallbacks = 0
            try:
                ws.send(json.dumps({"type": "auth", "token": token}))
                client_ws: list[tuple[float, float, float] | None] = []
                for i in range(WARMUP + N):
                    req_id = f"b{i}"
                    started = time.perf_counter()
                    ws.send(json.dumps({"type": "suggest", "id": req_id, "post": post}))
                    first = None
                    while True:
                        raw = ws.receive(timeout=30)
                        if raw is None:
                            raise RuntimeError("no answer within 30 s")
                        event = json.loads(raw)
                        if event.get("id") != req_id:
                            continue
                        if event["type"] == "delta" and first is None:
                            first = time.perf_counter()
                        if event["type"] in ("done", "error"):
                            finished = time.perf_counter()
                            break
                    ok = event["type"] == "done" and event.get("engine") == "openai"
                    fallbacks += not ok
                    client_ws.append((started, first or finished, finished) if ok else None)
            finally:
                ws.close()
            client_http: list[tuple[float, float] | None] = []
            headers = {"Authorization": f"Bearer {token}"}
            for _ in range(WARMUP + N):
                started = time.perf_counter()
                resp = http.post(f"{url}/api/suggest", json={"post": post}, headers=headers, timeout=30)
                finished = time.perf_counter()
                ok = resp.status_code == 200 and resp.json().get("engine") == "openai"
                fallbacks += not ok
                client_http.append((started, finished) if ok else None)
            timings = model_timings()
            engine_rows = _engine_rows(fake_url, fake_root, http, post, Path(tmp), len(timings))
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    # One model request per suggest (no repairs on this path), in order: pair them up.
    ws_t, http_t = timings[:WARMUP + N], timings[WARMUP + N:]
    first_over, total_over, model_ttft, http_over = [], [], [], []
    for i, (c, t) in enumerate(zip(client_ws, ws_t, strict=True)):
        if c is None or i < WARMUP:
            continue
        started, first, finished = c
        first_over.append((first - started) - (t["first_token"] - t["received"]))
        total_over.append((finished - started) - (t["done"] - t["received"]))
        model_ttft.append(t["first_token"] - t["received"])
    for i, (c, t) in enumerate(zip(client_http, http_t, strict=True)):
        if c is not None and i >= WARMUP:
            http_over.append((c[1] - c[0]) - (t["done"] - t["received"]))
    note = (f"fake model in its own process: TTFT {statistics.median(model_ttft) * 1000:.1f} ms, "
            f"{CHUNK_DELAY * 1000:g} ms/token; {fallbacks} fallbacks")
    return [
        _row("llm /ws overhead to first token", first_over, TARGET, note),
        _row("llm /ws overhead in total", total_over, TARGET, note),
        _row("llm POST /api/suggest overhead in total", http_over, "-", "non-streaming path, same model"),
        *engine_rows,
    ]


if __name__ == "__main__":
    for r in run():
        print(f"{r['name']}: median {r['median_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms (n={r['n']}; {r['note']})")
