"""The openai engine: replies from any OpenAI-compatible chat API, guarded, with the playbook as the safety net.

The parts live next door: `settings` (which model answers), `prompt` (what it is told, with the customer's words
fenced off as data) and `guard` (what makes a reply postable). This module is the I/O: the HTTP call, its
deadline, the repair round and the fallback.

- Every reply goes through the guard. A reply that fails is repaired once by asking the model again with the
  findings; if that fails too, the playbook reply stands with fallback_reason "guard_blocked".
- One wall-clock deadline (the configured timeout) covers the whole call, repair included. The HTTP work runs
  in a worker thread and the caller waits on a queue with that deadline, so a slow, stalled or trickling server
  can never hold the agent past it. Failures map to stable fallback_reason codes (FALLBACK_REASONS).

Streaming contract (for /ws): deltas are forwarded as the model writes them, except that forwarding stops as soon
as the text so far trips the leak/role guard. When the LLM path then falls back or repairs, no "reset" event is
sent: the final `done` event carries the authoritative reply, and clients replace the streamed text with it.
If nothing was streamed before a fallback, the playbook reply is sent as one delta, as the playbook engine does.
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.core.packview import view_of
from server.llm.guard import EchoIndex, clean_reply, echo_index, guard_report, repair_request, stream_tripped
from server.llm.prompt import build_messages, channel_limit
from server.llm.settings import LLMSettings, describe_engine, resolve_settings

if TYPE_CHECKING:
    from server.services import Services

FALLBACK_REASONS = {
    "timeout": "The model did not finish within the configured timeout.",
    "rate_limited": "The model server answered 429 (rate limited).",
    "server_error": "The model server failed (HTTP 5xx).",
    "auth_failed": "The model server refused the API key (HTTP 401/403).",
    "request_rejected": "The model server rejected the request (HTTP 4xx), e.g. an unknown model.",
    "connection_error": "The model server could not be reached or dropped the connection.",
    "bad_response": "The model server's answer was empty or not valid chat-completions data.",
    "guard_blocked": "The model's reply broke a block-level rule even after one repair.",
}
# Findings after which the model's own text is not shown back to it in the repair round.
_WITHHELD = ("prompt_leak", "role_break")

Message = dict[str, str]
Event = tuple[str, Any]  # what the worker thread hands the waiting caller: ("piece" | "finish" | ..., value)


class LLMFailure(Exception):
    """The model call failed; `reason` is one of FALLBACK_REASONS."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


def classify(exc: BaseException) -> str:
    """A stable fallback_reason for whatever the client library or the wire threw."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.RateLimitError):
        return "rate_limited"
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return "auth_failed"
    if isinstance(exc, openai.APIStatusError):
        return "server_error" if exc.status_code >= 500 else "request_rejected"
    if isinstance(exc, openai.APIConnectionError):
        return "connection_error"
    name = type(exc).__name__
    if "Timeout" in name:
        return "timeout"
    if any(k in name for k in ("Connect", "Protocol", "ReadError", "RemoteProtocol")) or isinstance(exc, OSError):
        return "connection_error"
    return "bad_response"


def _call_params(s: LLMSettings, messages: list[Message], deadline: float) -> dict[str, Any]:
    """The chat-completions arguments, with the time left before the deadline as the request's own timeout.

    The messages go in as the body's JSON as they are (extra_body is merged over the SDK's own body): they are
    plain strings already, and the SDK's TypedDict transform of the few-shot turns cost about 4 ms per request,
    half the server's own time before the first token.
    """
    return {"model": s.model, "messages": [], "extra_body": {"messages": messages}, "temperature": s.temperature,
            "max_tokens": s.max_tokens, "timeout": max(0.05, deadline - time.monotonic())}


def _relay_stream(chunks: Any, q: queue.SimpleQueue[Event], cancel: threading.Event) -> None:
    """Hand a streamed answer's pieces and finish reason to the waiting caller, until it stops listening."""
    try:
        for chunk in chunks:
            if cancel.is_set():
                return
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            piece = choice.delta.content if choice.delta is not None else None
            if piece:
                q.put(("piece", piece))
            if choice.finish_reason:
                q.put(("finish", choice.finish_reason))
    finally:
        chunks.close()
    q.put(("end", None))


def _await_answer(q: queue.SimpleQueue[Event], deadline: float, on_piece: Callable[[str], None] | None
                  ) -> tuple[str, str | None]:
    """Wait for the worker's events until the deadline; the caller's thread is never held past it."""
    pieces: list[str] = []
    finish: str | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LLMFailure("timeout", "deadline passed")
        try:
            kind, value = q.get(timeout=remaining)
        except queue.Empty:
            raise LLMFailure("timeout", "deadline passed") from None
        if kind == "piece":
            pieces.append(value)
            on_piece(value)  # type: ignore[misc]
        elif kind == "finish":
            finish = value
        elif kind == "whole":
            text, finish = value
            if not isinstance(text, str):
                raise LLMFailure("bad_response", "no message content")
            return text, finish
        elif kind == "end":
            if finish is None:
                raise LLMFailure("bad_response", "the stream ended without a finish reason")
            return "".join(pieces), finish
        else:
            raise LLMFailure(classify(value), type(value).__name__)


class _Relay:
    """Forwards streamed deltas to the client until the text so far trips the leak/role guard.

    It remembers whether anything reached the client, because a fallback then must not send the playbook reply
    as a delta on top (the final `done` event carries it instead)."""

    def __init__(self, on_delta: Callable[[str], None] | None, echo: EchoIndex) -> None:
        self.on_delta, self.echo = on_delta, echo
        self.so_far: list[str] = []
        self.forwarded = 0
        self.stopped = False

    def __call__(self, piece: str) -> None:
        self.so_far.append(piece)
        if self.stopped:
            return
        if stream_tripped("".join(self.so_far), self.echo):
            self.stopped = True
            return
        self.forwarded += 1
        self.on_delta(piece)  # type: ignore[misc]

    @property
    def sink(self) -> Callable[[str], None] | None:
        """What `complete` streams into: this relay when there is a client to stream to, else nothing."""
        return self if self.on_delta is not None else None

    def fallback(self, playbook_reply: str, reason: str, detail: str = "") -> dict[str, Any]:
        """The playbook reply as the answer, with the reason the model's reply did not stand."""
        if self.on_delta is not None and self.forwarded == 0:
            self.on_delta(playbook_reply)
        out = {"reply": playbook_reply, "engine": "playbook", "fallback_reason": reason}
        if detail:
            out["fallback_detail"] = detail
        return out


@dataclass(frozen=True)
class _Turn:
    """One suggest call's inputs, so each step (first try, repair) checks a reply against the same things."""

    post: dict[str, Any]
    facts: dict[str, Any]
    pack: Any
    options: dict[str, Any]
    messages: list[Message]
    echo: EchoIndex

    @property
    def system_prompt(self) -> str:
        return self.messages[0]["content"]

    def check(self, text: str, finish: str | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        return guard_report(text, self.post, self.pack, self.facts, self.system_prompt, self.echo, finish,
                            self.options)

    def repair_messages(self, text: str, findings: list[dict[str, Any]]) -> list[Message]:
        """The conversation again, with the failed reply (withheld if it leaked) and what to fix."""
        platform = self.post["platform"]
        shown = "(reply withheld)" if any(f["rule"] in _WITHHELD for f in findings) else text
        return [*self.messages, {"role": "assistant", "content": shown},
                {"role": "user", "content": repair_request(findings, channel_limit(self.pack, platform), platform)}]


class OpenAIEngine:
    """Holds one openai client per (base URL, key) and turns a post into a guarded reply dict for suggest()."""

    def __init__(self, cfg: Any, api_key: str | None) -> None:
        import openai  # noqa: F401 - imported now (about half a second) rather than inside the first deadline

        self.cfg = cfg
        self._api_key = api_key
        self._clients: dict[tuple[str | None, str], Any] = {}
        self._lock = threading.Lock()
        default = resolve_settings(cfg, None, api_key)
        if default is not None:  # the install's client, ready before the first request
            self._client(default)

    def __repr__(self) -> str:
        return f"OpenAIEngine(base_url={getattr(self.cfg, 'llm_base_url', None)!r})"

    def settings(self, pack: Any) -> LLMSettings | None:
        return resolve_settings(self.cfg, view_of(pack).llm, self._api_key)

    def _client(self, s: LLMSettings) -> Any:
        key = (s.base_url, s.api_key)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                import openai

                client = openai.OpenAI(base_url=s.base_url, api_key=s.api_key, timeout=s.timeout, max_retries=0)
                self._clients[key] = client
            return client

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for c in clients:
            try:
                c.close()
            except Exception:  # pragma: no cover - closing is best effort
                pass

    def _work(self, s: LLMSettings, messages: list[Message], deadline: float, stream: bool,
              q: queue.SimpleQueue[Event], cancel: threading.Event) -> None:
        """The HTTP call, in the worker thread: every outcome, errors included, goes to the queue."""
        try:
            client = self._client(s)
            params = _call_params(s, messages, deadline)
            if not stream:
                choice = client.chat.completions.create(stream=False, **params).choices[0]
                q.put(("whole", (choice.message.content, choice.finish_reason)))
                return
            _relay_stream(client.chat.completions.create(stream=True, **params), q, cancel)
        except BaseException as exc:  # handed to the waiting thread, which classifies it
            q.put(("error", exc))

    # The one HTTP call, bounded by the deadline whatever the server does.
    def complete(self, s: LLMSettings, messages: list[Message], deadline: float,
                 on_piece: Callable[[str], None] | None = None) -> tuple[str, str | None]:
        """(text, finish_reason) from the model, streamed when `on_piece` is given; LLMFailure otherwise."""
        q: queue.SimpleQueue[Event] = queue.SimpleQueue()
        cancel = threading.Event()
        threading.Thread(target=self._work, args=(s, messages, deadline, on_piece is not None, q, cancel),
                         daemon=True, name="llm-call").start()
        try:
            return _await_answer(q, deadline, on_piece)
        finally:
            cancel.set()

    def _repair(self, s: LLMSettings, turn: _Turn, text: str, findings: list[dict[str, Any]], deadline: float
                ) -> tuple[str | None, list[dict[str, Any]], dict[str, Any] | None]:
        """One more try with the findings named: (reply or None, its findings, its tone report)."""
        raw, finish = self.complete(s, turn.repair_messages(text, findings), deadline, None)
        fixed = clean_reply(raw)
        if not fixed:
            return None, findings, None
        found, report = turn.check(fixed, finish)
        return (None if found else fixed), found, report

    def generate(self, post: dict[str, Any], facts: dict[str, Any], pack: Any, options: dict[str, Any], *,
                 playbook_reply: str, on_delta: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Keys to merge into the suggest answer: reply, engine, and fallback_reason / repaired / model."""
        s = self.settings(pack)
        if s is None:  # this pack, on this install, has no model: the playbook answers as before
            if on_delta is not None:
                on_delta(playbook_reply)
            return {"engine": "playbook"}
        deadline = time.monotonic() + s.timeout
        messages = build_messages(post, facts, pack, options)
        turn = _Turn(post, facts, pack, options, messages, echo_index(messages[0]["content"], pack))
        relay = _Relay(on_delta, turn.echo)
        try:
            raw, finish = self.complete(s, messages, deadline, relay.sink)
            text = clean_reply(raw)
            if not text:
                return relay.fallback(playbook_reply, "bad_response", "empty reply")
            findings, report = turn.check(text, finish)
            if not findings:
                return {"reply": text, "engine": "openai", "model": s.model, "tone": report}
            fixed, findings2, report2 = self._repair(s, turn, text, findings, deadline)
            if fixed:
                return {"reply": fixed, "engine": "openai", "model": s.model, "repaired": True, "tone": report2}
            return relay.fallback(playbook_reply, "guard_blocked", ", ".join(sorted({str(f.get("rule"))
                                                                                     for f in findings2})))
        except LLMFailure as failure:
            return relay.fallback(playbook_reply, failure.reason, failure.detail)


def _packs_name_a_server(svc: Services) -> bool:
    """Whether any pack sets its own model server: then the engine is needed even without an install default."""
    packs = svc.packs
    if packs is None:
        return False
    for name in packs.names():
        try:
            if view_of(packs.get(name)).llm.get("base_url"):
                return True
        except Exception:  # a broken pack is the pack store's business, not ours
            continue
    return False


def init_app(app: Any, svc: Services) -> None:
    """Set `svc.llm` to the engine when a base URL or key is configured (here or in a pack), else None."""
    from server.web.keystore import get_api_key

    cfg = svc.config
    api_key = get_api_key(cfg.data_dir)
    if resolve_settings(cfg, None, api_key) is None and not _packs_name_a_server(svc):
        svc.llm = None
        svc.engine_name = "playbook"
        return
    engine = OpenAIEngine(cfg, api_key)
    svc.llm = engine
    svc.engine_name = describe_engine(cfg, api_key, key_known=True)
    svc.on_close(engine.close)


__all__ = ["OpenAIEngine", "LLMFailure", "FALLBACK_REASONS", "classify", "init_app"]
