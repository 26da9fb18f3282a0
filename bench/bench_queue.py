"""The response-time queue with 10,000 tracked posts: GET /api/queue over HTTP and event push latency on /ws.

Everything is real: a threaded Werkzeug server on a loopback port, the SQLite store in a fresh temporary data
folder, `requests` for HTTP and `simple_websocket.Client` for the WebSocket. The 10,000 posts are all open
(the worst case for the queue: every one is a candidate for the page and the scheduler's heap); they are
imported in one transaction, since tracking speed is not what is measured here.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

N_POSTS = 10_000
N_GET = 300
N_PUSH = 200
N_SCHEDULED = 100


def _ms(values: list[float]) -> tuple[float, float]:
    xs = sorted(values)
    p99 = xs[min(len(xs) - 1, round(0.99 * (len(xs) - 1)))]
    return statistics.median(xs) * 1000, p99 * 1000


def _row(svc: Any, pack: Any, n: int, now: float, created: float) -> dict[str, Any]:
    post = {"platform": "x" if n % 3 else "facebook", "post_id": f"b{n}", "url": f"https://x.com/u{n}/status/{n}",
            "author": {"handle": f"user{n % 2500}", "name": f"Customer {n}"},
            "text": f"Hi, my order {n} has not arrived and I need it for Friday. Can you help?",
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))}
    intent = "legal_safety" if n % 100 == 0 else ("complaint", "question", "request", "outage")[n % 4]
    severity = ("low", "normal", "normal", "high", "critical")[n % 5]  # every priority rank is walked
    return svc.build_row(post, pack, analysis={"intent": intent, "severity": severity, "urgent": n % 7 == 0},
                         now=now)


def _memory_rows(svc: Any, session: Any, url: str, headers: dict[str, str], ids: list[int]) -> list[dict[str, Any]]:
    """What the reply engine asks of the queue on every suggest: sent replies and the customer's history."""
    for k, item_id in enumerate(ids):
        r = session.post(f"{url}/api/queue/{item_id}/replied", json={"reply": f"Sorry about order {k}, sent again."},
                         headers=headers, timeout=30)
        assert r.status_code == 200, r.text
    out = []
    for name, call in (("QueueService.sent_replies(limit=1000), 200 sent replies", lambda: svc.sent_replies()),
                       ("QueueService.history(platform, handle), 10,000 posts", lambda: svc.history("x", "user7"))):
        times = []
        for _ in range(100):
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
        med, p99 = _ms(times)
        out.append({"name": name, "median_ms": med, "p99_ms": p99, "target": "informational", "n": 100,
                    "note": "in process, the real SQLite file"})
    return out


def run() -> list[dict[str, Any]]:
    import requests
    from simple_websocket import Client, ConnectionClosed
    from werkzeug.serving import make_server

    from server.app import create_app
    from server.config import REPO_ROOT, Config

    tmp = tempfile.TemporaryDirectory(prefix="replydesk-bench-")
    app = create_app(Config(data_dir=Path(tmp.name), packs_dir=REPO_ROOT / "prompts", scheduler_interval=1.0))
    svc = app.extensions["replydesk"].queue
    pack = app.extensions["replydesk"].packs.get("default")
    now = time.time()
    # Open posts made over the last 100 minutes: a mix of waiting, due soon and overdue.
    rows = [_row(svc, pack, n, now, now - (n % 6000)) for n in range(N_POSTS)]
    svc.store.insert_many(rows)
    svc.scheduler.load()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    headers = {"Authorization": f"Bearer {app.config['REPLYDESK_TOKEN']}"}
    results: list[dict[str, Any]] = []
    ws = None
    try:
        session = requests.Session()
        first = session.get(f"{url}/api/queue", headers=headers, timeout=30).json()
        assert first["total"] == N_POSTS and len(first["items"]) == 200, first.get("total")
        for _ in range(20):  # warm-up
            session.get(f"{url}/api/queue", headers=headers, timeout=30)
        times = []
        size = 0
        for _ in range(N_GET):
            t0 = time.perf_counter()
            r = session.get(f"{url}/api/queue", headers=headers, timeout=30)
            r.content  # noqa: B018 - the whole body is part of the measurement
            times.append(time.perf_counter() - t0)
            size = len(r.content)
        med, p99 = _ms(times)
        results.append({"name": "GET /api/queue, 10,000 open posts (default page: 200 most urgent)",
                        "median_ms": med, "p99_ms": p99, "target": "median < 20 ms", "n": N_GET,
                        "note": f"HTTP on loopback incl. total and per-state counts; body {size // 1024} KB"})
        times = []
        for _ in range(50):
            t0 = time.perf_counter()
            r = session.get(f"{url}/api/queue?limit=1000", headers=headers, timeout=30)
            r.content  # noqa: B018
            times.append(time.perf_counter() - t0)
        med, p99 = _ms(times)
        results.append({"name": "GET /api/queue?limit=1000 (largest page)", "median_ms": med, "p99_ms": p99,
                        "target": "informational", "n": 50, "note": f"body {len(r.content) // 1024} KB"})

        times = []
        for _ in range(50):
            t0 = time.perf_counter()
            r = session.get(f"{url}/api/queue?escalated=true", headers=headers, timeout=30)
            r.content  # noqa: B018
            times.append(time.perf_counter() - t0)
        med, p99 = _ms(times)
        results.append({"name": "GET /api/queue?escalated=true (the console's escalations, 100 of 10,000)",
                        "median_ms": med, "p99_ms": p99, "target": "informational", "n": 50,
                        "note": f"{r.json()['total']} escalated items"})

        # Event push: a state change through REST until its 'queue' event arrives on a connected WebSocket.
        ws = Client.connect(url.replace("http", "ws") + "/ws")
        ws.send(json.dumps({"type": "auth", "token": app.config["REPLYDESK_TOKEN"]}))
        arrivals: dict[tuple[str, int], float] = {}
        got = threading.Condition()
        snapshot_size = [0]

        def reader() -> None:
            while True:
                try:
                    raw = ws.receive(timeout=5)
                except ConnectionClosed:
                    return
                if raw is None:
                    continue
                at_perf, at_wall = time.perf_counter(), time.time()
                event = json.loads(raw)
                with got:
                    if event.get("type") == "queue" and "items" in event:
                        snapshot_size[0] = len(raw)
                        arrivals[("snapshot", 0)] = at_perf
                    elif event.get("type") == "queue" and event.get("change") == "upsert":
                        arrivals.setdefault(("upsert", event["item"]["id"]), at_perf)
                    elif event.get("type") == "due_soon":
                        arrivals.setdefault(("due_soon", event["item"]["id"]), at_wall)
                    got.notify_all()

        def wait_for(key: tuple[str, int], timeout: float = 30) -> float:
            with got:
                if not got.wait_for(lambda: key in arrivals, timeout):
                    raise TimeoutError(f"no event {key}")
                return arrivals[key]

        listener = threading.Thread(target=reader, daemon=True)
        listener.start()
        wait_for(("snapshot", 0))
        ids = [i["id"] for i in first["items"]]
        push = []
        for k in range(N_PUSH):  # each of the 200 most urgent posts changes once: snoozed or replied
            item_id = ids[k]
            action, body = ("snooze", {"minutes": 5}) if k % 2 == 0 else ("replied", {})
            t0 = time.perf_counter()
            r = session.post(f"{url}/api/queue/{item_id}/{action}", json=body, headers=headers, timeout=30)
            assert r.status_code == 200, r.text
            push.append(wait_for(("upsert", item_id)) - t0)
        med, p99 = _ms(push)
        results.append({"name": "event push: REST state change -> 'queue' event on /ws", "median_ms": med,
                        "p99_ms": p99, "target": "median < 50 ms", "n": N_PUSH,
                        "note": "from sending POST /api/queue/<id>/replied|snooze (fsynced commit) to the "
                                "upsert arriving on a live WebSocket; 10,000 open posts"})

        # Scheduler push: posts crossing into due_soon, from the crossing instant to the event's arrival.
        base = time.time() + 1.0
        extra = []
        for k in range(N_SCHEDULED):
            row = svc.build_row({"platform": "x", "post_id": f"s{k}", "author": {"handle": f"s{k}"},
                                 "text": "When will my refund arrive?"}, pack,
                                analysis={"intent": "question", "severity": "normal"}, now=time.time())
            target = row["target_minutes"] * 60
            row["started_at"] = base + k * 0.02 - target * (1 - row["due_soon_fraction"])
            row["due_soon_at"] = base + k * 0.02
            row["deadline"] = row["started_at"] + target
            extra.append(row)
        svc.store.insert_many(extra)
        for k in range(N_SCHEDULED):
            stored = svc.store.get_by_post("x", f"s{k}")
            svc.scheduler.schedule_row(stored)
        lags = []
        for k in range(N_SCHEDULED):
            stored = svc.store.get_by_post("x", f"s{k}")
            lags.append(wait_for(("due_soon", stored["id"])) - stored["due_soon_at"])
        med, p99 = _ms(lags)
        results.append({"name": "event push: due_soon crossing -> event on /ws (server scheduler)", "median_ms": med,
                        "p99_ms": p99, "target": "median < 50 ms", "n": N_SCHEDULED,
                        "note": "wall clock from the due_soon instant to arrival; heap of 10,100 clocks"})
        page = session.get(f"{url}/api/queue?limit=1000", headers=headers, timeout=30).json()["items"]
        results += _memory_rows(svc, session, url, headers, [i["id"] for i in page[-200:]])
    finally:
        if ws is not None:
            try:
                ws.close()
            except ConnectionClosed:
                pass
        server.shutdown()
        app.extensions["replydesk"].close()
        tmp.cleanup()
    return results


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']}: median {row['median_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms ({row['target']})")
