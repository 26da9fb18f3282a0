"""The rule registry: one place that says which rules exist, what each is about and how severe it is by default.

A rule is a small function over a `Draft` (the draft's features, computed once) that returns its findings. The
`@rule(id, severity, doc)` decorator registers it; `RULES`, `SEVERITIES`, the API docs and the tests all read
from here, so adding a rule is one function in `rules/` and nothing to keep in step by hand.

Ids are stable: tests, docs, packs and the extension refer to them. Rules run in registration order (the order
`rules/__init__.py` imports their modules); findings are then sorted by span, so that order only decides ties.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

if TYPE_CHECKING:
    from server.core.tone.draft import Draft

Severity = Literal["info", "warn", "block"]
SEVERITY_LEVELS: tuple[Severity, ...] = ("info", "warn", "block")
Phase = Literal["draft", "scored"]


class Finding(TypedDict):
    """One thing a supervisor would point out, as the ToneReport of docs/DESIGN.md carries it."""

    rule: str
    severity: Severity
    message: str
    span: list[int]  # [start, end) in Python str indices, so the extension can highlight it
    suggestion: NotRequired[str]  # the whole draft rewritten with this one fix


@dataclass(frozen=True)
class Scored:
    """What a "scored" rule sees besides the draft: the score and the findings it was computed from."""

    score: int
    findings: list[Finding]


DraftRule = Callable[["Draft"], list[Finding]]
ScoredRule = Callable[["Draft", Scored], list[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    doc: str  # one line, for people: docs, the admin UI, test failures
    fn: Callable[..., list[Finding]]
    phase: Phase = "draft"  # "scored" rules run after the score exists (the score cannot depend on them)


_RULES: dict[str, Rule] = {}


def rule(rule_id: str, severity: Severity, doc: str, *, phase: Phase = "draft") -> Callable[[Any], Any]:
    """Register the decorated function as rule `rule_id`. A second rule with the same id is a programming error."""
    if severity not in SEVERITY_LEVELS:
        raise ValueError(f"rule {rule_id}: severity {severity!r} is not one of {SEVERITY_LEVELS}")
    if not doc.strip() or "\n" in doc.strip():
        raise ValueError(f"rule {rule_id}: the doc must be one line")

    def register(fn: Callable[..., list[Finding]]) -> Callable[..., list[Finding]]:
        if rule_id in _RULES:
            raise ValueError(f"rule {rule_id} is registered twice ({_RULES[rule_id].fn.__qualname__}, "
                             f"{fn.__qualname__})")
        _RULES[rule_id] = Rule(rule_id, severity, doc.strip(), fn, phase)
        return fn

    return register


def all_rules() -> tuple[Rule, ...]:
    """Every registered rule, in the order they run."""
    return tuple(_RULES.values())


def lookup(rule_id: str) -> Rule:
    """The rule with id `rule_id` (KeyError if there is none)."""
    return _RULES[rule_id]


def finding(rule_id: str, message: str, span: tuple[int, int], suggestion: str | None = None) -> Finding:
    """A finding of rule `rule_id` with the rule's severity; `suggestion` only when there is a rewrite to offer."""
    f: Finding = {"rule": rule_id, "severity": _RULES[rule_id].severity, "message": message,
                  "span": [int(span[0]), int(span[1])]}
    if suggestion is not None:
        f["suggestion"] = suggestion
    return f
