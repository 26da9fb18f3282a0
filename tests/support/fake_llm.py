"""A real chat-completions server on loopback, for tests and the LLM benchmark.

It speaks the subset of the OpenAI protocol Reply Desk uses (POST /v1/chat/completions or /chat/completions,
streamed as server-sent events in chunked HTTP/1.1, or as one JSON body) and can be told to misbehave the ways a
real model server does: answer slowly, fail with 500 or 429, stream garbage, drop the connection mid-stream,
trickle tokens forever, answer with a reply that breaks the pack's rules, or send a good reply the way real
models do (signed ^AI, unsigned, behind a "Here's a reply:" preamble in quotes, without token counts, cut at
max_tokens). It records every request it got and its own timings (perf_counter, comparable within one process),
so the benchmark can subtract the model's time.

    with FakeLLM(reply="Hi Kate ...") as llm:
        cfg = make_config(tmp, llm_base_url=llm.url, llm_model="fake-model", llm_timeout=2)
        llm.mode = "429"
"""
from __future__ import annotations

import collections
import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("ok", "slow", "fail500", "429", "garbage", "bad_reply", "echo_prompt", "die_midstream", "trickle", "empty",
         "no_finish", "signed_ai", "unsigned", "preamble", "no_usage", "length")
DEFAULT_REPLY = ("Kate, I'm so sorry your gift is running late. I've asked our courier to speed it up and I'll "
                 "update you here by 5pm today. ^AC")
DEFAULT_BAD_REPLY = ("Calm down, as I said per our policy there is nothing we can do. Email me at agent@gmail.com "
                     "or see http://totally-not-phishing.example/login ^AC")


def reshape(reply: str, mode: str) -> str:
    """The reply as a real model often sends a good one: signed ^AI, unsigned, or behind a preamble in quotes."""
    body = re.sub(r"\s*(\^\w{1,4}|-[A-Z][\w ]{0,30})\s*$", "", reply)
    if mode == "signed_ai":
        return body + " ^AI"
    if mode == "unsigned":
        return body
    if mode == "preamble":
        return f'Here\'s a reply to the customer:\n\n"{body}"'
    return reply


def usage_for(body: dict[str, Any], reply: str) -> dict[str, int]:
    """Token counts as a server reports them: about four characters a prompt token, one streamed piece a token."""
    prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4
    completion = len(split_tokens(reply)) if reply else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def split_tokens(text: str) -> list[str]:
    """Word-sized pieces with their trailing spaces, roughly how a model streams."""
    return re.findall(r"\S+\s*|\s+", text) or [""]


class FakeLLM:
    """Configure the public attributes at any time; each request reads them when it arrives."""

    def __init__(self, *, mode: str = "ok", reply: str = DEFAULT_REPLY, ttft: float = 0.0,
                 chunk_delay: float = 0.0, slow_seconds: float = 30.0, trickle_interval: float = 0.2) -> None:
        self.mode = mode
        self.reply = reply
        self.bad_reply = DEFAULT_BAD_REPLY
        self.ttft = ttft                      # seconds before the first token (streamed) or the body
        self.chunk_delay = chunk_delay        # seconds between streamed tokens
        self.slow_seconds = slow_seconds      # how long "slow" waits before answering at all
        self.trickle_interval = trickle_interval
        # Per-call overrides, consumed in order: e.g. [{"mode": "bad_reply"}, {"mode": "ok"}] for a repair test.
        self.script: collections.deque[dict[str, Any]] = collections.deque()
        # Optional: body -> reply text, for a model that reacts to what it is asked (a "compromised" model).
        self.responder: Callable[[dict[str, Any]], str] | None = None
        self.requests: list[dict[str, Any]] = []
        self.timings: list[dict[str, float]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> FakeLLM:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="fake-llm")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The base URL to configure (as for vLLM, Ollama or LM Studio: ends in /v1)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.timings.clear()
            self.script.clear()
        self.mode, self.responder = "ok", None

    def _plan(self) -> dict[str, Any]:
        with self._lock:
            step = self.script.popleft() if self.script else {}
        return {"mode": step.get("mode", self.mode), "reply": step.get("reply"), "ttft": step.get("ttft", self.ttft)}

    def _record(self, entry: dict[str, Any], timing: dict[str, float]) -> None:
        with self._lock:
            self.requests.append(entry)
            self.timings.append(timing)

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; False when it is (so handler threads end with the test)."""
        if seconds <= 0:
            return True
        return not self._stopping.wait(seconds)


def _chunk(content: str | None, finish: str | None = None, role: bool = False) -> bytes:
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = "assistant"
    if content is not None:
        delta["content"] = content
    body = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": "fake-model", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small SSE writes must leave at once, as on a real model server
    owner: FakeLLM

    def log_message(self, *args: Any) -> None:  # quiet test output
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError, TimeoutError):  # a client that hung up mid-keep-alive
            pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        """GET /_timings: the recorded timings, for a benchmark that runs this server in another process."""
        if self.path != "/_timings":
            self._json(404, {"error": {"message": "not found"}})
            return
        with self.owner._lock:
            self._json(200, {"timings": list(self.owner.timings)})

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        received = time.perf_counter()
        fake = self.owner
        if self.path == "/_mode":  # a benchmark in another process switches how the model answers
            length = int(self.headers.get("Content-Length") or 0)
            mode = json.loads(self.rfile.read(length) or b"{}").get("mode")
            if mode not in MODES:
                self._json(400, {"error": {"message": f"mode must be one of {', '.join(MODES)}"}})
                return
            fake.mode = mode
            self._json(200, {"mode": mode})
            return
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._json(400, {"error": {"message": "bad json", "type": "invalid_request_error"}})
            return
        plan = fake._plan()
        timing = {"received": received, "first_token": 0.0, "done": 0.0}
        fake._record({"path": self.path, "body": body, "authorization": self.headers.get("Authorization"),
                      "mode": plan["mode"]}, timing)
        mode = plan["mode"]
        reply = plan["reply"]
        if reply is None:
            if mode == "bad_reply":
                reply = fake.bad_reply
            elif mode == "echo_prompt":
                reply = next((m.get("content", "") for m in body.get("messages", []) if m.get("role") == "system"),
                             "")
            elif fake.responder is not None:
                reply = fake.responder(body)
            else:
                reply = "" if mode == "empty" else fake.reply
        reply = reshape(reply, mode)
        if mode == "slow":
            fake.sleep(fake.slow_seconds)
            mode = "ok"
        if mode == "fail500":
            self._json(500, {"error": {"message": "model server exploded", "type": "server_error"}})
            return
        if mode == "429":
            self._json(429, {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}},
                       {"Retry-After": "20"})
            return
        try:
            if body.get("stream"):
                self._stream(fake, mode, reply, plan["ttft"], timing, body)
            else:
                self._whole(fake, mode, reply, plan["ttft"], timing, body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: that is its right
            self.close_connection = True
        timing["done"] = time.perf_counter()

    # -- answers ---------------------------------------------------------------------------------------------
    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _whole(self, fake: FakeLLM, mode: str, reply: str, ttft: float, timing: dict[str, float],
               body: dict[str, Any]) -> None:
        if not fake.sleep(ttft):
            return
        timing["first_token"] = time.perf_counter()
        if mode in ("garbage", "die_midstream", "trickle"):
            data = b'{"id": "chatcmpl-fake", "choices": [{"message": {"content": 12'  # cut short, not JSON
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data) + 100 if mode != "garbage" else len(data)))
            self.end_headers()
            self.wfile.write(data)
            if mode == "trickle":
                while fake.sleep(fake.trickle_interval):
                    self.wfile.write(b" ")
                    self.wfile.flush()
            self.close_connection = True
            return
        finish = None if mode == "no_finish" else "length" if mode == "length" else "stop"
        answer = {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                  "model": "fake-model",
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                               "finish_reason": finish}]}
        if mode != "no_usage":
            answer["usage"] = usage_for(body, reply)
        self._json(200, answer)

    def _send_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _stream(self, fake: FakeLLM, mode: str, reply: str, ttft: float, timing: dict[str, float],
                body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        self._send_chunk(_chunk("", role=True))
        if not fake.sleep(ttft):
            return
        if mode == "garbage":
            timing["first_token"] = time.perf_counter()
            self._send_chunk(b"data: {this is not json at all\n\n")
            self._send_chunk(b"data: [DONE]\n\n")
            self._send_chunk(b"")
            return
        tokens = split_tokens(reply)
        for i, tok in enumerate(tokens):
            if mode == "die_midstream" and i >= max(1, len(tokens) // 3):
                self.close_connection = True
                self.connection.shutdown(2)  # no terminating chunk: an abrupt end
                return
            self._send_chunk(_chunk(tok))
            if i == 0:
                timing["first_token"] = time.perf_counter()
            delay = fake.trickle_interval if mode == "trickle" else fake.chunk_delay
            if not fake.sleep(delay):
                return
        if mode == "trickle":  # keep trickling spaces until the client hangs up or the server stops
            while fake.sleep(fake.trickle_interval):
                self._send_chunk(_chunk(" "))
            return
        if mode != "no_finish":
            self._send_chunk(_chunk(None, finish="length" if mode == "length" else "stop"))
        if (body.get("stream_options") or {}).get("include_usage") and mode != "no_usage":
            usage = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                     "model": "fake-model", "choices": [], "usage": usage_for(body, reply)}
            self._send_chunk(b"data: " + json.dumps(usage).encode() + b"\n\n")
        self._send_chunk(b"data: [DONE]\n\n")
        self._send_chunk(b"")


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.support.fake_llm --ttft 0.02`: serve until stdin closes, printing the base URL first.

    Run in its own process, the fake model does not share a GIL with the server being measured; timings are
    time.perf_counter (CLOCK_MONOTONIC on Linux), comparable across processes on one machine.
    """
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ttft", type=float, default=0.0)
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    parser.add_argument("--mode", default="ok", choices=MODES)
    args = parser.parse_args(argv)
    with FakeLLM(mode=args.mode, ttft=args.ttft, chunk_delay=args.chunk_delay) as fake:
        print(fake.url, flush=True)
        sys.stdin.read()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
