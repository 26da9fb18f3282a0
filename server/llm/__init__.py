"""Replies from a language model: settings (which model), prompt (what it is told), guard (what may be posted)
and engine (the HTTP call with its deadline, repair and playbook fallback). The public names are re-exported
here so callers need not know which of those modules holds them."""
from server.llm.engine import FALLBACK_REASONS, LLMFailure, OpenAIEngine, init_app
from server.llm.guard import EchoIndex, guard, guard_report, own_findings
from server.llm.prompt import build_messages, build_system_prompt, build_user_turn, neutralise
from server.llm.settings import LLMSettings, describe_engine, redact_url, resolve_settings

__all__ = ["OpenAIEngine", "LLMFailure", "LLMSettings", "resolve_settings", "describe_engine", "redact_url",
           "build_messages", "build_system_prompt", "build_user_turn", "neutralise", "guard", "guard_report",
           "own_findings", "EchoIndex", "FALLBACK_REASONS", "init_app"]
