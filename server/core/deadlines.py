"""Time pressure in words: the deadline a customer states ("my flight leaves in 2 hours", "the wedding is
tomorrow") and the time a reply promises ("within the hour", "within 24 hours"), both in minutes from now.

The reply writer picks a promise that fits inside the customer's deadline; the tone check flags one that does
not. Pure and approximate on purpose: "tomorrow" is a day away, "tonight" a few hours, never a clock reading.
"""
from __future__ import annotations

import re

_NUM = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "half an": 0.5,
        "a couple of": 2, "couple of": 2, "a few": 3, "few": 3, "un": 1, "une": 1, "dos": 2, "deux": 2, "tres": 3,
        "trois": 3}
_UNIT = {"min": 1, "minute": 1, "minutes": 1, "mins": 1, "hour": 60, "hours": 60, "hr": 60, "hrs": 60, "h": 60,
         "day": 1440, "days": 1440, "minuto": 1, "minutos": 1, "hora": 60, "horas": 60, "heure": 60, "heures": 60,
         "jour": 1440, "jours": 1440, "día": 1440, "días": 1440, "dias": 1440}
_AMOUNT = (r"(\d+(?:[.,]\d+)?|half an|a couple of|couple of|a few|few|an?|one|two|three|four|five|six"
           r"|un|une|dos|deux|tres|trois)")
_UNITS = r"(minutes?|mins?|hours?|hrs?|h|days?|minutos?|horas?|heures?|jours?|d[ií]as?)"
# "in 2 hours", "leaves in 90 mins", "only 40 minutes left", "en 2 horas", "dans 3 heures"
_IN = re.compile(rf"\b(?:in|within|en|dans|only|just|under|less than)\s+(?:the\s+next\s+)?{_AMOUNT}\s*{_UNITS}\b"
                 rf"|\b{_AMOUNT}\s*{_UNITS}\s+(?:left|to go|away|from now|before|until)\b", re.I)
_WORDS: tuple[tuple[re.Pattern[str], float], ...] = (
    (re.compile(r"\b(?:right now|asap|immediately|urgent(?:ly)?|boarding now|at the gate now)\b", re.I), 30),
    (re.compile(r"\b(?:tonight|this (?:evening|afternoon|morning)|ce soir|esta noche|later today)\b", re.I), 240),
    (re.compile(r"\b(?:today|hoy|aujourd'hui)\b", re.I), 480),
    (re.compile(r"\b(?:tomorrow|mañana|manana|demain)\b", re.I), 1440),
    (re.compile(r"\b(?:this weekend|on (?:saturday|sunday)|this (?:saturday|sunday))\b", re.I), 2880),
)
# What a customer's deadline is about, so the words alone do not count ("I ordered it today" is no deadline).
_PRESSURE = re.compile(r"\b(?:flight|fly|flying|leave|leaves|leaving|depart|departs|departure|board|boarding|gate|"
                       r"wedding|birthday|party|funeral|event|interview|trip|holiday|need|needs|needed|must|have to|"
                       r"has to|deadline|before|by|until|left|due|starts?|vuelo|boda|necesito|vol|mariage|besoin)\b",
                       re.I)


def _amount(raw: str) -> float:
    raw = raw.lower().replace(",", ".")
    return float(raw) if raw[0].isdigit() else float(_NUM.get(raw, 1))


def stated_deadline(text: str) -> float | None:
    """Minutes until the deadline the customer states, or None when they state none."""
    if not text:
        return None
    found: list[float] = []
    for m in _IN.finditer(text):
        amount, unit = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        found.append(_amount(amount) * _UNIT.get(unit.lower(), 60))
    if not found and _PRESSURE.search(text):
        for rx, minutes in _WORDS:
            if rx.search(text):
                found.append(minutes)
                break
    return min(found) if found else None


# Promises a reply can make, with how long each allows (minutes). Longest phrases first so "within the hour"
# is not read as "hour".
_PROMISE: tuple[tuple[re.Pattern[str], float], ...] = (
    (re.compile(r"\bwithin (?:the next )?24 hours\b|\bwithin a day\b|\bby tomorrow\b|\bupdate you tomorrow\b",
                re.I), 1440),
    (re.compile(r"\bwithin (?:the next )?48 hours\b|\bwithin 2 days\b", re.I), 2880),
    (re.compile(r"\b(?:within|in) (?:the next )?(\d+) (?:business |working )?days?\b", re.I), -1440),
    (re.compile(r"\b(?:within|in) (?:the next )?(\d+) hours?\b", re.I), -60),
    (re.compile(r"\b(?:within|in) (?:the next )?(\d+) minutes?\b", re.I), -1),
    (re.compile(r"\bwithin the hour\b|\bwithin an hour\b", re.I), 60),
    (re.compile(r"\b(?:later )?today\b|\bby the end of the day\b|\bthis (?:afternoon|evening)\b", re.I), 480),
    (re.compile(r"\bthis week\b|\bin a few days\b", re.I), 7200),
)


def promised_minutes(text: str) -> list[tuple[tuple[int, int], float]]:
    """Each time the draft promises (its span, and how many minutes it allows)."""
    out: list[tuple[tuple[int, int], float]] = []
    taken: list[tuple[int, int]] = []
    for rx, minutes in _PROMISE:
        for m in rx.finditer(text):
            if any(s <= m.start() < e for s, e in taken):
                continue
            value = float(m.group(1)) * -minutes if minutes < 0 else minutes
            taken.append(m.span())
            out.append((m.span(), value))
    return sorted(out)


# The promises the writer may choose from, shortest first: (minutes, wording). Languages override the wording
# through the pack's phrases (eta_15, eta_30, ...).
ETA_STEPS: tuple[tuple[int, str], ...] = (
    (15, "within 15 minutes"), (30, "within 30 minutes"), (60, "within the hour"), (120, "within 2 hours"),
    (480, "today"), (1440, "within 24 hours"),
)


def eta_within(deadline: float, wanted: float | None = None) -> tuple[int, str]:
    """The promise that leaves the customer time to act: at most half the time they have (15 minutes at least),
    and never longer than the one the playbook wanted."""
    budget = max(15.0, deadline / 2)
    best = ETA_STEPS[0]
    for step in ETA_STEPS:
        if step[0] <= budget and (wanted is None or step[0] <= wanted):
            best = step
    return best
