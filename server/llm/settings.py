"""Which model answers and how: install defaults with a pack's `[llm]` overrides, and a printable description.

Which model answers (docs/DESIGN.md): no base URL and no key -> the playbook engine; a base URL alone -> that server
(vLLM, Ollama, llama.cpp server, LM Studio need no key, so we send "not-needed"); a key alone -> OpenAI's own API.
Azure OpenAI works through its v1-compatible endpoint: base URL `https://<resource>.openai.azure.com/openai/v1/`,
the Azure key via `python -m server set-key`, and the deployment name as the model.

A pack's `[llm]` table may override model, base_url, temperature, max_tokens and timeout for its own replies, and
`[llm.tasks.reply]` / `[llm.tasks.triage]` may set them per task (a small fast model for triage, say); the
key is only ever the install's (keyring, else OPENAI_API_KEY) and is never logged, returned or printed. This module
is kept apart from the engine so that `python -m server config` can describe the engine without the HTTP code.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TEMPERATURE = 0.4
DEFAULT_MAX_TOKENS = 300
DEFAULT_TIMEOUT = 20.0
TRIAGE_MAX_TOKENS = 200  # a JSON object of six fields
NO_KEY = "not-needed"  # local servers ignore the key, but the client library insists on one


@dataclass(frozen=True)
class LLMSettings:
    """What one call uses: install defaults with the pack's overrides. `repr` never shows the key."""

    base_url: str | None
    model: str
    temperature: float
    max_tokens: int
    timeout: float
    api_key: str = NO_KEY

    def __repr__(self) -> str:
        return (f"LLMSettings(base_url={self.base_url!r}, model={self.model!r}, temperature={self.temperature}, "
                f"max_tokens={self.max_tokens}, timeout={self.timeout})")


TASKS = ("reply", "triage")
_TASK_KEYS = ("model", "base_url", "temperature", "max_tokens", "timeout")


def task_overrides(pack_llm: Mapping[str, Any] | None, task: str) -> dict[str, Any]:
    """The pack's `[llm]` settings for one task: `[llm.tasks.<task>]` keys over the `[llm]` ones."""
    pack_llm = pack_llm or {}
    merged = {k: pack_llm[k] for k in _TASK_KEYS if k in pack_llm}
    tasks = pack_llm.get("tasks")
    own = tasks.get(task) if isinstance(tasks, Mapping) else None
    if isinstance(own, Mapping):
        merged.update({k: own[k] for k in _TASK_KEYS if k in own})
    return merged


def triage_wanted(pack_llm: Mapping[str, Any] | None) -> bool:
    """Whether the pack asks for triage from the model: `[llm] triage = true` or `[llm.tasks.triage]` present
    (its `enabled = false` turns it off again)."""
    pack_llm = pack_llm or {}
    tasks = pack_llm.get("tasks")
    own = tasks.get("triage") if isinstance(tasks, Mapping) else None
    if isinstance(own, Mapping):
        return bool(own.get("enabled", True))
    return pack_llm.get("triage") is True


def resolve_settings(cfg: Any, pack_llm: Mapping[str, Any] | None, api_key: str | None, task: str = "reply"
                     ) -> LLMSettings | None:
    """The settings for one pack and task, or None when neither a base URL nor a key selects the openai engine."""
    over = task_overrides(pack_llm, task)
    base_url = over.get("base_url") or getattr(cfg, "llm_base_url", None) or None
    if not base_url and not api_key:
        return None
    default_tokens = DEFAULT_MAX_TOKENS if task == "reply" else TRIAGE_MAX_TOKENS
    return LLMSettings(
        base_url=base_url,
        model=over.get("model") or getattr(cfg, "llm_model", None) or DEFAULT_MODEL,
        temperature=float(over.get("temperature", DEFAULT_TEMPERATURE if task == "reply" else 0.0)),
        max_tokens=int(over.get("max_tokens", default_tokens)),
        timeout=float(over.get("timeout") or getattr(cfg, "llm_timeout", DEFAULT_TIMEOUT) or DEFAULT_TIMEOUT),
        api_key=api_key or NO_KEY,
    )


def redact_url(url: str | None) -> str | None:
    """A base URL fit to print: credentials in it (user:pass@, ?api-key=) are replaced by ***."""
    if not url:
        return url
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        if parts.username or parts.password:
            host = "***@" + host
        return urlunsplit((parts.scheme, host, parts.path, "***" if parts.query else "", ""))
    except ValueError:
        return "(unparseable URL)"


def describe_engine(cfg: Any, api_key: str | None = None, *, key_known: bool = False) -> str:
    """One line for `python -m server config` and the startup banner: which engine answers, never the key."""
    if not key_known:
        from server.web.keystore import get_api_key  # the keyring is I/O: only asked when the caller has no key

        api_key = get_api_key(getattr(cfg, "data_dir", None))
    s = resolve_settings(cfg, None, api_key)
    if s is None:
        return "playbook (no LLM base URL or API key configured)"
    where = redact_url(s.base_url) or "OpenAI API"
    key = "API key set" if api_key else "no API key (fine for local servers)"
    return f"openai: model {s.model} at {where}, timeout {s.timeout:g} s, {key}; playbook as fallback"
