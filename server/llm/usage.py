"""What the model costs: tokens and time per suggestion, and running totals for the console's dashboard.

Each suggest answer carries `usage` = {prompt_tokens, completion_tokens, total_tokens, model_ms, calls} for the
model calls that suggestion made (a repair is a second call). Servers that report no token counts (some local
ones, or a stream without `include_usage`) get an estimate of four characters a token, marked `estimated`.
The totals are counters behind one lock: request threads add to them and the console reads them.
"""
from __future__ import annotations

import threading
import time
from typing import Any

KEYS = ("prompt_tokens", "completion_tokens", "total_tokens", "model_ms", "calls")


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters a token in English) for servers that report none."""
    return max(1, round(len(text) / 4)) if text else 0


class Usage:
    """One suggestion's model calls, added up; `as_dict` is the answer's `usage`."""

    def __init__(self) -> None:
        self.prompt_tokens = self.completion_tokens = self.calls = 0
        self.model_ms = 0.0
        self.estimated = False

    def add_call(self, reported: Any, prompt_chars: int, reply: str, seconds: float) -> None:
        """Count one call: the server's own token counts when it sent them, else an estimate."""
        self.calls += 1
        self.model_ms += seconds * 1000
        prompt = getattr(reported, "prompt_tokens", None)
        completion = getattr(reported, "completion_tokens", None)
        if isinstance(prompt, int) and isinstance(completion, int):
            self.prompt_tokens += prompt
            self.completion_tokens += completion
        else:
            self.estimated = True
            self.prompt_tokens += max(1, prompt_chars // 4)
            self.completion_tokens += estimate_tokens(reply)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                               "total_tokens": self.prompt_tokens + self.completion_tokens,
                               "model_ms": round(self.model_ms, 1), "calls": self.calls}
        if self.estimated:
            out["estimated"] = True
        return out


class UsageTotals:
    """Thread-safe running totals since the server started, per task and overall."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since = time.time()
        self._tasks: dict[str, dict[str, float]] = {}
        self._outcomes: dict[str, int] = {}

    def add(self, task: str, usage: Usage, outcome: str) -> None:
        """Add one suggestion's (or one triage's) usage; `outcome` is "model", "repaired" or a fallback reason."""
        row = usage.as_dict()
        with self._lock:
            acc = self._tasks.setdefault(task, dict.fromkeys((*KEYS, "requests"), 0))
            for key in KEYS:
                acc[key] += row[key]
            acc["requests"] += 1
            self._outcomes[outcome] = self._outcomes.get(outcome, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        """{"since", "requests", <KEYS>, "by_task": {...}, "outcomes": {...}} with model_ms rounded."""
        with self._lock:
            tasks = {t: dict(v) for t, v in self._tasks.items()}
            outcomes = dict(self._outcomes)
        total = dict.fromkeys((*KEYS, "requests"), 0)
        for acc in tasks.values():
            for key in total:
                total[key] += acc[key]
        for acc in (total, *tasks.values()):
            acc["model_ms"] = round(acc["model_ms"], 1)
            for key in acc:
                if key != "model_ms":
                    acc[key] = int(acc[key])
        return {"since": self._since, **total, "by_task": tasks, "outcomes": outcomes}
