"""The pack form's fields: what a team lead can edit without TOML, each with the pack schema's rule in words.

One registry (`FIELDS`) drives the form page, its live checks, the save, and the history's field-by-field diff, so
a field's label, rule and parser are written once. A field names a key path in the merged pack document; its
value travels through the form as text (`to_form`) and comes back through `parse` which either returns the
value to store, `REMOVE` (the key goes, the pack's default applies) or raises `FieldError` with the rule broken.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.core.vocab import INTENTS, PLATFORMS, SEVERITIES

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
                     strict=True))
PLATFORM_NAMES = {"x": "X", "facebook": "Facebook"}
FORMALITIES = ("casual", "friendly", "professional", "formal")
DM_CHOICES = ("always", "if_private", "never")
MAX_MINUTES = 10080
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
RANGE_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)\s*[-–]\s*(([01]\d|2[0-3]):[0-5]\d|24:00)$")
REMOVE = object()  # parse result: take the key out of the pack (the default applies)


class FieldError(ValueError):
    """A form value that breaks its field's rule; the message says the rule in words."""


@dataclass(frozen=True)
class Field:
    id: str                      # the form input's name: the dotted key path
    label: str
    kind: str                    # text | textarea | select | lines | minutes | bool | hours | zone
    rule: str                    # the schema's rule in words, shown under the field
    group: str
    choices: tuple[str, ...] = ()
    required: bool = True        # False: an empty value removes the key
    min_items: int = 0
    max_len: int = 0
    min_len: int = 0
    item: str = "phrase"         # what one line of a `lines` field is, for messages
    domain: bool = False         # lines are web domains

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.id.split("."))

    @property
    def dom_id(self) -> str:
        return "f-" + self.id.replace(".", "-").replace("_", "-")


def _voice_fields() -> list[Field]:
    g = "Voice and signature"
    return [
        Field("pack.brand", "Brand name", "text", "Required: the name customers know you by.", g, max_len=80),
        Field("pack.voice", "Voice", "textarea", "Required: a sentence or two on how replies should sound.", g),
        Field("pack.formality", "Formality", "select", "One of: casual, friendly, professional, formal.", g,
              choices=FORMALITIES),
        Field("signature.format", "Signature format", "text",
              "Required, 1 to 40 characters; {initials} or {name} stand for the agent (e.g. ^{initials}).", g,
              min_len=1, max_len=40),
        Field("signature.required", "Every reply must be signed", "bool", "Checked: unsigned drafts are flagged.", g),
        Field("signature.default", "Default signature", "text",
              "At most 40 characters; used when the agent set none (e.g. ^AC). May be empty.", g,
              required=False, max_len=40),
    ]


def _tone_fields() -> list[Field]:
    g = "Words and links"
    return [
        Field("tone.banned_phrases", "Banned phrases", "lines",
              "One phrase a line, each once; a reply that contains one is blocked. May be empty.", g),
        Field("tone.required_phrases", "Required phrases", "lines",
              "One phrase a line, each once; a reply without one is flagged. May be empty.", g),
        Field("tone.allowed_domains", "Allowed link domains", "lines",
              "One domain a line (like shop.example, no https://), each once; links elsewhere are flagged.", g,
              item="domain", domain=True),
    ]


def _sla_fields() -> list[Field]:
    out = []
    for p in PLATFORMS:
        g = f"Response targets on {PLATFORM_NAMES.get(p, p)}"
        rule = f"Minutes, more than 0 and at most {MAX_MINUTES} (a week)"
        out.append(Field(f"sla.{p}.default_minutes", "Every post", "minutes", f"Required. {rule}.", g))
        for i in INTENTS:
            out.append(Field(f"sla.{p}.intent.{i}", f"{i.replace('_', ' ')} posts", "minutes",
                             f"{rule}; empty: the target for every post applies.", g, required=False))
        for s in SEVERITIES:
            out.append(Field(f"sla.{p}.severity.{s}", f"{s} severity", "minutes",
                             f"{rule}; empty: no target for this severity.", g, required=False))
    return out


def _hours_fields() -> list[Field]:
    g = "Business hours"
    out = [Field("sla.business_hours.timezone", "Time zone", "zone",
                 "A time zone name like Europe/London; empty: the clock runs around the clock, every day.", g,
                 required=False)]
    for d in DAYS:
        out.append(Field(f"sla.business_hours.periods.{d}", DAY_NAMES[d], "hours",
                         "Opening times as HH:MM-HH:MM, several separated by commas; empty: closed all day.", g,
                         required=False))
    return out


def _intent_fields() -> list[Field]:
    out = []
    for i in INTENTS:
        g = f"Playbook: {i.replace('_', ' ')}"
        one = "One line each, at least one; the engine picks a line and fills in {name}, {brand}, {eta}, {dm}."
        opt = "One line each, may be empty."
        out += [Field(f"intents.{i}.acknowledge", "Opening lines", "lines", one, g, min_items=1, item="line"),
                *[Field(f"intents.{i}.empathy.{s}", f"Empathy at {s} severity", "lines", opt, g, item="line",
                        required=False) for s in SEVERITIES],
                Field(f"intents.{i}.next_step", "Next-step lines", "lines", one, g, min_items=1, item="line"),
                Field(f"intents.{i}.dm", "Move to a private message", "select",
                      "always, if_private (only when private details are involved) or never.", g,
                      choices=DM_CHOICES, required=False),
                Field(f"intents.{i}.dm_prompt", "Private-message lines", "lines", opt, g, item="line",
                      required=False),
                Field(f"intents.{i}.closing", "Closing lines", "lines", opt, g, item="line", required=False),
                Field(f"intents.{i}.eta", "When the customer hears back", "text",
                      "Words like \"within 24 hours\"; fills {eta}. May be empty.", g, required=False),
                Field(f"intents.{i}.advice", "Advice shown to the agent", "text",
                      "A sentence for the agent, not the customer. May be empty.", g, required=False)]
    return out


def _llm_fields() -> list[Field]:
    return [Field("llm.system_prompt", "Instructions for the language model", "textarea",
                  "Required, at least 20 characters; {brand}, {voice}, {limit} and {signature} are filled in.",
                  "Language model", min_len=20)]


FIELDS: tuple[Field, ...] = tuple(_voice_fields() + _tone_fields() + _sla_fields() + _hours_fields()
                                  + _intent_fields() + _llm_fields())
BY_ID = {f.id: f for f in FIELDS}


def groups() -> list[tuple[str, list[Field]]]:
    """The fields in form order, by section."""
    out: dict[str, list[Field]] = {}
    for f in FIELDS:
        out.setdefault(f.group, []).append(f)
    return list(out.items())


def field_for_key(key: str | None) -> Field | None:
    """The field a schema error's dotted key falls under (the longest matching path)."""
    if not key:
        return None
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        hit = BY_ID.get(".".join(parts[:n]))
        if hit is not None:
            return hit
    return None


def value_at(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


# ---- to the form and back -----------------------------------------------------------------------------------------

def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def to_form(f: Field, value: Any) -> str:
    """A stored value as the text its input shows."""
    if value is None:
        return ""
    if f.kind == "lines":
        return "\n".join(str(v) for v in value) if isinstance(value, list) else str(value)
    if f.kind == "hours":
        return ", ".join(f"{a}-{b}" for a, b in value) if isinstance(value, list) else str(value)
    if f.kind == "bool":
        return "1" if value else "0"
    if f.kind == "minutes" and isinstance(value, (int, float)):
        return _num(value)
    return str(value)


def _lines(f: Field, raw: str) -> list[str]:
    items = [ln.strip() for ln in raw.replace("\r\n", "\n").split("\n") if ln.strip()]
    seen: dict[str, int] = {}
    for no, item in enumerate(items, 1):
        key = item.lower()
        if key in seen:
            raise FieldError(f"\u201c{item}\u201d is listed twice (lines {seen[key]} and {no}): each {f.item} once.")
        seen[key] = no
        if f.domain and not DOMAIN_RE.match(key):
            raise FieldError(f"\u201c{item}\u201d is not a domain: write it like shop.example, without "
                             "https:// or a path.")
    if f.domain:
        items = [i.lower() for i in items]
    if len(items) < f.min_items:
        raise FieldError(f"Needs at least {f.min_items} {f.item}.")
    return items


def _minutes(f: Field, raw: str) -> Any:
    text = raw.strip()
    if not text:
        if f.required:
            raise FieldError("Required: a number of minutes.")
        return REMOVE
    try:
        value = float(text)
    except ValueError:
        raise FieldError(f"\u201c{text}\u201d is not a number of minutes.") from None
    if not 0 < value <= MAX_MINUTES:
        raise FieldError(f"Must be more than 0 and at most {MAX_MINUTES} minutes (a week).")
    return int(value) if value.is_integer() else value


def _hours(raw: str) -> list[list[str]]:
    out = []
    for part in [p.strip() for p in raw.split(",") if p.strip()]:
        m = RANGE_RE.match(part)
        if not m:
            raise FieldError(f"\u201c{part}\u201d is not HH:MM-HH:MM (24-hour clock, e.g. 08:00-20:00).")
        start, end = part.split("-", 1) if "-" in part else part.split("–", 1)
        start, end = start.strip(), end.strip()
        if end != "24:00" and end <= start:
            raise FieldError(f"\u201c{part}\u201d closes before it opens.")
        out.append([start, end])
    return out


def _zone(raw: str) -> Any:
    text = raw.strip()
    if not text:
        return REMOVE
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise FieldError(f"\u201c{text}\u201d is not a known time zone (try Europe/London or "
                         "America/New_York).") from None
    return text


def _text(f: Field, raw: str) -> Any:
    text = raw.replace("\r\n", "\n").strip()
    if not text:
        if f.required:
            raise FieldError("Required: this cannot be empty.")
        return "" if f.id == "signature.default" else REMOVE
    if f.max_len and len(text) > f.max_len:
        raise FieldError(f"At most {f.max_len} characters (this is {len(text)}).")
    if f.min_len and len(text) < f.min_len:
        raise FieldError(f"At least {f.min_len} characters (this is {len(text)}).")
    return text


def parse(f: Field, raw: str) -> Any:
    """The value to store for a form text, or REMOVE; raises FieldError naming the rule that was broken."""
    if f.kind == "lines":
        items = _lines(f, raw)
        return REMOVE if not items and not f.required else items
    if f.kind == "minutes":
        return _minutes(f, raw)
    if f.kind == "hours":
        return _hours(raw)
    if f.kind == "zone":
        return _zone(raw)
    if f.kind == "bool":
        return raw.strip() in ("1", "on", "true", "yes")
    if f.kind == "select":
        text = raw.strip()
        if not text and not f.required:
            return REMOVE
        if text not in f.choices:
            raise FieldError(f"Choose one of: {', '.join(f.choices)}.")
        return text
    return _text(f, raw)


def diff_labels() -> dict[str, str]:
    """Field names for the history's field-by-field diff ("Banned phrases", "Response targets on X · Every post")."""
    plain = {"Voice and signature", "Words and links", "Language model"}
    out = {f.id: f.label if f.group in plain else f"{f.group} · {f.label}" for f in FIELDS}
    out.update({"sla.business_hours": "Business hours", "llm.examples": "Example posts and replies",
                "pack.description": "Description"})
    return out
