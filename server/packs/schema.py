"""The prompt-pack schema: what a supervisor's TOML must hold before it can reach agents."""
from __future__ import annotations

from typing import Any

from server.core.vocab import (  # noqa: E402,F401  (one vocabulary)
    INTENTS,
    PLATFORMS,  # noqa: E402,F401  (one vocabulary)
    SEVERITIES,
)

_str_list = {"type": "array", "items": {"type": "string", "minLength": 1}}
_nonempty_str_list = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}
_minutes = {"type": "number", "exclusiveMinimum": 0, "maximum": 10080}
_hhmm = {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$"}

_channel = {
    "type": "object",
    "properties": {
        "limit": {"type": "integer", "minimum": 20, "maximum": 63206},
        "counting": {"enum": ["twitter", "chars"]},
        "recommended": {"type": "integer", "minimum": 20},
        "readability_max_grade": {"type": "number", "minimum": 1, "maximum": 20},
        "dm_phrase": {"type": "string", "minLength": 1},
    },
    "required": ["limit"],
    "additionalProperties": False,
}

_sla_channel = {
    "type": "object",
    "properties": {
        "default_minutes": _minutes,
        "intent": {"type": "object", "propertyNames": {"enum": list(INTENTS)}, "additionalProperties": _minutes},
        "severity": {"type": "object", "propertyNames": {"enum": list(SEVERITIES)},
                     "additionalProperties": _minutes},
    },
    "required": ["default_minutes"],
    "additionalProperties": False,
}

_intent = {
    "type": "object",
    "properties": {
        "acknowledge": _nonempty_str_list,
        "empathy": {"type": "object", "propertyNames": {"enum": list(SEVERITIES)},
                    "additionalProperties": _str_list},
        "next_step": _nonempty_str_list,
        "next_step_escalated": _str_list,  # said only when the QueueItem is escalated (legal_safety)
        "dm": {"enum": ["always", "if_private", "never"]},
        "dm_prompt": _str_list,
        "closing": _str_list,
        "eta": {"type": "string"},
        "engage": {"type": "boolean"},
        "advice": {"type": "string"},
        # Optional, used by the offline playbook engine (server/playbook.py):
        "eta_severity": {"type": "object", "propertyNames": {"enum": list(SEVERITIES)},
                         "additionalProperties": {"type": "string", "minLength": 1}},
        "follow_up": _str_list,      # when the brand already replied earlier in the thread
        "warm": _str_list,           # extra empathy for the "warmer" style
        "warm_closing": _str_list,   # closing for the "warmer" style
        "lighthearted": _str_list,   # only when the customer is playful
    },
    "required": ["acknowledge", "next_step"],
    "additionalProperties": False,
}

# How the offline engine words replies for this brand (all optional; defaults in server/playbook.py).
_style = {
    "type": "object",
    "properties": {
        "contractions": {"type": "boolean"},      # false: always write "I am", never "I'm"
        "echo_references": {"type": "boolean"},   # false: never repeat order/booking numbers in public
        "emoji": _str_list,                       # allowed when pack.emoji is true and the customer is playful
        "formal_closing": _str_list,              # closing for the "more formal" style
        "formal_replacements": {"type": "object", "additionalProperties": {"type": "string"}},
        "details_missing": {"type": "string", "minLength": 1},  # what to ask for in DM when no reference given
        "details_known": {"type": "string", "minLength": 1},    # what to ask for in DM when one was given
        "name_fallback": {"type": "string", "minLength": 1},    # when neither a name nor a handle is known
    },
    "additionalProperties": False,
}

# Extra words that point at an intent for this brand (e.g. "missed connection" for an airline).
_analysis = {
    "type": "object",
    "properties": {
        "keywords": {"type": "object", "propertyNames": {"enum": list(INTENTS)}, "additionalProperties": _str_list},
        # Real posts of this brand's traffic per intent: a post close to one gets its intent (server/triage).
        "examples": {"type": "object", "propertyNames": {"enum": list(INTENTS)},
                     "additionalProperties": {"type": "array", "maxItems": 200,
                                              "items": {"type": "string", "minLength": 1, "maxLength": 1000}}},
    },
    "additionalProperties": False,
}

# One task's model settings under [llm.tasks.reply] / [llm.tasks.triage]; unset keys come from [llm].
_llm_task = {
    "type": "object",
    "properties": {
        "model": {"type": "string", "minLength": 1},
        "base_url": {"type": "string"},
        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
        "max_tokens": {"type": "integer", "minimum": 16, "maximum": 4096},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 300},
        "enabled": {"type": "boolean"},
    },
    "additionalProperties": False,
}

# Known answers, so the engine can answer a question instead of promising to find out.
_faq = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "match": _nonempty_str_list,  # every term must occur in the post (case-insensitive)
            "answer": {"type": "string", "minLength": 1},
            "intents": {"type": "array", "items": {"enum": list(INTENTS)}},
        },
        "required": ["match", "answer"],
        "additionalProperties": False,
    },
}

# The engine's own sentence frames (answering from an article, asking to remove private details, a deadline...),
# by name, each a list of variants; the engine has English defaults (server/core/playbook.py, PHRASES).
_phrases = {"type": "object", "propertyNames": {"pattern": r"^[a-z0-9_]{1,40}$"}, "additionalProperties": _str_list}

# A knowledge article as the pack keeps it once parsed from `knowledge/<id>.md` (server/knowledge/articles.py).
_article = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_-]{0,60}$"},
        "title": {"type": "string", "minLength": 1},
        "body": {"type": "string", "minLength": 1},
        "keywords": _str_list,
        "url": {"type": "string"},
        "private": {"type": "boolean"},
        "lang": {"type": "string", "pattern": r"^[a-z]{2}$"},
    },
    "required": ["id", "title", "body"],
    "additionalProperties": False,
}

# A playbook in another language: `lang/<code>.toml`. Intents it leaves out are answered from the main
# playbook, in the main language, and the suggest answer says so.
LANG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "language": {
            "type": "object",
            "properties": {"name": {"type": "string", "minLength": 1}},
            "required": ["name"],
            "additionalProperties": False,
        },
        "intents": {"type": "object", "propertyNames": {"enum": list(INTENTS)}, "additionalProperties": _intent},
        "style": _style,
        "phrases": _phrases,
        "channels": {"type": "object", "propertyNames": {"enum": list(PLATFORMS)},
                     "additionalProperties": {"type": "object",
                                              "properties": {"dm_phrase": {"type": "string", "minLength": 1}},
                                              "additionalProperties": False}},
    },
    "required": ["language", "intents"],
    "additionalProperties": False,
}

PACK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "pack": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_-]{0,40}$"},
                "version": {"type": "string", "minLength": 1},
                "description": {"type": "string"},
                "brand": {"type": "string", "minLength": 1},
                "voice": {"type": "string", "minLength": 1},
                "formality": {"enum": ["casual", "friendly", "professional", "formal"]},
                "emoji": {"type": "boolean"},
                "products": _str_list,
                "handles": {"type": "object", "propertyNames": {"enum": list(PLATFORMS)},
                            "additionalProperties": _str_list},
            },
            "required": ["name", "version", "brand", "voice"],
            "additionalProperties": False,
        },
        "signature": {
            "type": "object",
            "properties": {
                "format": {"type": "string", "minLength": 1, "maxLength": 40},
                "required": {"type": "boolean"},
                "default": {"type": "string", "maxLength": 40},
            },
            "required": ["format", "required"],
            "additionalProperties": False,
        },
        "channels": {
            "type": "object",
            "properties": {p: _channel for p in PLATFORMS},
            "required": list(PLATFORMS),
            "additionalProperties": False,
        },
        "sla": {
            "type": "object",
            "properties": {
                **{p: _sla_channel for p in PLATFORMS},
                "due_soon_fraction": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                "business_hours": {
                    "type": "object",
                    "properties": {
                        "timezone": {"type": "string", "minLength": 1},
                        "periods": {
                            "type": "object",
                            "propertyNames": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
                            "additionalProperties": {
                                "type": "array",
                                "items": {"type": "array", "items": _hhmm, "minItems": 2, "maxItems": 2},
                            },
                        },
                    },
                    "required": ["timezone", "periods"],
                    "additionalProperties": False,
                },
            },
            "required": list(PLATFORMS),
            "additionalProperties": False,
        },
        "tone": {
            "type": "object",
            "properties": {
                "banned_phrases": _str_list,
                "required_phrases": _str_list,
                "allowed_domains": _str_list,
                "min_score": {"type": "number", "minimum": 0, "maximum": 100},
            },
            "additionalProperties": False,
        },
        "intents": {
            "type": "object",
            "properties": {i: _intent for i in INTENTS},
            "required": list(INTENTS),
            "additionalProperties": False,
        },
        "style": _style,
        "analysis": _analysis,
        "faq": _faq,
        "phrases": _phrases,
        "knowledge": {"type": "array", "items": _article},
        "languages": {"type": "object", "propertyNames": {"pattern": r"^[a-z]{2}$"},
                      "additionalProperties": LANG_SCHEMA},
        "llm": {
            "type": "object",
            "properties": {
                "system_prompt": {"type": "string", "minLength": 20},
                "model": {"type": "string"},
                "base_url": {"type": "string"},
                "temperature": {"type": "number", "minimum": 0, "maximum": 2},
                "max_tokens": {"type": "integer", "minimum": 16, "maximum": 4096},
                "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 300},
                # Issue 15: triage from the model (offline analysis as fallback), and a model per task.
                "triage": {"type": "boolean"},
                "tasks": {
                    "type": "object",
                    "properties": {"reply": _llm_task, "triage": _llm_task},
                    "additionalProperties": False,
                },
                "examples": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "platform": {"enum": list(PLATFORMS)},
                            "name": {"type": "string"},
                            "handle": {"type": "string"},
                            "post": {"type": "string", "minLength": 1},
                            "reply": {"type": "string", "minLength": 1},
                        },
                        "required": ["post", "reply"],
                        "additionalProperties": False,
                    },
                },
            },
            "required": ["system_prompt"],
            "additionalProperties": False,
        },
    },
    "required": ["pack", "signature", "channels", "sla", "tone", "intents", "llm"],
    "additionalProperties": False,
}
