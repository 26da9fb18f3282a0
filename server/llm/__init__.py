"""Replies from a language model: settings (which model, per pack and task), prompt (what it is told, with the
brand's facts and the customer's language), repair (deterministic fixes), guard (what may be posted), grounding
(facts and sources), lang, triage (the model's JSON triage), usage (tokens and time) and engine (the HTTP call with
its deadline, the repair round and the playbook fallback). The public names are re-exported
here so callers need not know which of those modules holds them."""
from server.llm.engine import FALLBACK_REASONS, LLMFailure, OpenAIEngine, init_app
from server.llm.grounding import sources_used, unsupported_facts
from server.llm.guard import EchoIndex, guard, guard_report, own_findings
from server.llm.prompt import agent_signature, build_messages, build_system_prompt, build_user_turn, neutralise
from server.llm.repair import tidy
from server.llm.settings import LLMSettings, describe_engine, redact_url, resolve_settings
from server.llm.triage import TRIAGE_SCHEMA, parse_triage

__all__ = ["OpenAIEngine", "LLMFailure", "LLMSettings", "resolve_settings", "describe_engine", "redact_url",
           "build_messages", "build_system_prompt", "build_user_turn", "neutralise", "guard", "guard_report",
           "own_findings", "EchoIndex", "FALLBACK_REASONS", "init_app", "agent_signature", "tidy", "sources_used",
           "unsupported_facts", "TRIAGE_SCHEMA", "parse_triage"]
