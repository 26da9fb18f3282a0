"""The openai engine: replies from any OpenAI-compatible chat API, guarded, with the playbook as the safety net.

The parts live next door: `settings` (which model answers), `prompt` (what it is told, with the customer's words
fenced off as data) and `guard` (what makes a reply postable). This module is the I/O: the HTTP call, its
deadline, the repair round and the fallback.

- Every reply is tidied first (`repair.tidy`: preamble, quotes, whitespace, the agent's signature, a sentence cut
  at the limit), so a good reply is kept in one call whatever its signature. Then it goes through the guard; only a
  content problem (private data, a leak, a role break, a banned phrase, a wrong fact or language) asks the model
  again, once, with the findings; if that fails too, the playbook reply stands with fallback_reason
  "guard_blocked".
- The prompt carries the brand's facts (`grounding`, from retrieval) and the answer names the ones the reply
  drew on (`sources`); `usage` counts the tokens and the model's time of every call.
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
from server.llm.grounding import clean_items, sources_used
from server.llm.guard import EchoIndex, StreamCheck, echo_index, guard_report, repair_request, weighted_length
from server.llm.prompt import agent_signature, build_messages, channel_limit
from server.llm.repair import Tidied, tidy
from server.llm.settings import LLMSettings, describe_engine, resolve_settings, triage_wanted
from server.llm.triage import parse_triage, triage_messages
from server.llm.usage import Usage, UsageTotals

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


def _call_params(s: LLMSettings, messages: list[Message], deadline: float, stream: bool, json_mode: bool = False
                 ) -> dict[str, Any]:
    """The chat-completions arguments, with the time left before the deadline as the request's own timeout.

    The messages go in as the body's JSON as they are (extra_body is merged over the SDK's own body): they are
    plain strings already, and the SDK's TypedDict transform of the few-shot turns cost about 4 ms per request,
    half the server's own time before the first token.
    """
    params: dict[str, Any] = {"model": s.model, "messages": [], "extra_body": {"messages": messages},
                              "temperature": s.temperature, "max_tokens": s.max_tokens,
                              "timeout": max(0.05, deadline - time.monotonic())}
    if stream:  # the last chunk then carries the token counts (servers that ignore it get an estimate)
        params["stream_options"] = {"include_usage": True}
    if json_mode:
        params["response_format"] = {"type": "json_object"}
    return params


def _relay_stream(chunks: Any, q: queue.SimpleQueue[Event], cancel: threading.Event) -> None:
    """Hand a streamed answer's pieces and finish reason to the waiting caller, until it stops listening."""
    try:
        for chunk in chunks:
            if cancel.is_set():
                return
            if getattr(chunk, "usage", None) is not None:
                q.put(("usage", chunk.usage))
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


class _Workers:
    """Daemon threads that make the HTTP calls, reused from call to call.

    Starting a thread per call cost about 3 ms on a loaded machine (the caller waits for it to start), all of it
    before the first token. A worker is started only when none is idle, so a call stuck on a stalled server
    (abandoned at its deadline) never makes another wait; daemon threads, so such a call never holds up exit."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        with self._lock:
            spawn = self._idle == 0
            if not spawn:
                self._idle -= 1  # the job below is that worker's
        self._jobs.put((fn, args))
        if spawn:
            threading.Thread(target=self._loop, args=(True,), daemon=True, name="llm-call").start()

    def _loop(self, claimed: bool) -> None:
        while True:
            if not claimed:
                with self._lock:
                    self._idle += 1
            claimed = False
            fn, args = self._jobs.get()
            fn(*args)


@dataclass
class Answer:
    """One model call's outcome: the text, why it stopped, the server's token counts (if any), its duration."""

    text: str
    finish: str | None
    usage: Any = None
    seconds: float = 0.0


def _await_answer(q: queue.SimpleQueue[Event], deadline: float, on_piece: Callable[[str], None] | None) -> Answer:
    """Wait for the worker's events until the deadline; the caller's thread is never held past it."""
    pieces: list[str] = []
    finish: str | None = None
    usage: Any = None
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
        elif kind == "usage":
            usage = value
        elif kind == "whole":
            text, finish, usage = value
            if not isinstance(text, str):
                raise LLMFailure("bad_response", "no message content")
            return Answer(text, finish, usage)
        elif kind == "end":
            if finish is None:
                raise LLMFailure("bad_response", "the stream ended without a finish reason")
            return Answer("".join(pieces), finish, usage)
        else:
            raise LLMFailure(classify(value), type(value).__name__)


class _Relay:
    """Forwards streamed deltas to the client until the text so far trips the leak/role guard.

    It remembers whether anything reached the client, because a fallback then must not send the playbook reply
    as a delta on top (the final `done` event carries it instead)."""

    def __init__(self, on_delta: Callable[[str], None] | None, echo: EchoIndex) -> None:
        self.on_delta = on_delta
        self.check = StreamCheck(echo)
        self.forwarded = 0
        self.stopped = False

    def __call__(self, piece: str) -> None:
        if self.stopped:
            return
        if self.check.feed(piece):
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
        out = {"reply": playbook_reply, "engine": "playbook", "fallback_reason": reason}  # its own sources stand
        if detail:
            out["fallback_detail"] = detail
        return out


@dataclass(frozen=True)
class _Turn:
    """One suggest call's inputs, so each step (first try, repair) tidies and checks a reply the same way."""

    post: dict[str, Any]
    facts: dict[str, Any]
    pack: Any
    options: dict[str, Any]
    messages: list[Message]
    echo: EchoIndex
    grounding: list[dict[str, Any]]
    signature: str
    known: str  # what the reply may quote facts from besides the grounding: the post, its thread, the pack

    @property
    def system_prompt(self) -> str:
        return self.messages[0]["content"]

    def tidy(self, answer: Answer) -> Tidied:
        platform = self.post["platform"]
        return tidy(answer.text, signature=self.signature, limit=channel_limit(self.pack, platform),
                    measure=lambda t: weighted_length(t, platform), finish=answer.finish,
                    other_signatures=(view_of(self.pack).signature.default,))

    def check(self, text: str, finish: str | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        return guard_report(text, self.post, self.pack, self.facts, self.system_prompt, self.echo, finish,
                            self.options, self.grounding, self.known)

    def accepted(self, text: str, fixes: list[str], model: str, report: dict[str, Any]) -> dict[str, Any]:
        """The answer for a reply that stands, with the grounding it drew on."""
        out = {"reply": text, "engine": "openai", "model": model, "tone": report,
               "sources": sources_used(text, self.grounding, str(self.post.get("text") or ""))}
        if fixes:
            out["fixes"] = fixes
        return out

    def repair_messages(self, text: str, findings: list[dict[str, Any]]) -> list[Message]:
        """The conversation again, with the failed reply (withheld if it leaked) and what to fix."""
        platform = self.post["platform"]
        shown = "(reply withheld)" if any(f["rule"] in _WITHHELD for f in findings) else text
        return [*self.messages, {"role": "assistant", "content": shown},
                {"role": "user", "content": repair_request(findings, channel_limit(self.pack, platform), platform)}]


def _known_text(post: dict[str, Any], pack: Any, system_prompt: str, playbook_reply: str) -> str:
    """The text besides the grounding a reply's facts may come from: the post, its thread, the pack's wording
    (its prompt and worked examples) and the playbook reply (its promised times come from the pack's targets)."""
    view = view_of(pack)
    examples = " ".join(str(e.get("reply", "")) for e in view.llm.get("examples") or [] if isinstance(e, dict))
    thread = " ".join(str(m.get("text", "")) for m in post.get("thread") or [] if isinstance(m, dict))
    return "\n".join((str(post.get("text") or ""), thread, system_prompt, examples, playbook_reply))


class OpenAIEngine:
    """Holds one openai client per (base URL, key) and turns a post into a guarded reply dict for suggest()."""

    def __init__(self, cfg: Any, api_key: str | None) -> None:
        import openai  # noqa: F401 - imported now (about half a second) rather than inside the first deadline

        self.cfg = cfg
        self._api_key = api_key
        self._clients: dict[tuple[str | None, str], Any] = {}
        self._lock = threading.Lock()
        self.totals = UsageTotals()
        self._workers = _Workers()
        from server.llm.lang import warm

        warm()  # the language check's detector, built before the first deadline
        default = resolve_settings(cfg, None, api_key)
        if default is not None:  # the install's client, ready before the first request
            self._client(default)

    def __repr__(self) -> str:
        return f"OpenAIEngine(base_url={getattr(self.cfg, 'llm_base_url', None)!r})"

    def settings(self, pack: Any, task: str = "reply") -> LLMSettings | None:
        """The model settings for this pack and task (reply or triage), or None when no model is configured."""
        return resolve_settings(self.cfg, view_of(pack).llm, self._api_key, task)

    def usage_totals(self) -> dict[str, Any]:
        """Tokens, model time, calls and outcomes since start, overall and per task: for the console's dashboard."""
        return self.totals.snapshot()

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

    def _work(self, s: LLMSettings, messages: list[Message], deadline: float, stream: bool, json_mode: bool,
              q: queue.SimpleQueue[Event], cancel: threading.Event) -> None:
        """The HTTP call, in the worker thread: every outcome, errors included, goes to the queue."""
        try:
            client = self._client(s)
            params = _call_params(s, messages, deadline, stream, json_mode)
            if not stream:
                resp = client.chat.completions.create(stream=False, **params)
                choice = resp.choices[0]
                q.put(("whole", (choice.message.content, choice.finish_reason, getattr(resp, "usage", None))))
                return
            _relay_stream(client.chat.completions.create(stream=True, **params), q, cancel)
        except BaseException as exc:  # handed to the waiting thread, which classifies it
            q.put(("error", exc))

    # The one HTTP call, bounded by the deadline whatever the server does.
    def complete(self, s: LLMSettings, messages: list[Message], deadline: float,
                 on_piece: Callable[[str], None] | None = None, usage: Usage | None = None,
                 json_mode: bool = False) -> Answer:
        """The model's answer, streamed when `on_piece` is given, counted into `usage`; LLMFailure otherwise."""
        q: queue.SimpleQueue[Event] = queue.SimpleQueue()
        cancel = threading.Event()
        started = time.perf_counter()
        self._workers.submit(self._work, s, messages, deadline, on_piece is not None, json_mode, q, cancel)
        try:
            answer = _await_answer(q, deadline, on_piece)
        except LLMFailure:
            if usage is not None:  # a failed call still cost time: it counts
                usage.add_call(None, sum(len(m["content"]) for m in messages), "", time.perf_counter() - started)
            raise
        finally:
            cancel.set()
        answer.seconds = time.perf_counter() - started
        if usage is not None:
            usage.add_call(answer.usage, sum(len(m["content"]) for m in messages), answer.text, answer.seconds)
        return answer

    def _attempt(self, turn: _Turn, answer: Answer) -> tuple[Tidied, list[dict[str, Any]], dict[str, Any]]:
        """The model's answer tidied, and what the guard still finds in it."""
        tidied = turn.tidy(answer)
        if not tidied.text:
            return tidied, [{"rule": "empty", "severity": "block", "message": "The reply was empty."}], {}
        found, report = turn.check(tidied.text, tidied.finish)
        return tidied, found, report

    def _reply(self, s: LLMSettings, turn: _Turn, relay: _Relay, playbook_reply: str, usage: Usage
               ) -> dict[str, Any]:
        """First call, deterministic fixes, the guard; one more call only for a content problem; else fallback."""
        deadline = time.monotonic() + s.timeout
        try:
            first = self.complete(s, turn.messages, deadline, relay.sink, usage)
            if not first.text.strip():
                return relay.fallback(playbook_reply, "bad_response", "empty reply")
            tidied, findings, report = self._attempt(turn, first)
            if not findings:
                return turn.accepted(tidied.text, tidied.fixes, s.model, report)
            second = self.complete(s, turn.repair_messages(tidied.text, findings), deadline, None, usage)
            tidied2, findings2, report2 = self._attempt(turn, second)
            if not findings2:
                return {**turn.accepted(tidied2.text, tidied2.fixes, s.model, report2), "repaired": True}
            return relay.fallback(playbook_reply, "guard_blocked", ", ".join(sorted({str(f.get("rule"))
                                                                                     for f in findings2})))
        except LLMFailure as failure:
            return relay.fallback(playbook_reply, failure.reason, failure.detail)

    def generate(self, post: dict[str, Any], facts: dict[str, Any], pack: Any, options: dict[str, Any], *,
                 playbook_reply: str, on_delta: Callable[[str], None] | None = None,
                 grounding: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Keys to merge into the suggest answer: reply, engine, sources, usage, and fallback_reason / repaired /
        fixes / model. `grounding` is what retrieval found: [{"id", "title", "text", "url"?, "kind"}]."""
        s = self.settings(pack)
        if s is None:  # this pack, on this install, has no model: the playbook answers as before
            if on_delta is not None:
                on_delta(playbook_reply)
            return {"engine": "playbook"}
        items = clean_items(grounding)
        messages = build_messages(post, facts, pack, options, items)
        system = messages[0]["content"]
        turn = _Turn(post, facts, pack, options, messages, echo_index(system, pack), items,
                     agent_signature(pack, options), _known_text(post, pack, system, playbook_reply))
        usage = Usage()
        out = self._reply(s, turn, _Relay(on_delta, turn.echo), playbook_reply, usage)
        out["usage"] = usage.as_dict()
        outcome = out.get("fallback_reason") or ("repaired" if out.get("repaired") else "model")
        self.totals.add("reply", usage, outcome)
        return out

    def triage(self, post: dict[str, Any], pack: Any) -> dict[str, Any] | None:
        """The model's triage of the post when the pack asks for it ([llm] triage) and a model is configured:
        {"intent", "severity", "sarcasm"?, "urgent"?, "lang"?, "addressed_to_brand"?, "usage"}; None when the pack
        does not ask, the call fails, or the answer does not validate (the offline analysis then stands)."""
        view = view_of(pack)
        s = self.settings(pack, "triage") if triage_wanted(view.llm) else None
        if s is None:
            return None
        usage = Usage()
        try:
            answer = self.complete(s, triage_messages(post, view.brand or view.name), time.monotonic() + s.timeout,
                                   None, usage, json_mode=True)
            result = parse_triage(answer.text)
        except LLMFailure as failure:
            self.totals.add("triage", usage, failure.reason)
            return None
        self.totals.add("triage", usage, "model" if result is not None else "invalid_json")
        if result is None:
            return None
        return {**result, "usage": usage.as_dict()}


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
