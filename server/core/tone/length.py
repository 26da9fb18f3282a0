"""Length on X: the weighted count of twitter-text (URLs 23, emoji and CJK 2), made fast.

`twitter_text.parse_tweet` is exact but slow (its URL and emoji regexes dominate); the check runs per keystroke, so
this counts the same way but runs the URL extractor only when a dotted word exists and the emoji regex only over
runs of characters an emoji can be made of. A test compares the two over many drafts.
"""
from __future__ import annotations

import re
import re._parser as _sre_parse
import unicodedata
from typing import Any

from twitter_text.config import config as _tt_config
from twitter_text.extract_urls import extract_urls_with_indices
from twitter_text.regexp.emoji import emoji as _EMOJI_RE

_TT = _tt_config["defaults"]
_TT_RANGES = tuple((r["start"], r["end"], r["weight"]) for r in _TT["ranges"])


def _emoji_alphabet() -> re.Pattern[str]:
    """A regex for runs of the characters twitter-text's emoji regex can match, read from that regex itself
    (so a library update cannot leave us behind). Outside such runs there is no emoji to look for."""
    cps: set[int] = set()

    def walk(items: Any) -> None:
        for op, av in items:
            name = str(op)
            if name == "LITERAL":
                cps.add(av)
            elif name == "IN":
                for o, a in av:
                    if str(o) == "LITERAL":
                        cps.add(a)
                    elif str(o) == "RANGE":
                        cps.update(range(a[0], a[1] + 1))
                    else:  # a category or negation: give up on narrowing, look everywhere
                        cps.update(range(0x80, 0x110000))
            elif name == "BRANCH":
                for branch in av[1]:
                    walk(branch)
            elif name == "SUBPATTERN":
                walk(av[3])
            elif name in ("MAX_REPEAT", "MIN_REPEAT"):
                walk(av[2])
            else:
                cps.update(range(0x80, 0x110000))

    walk(_sre_parse.parse(_EMOJI_RE.pattern, _EMOJI_RE.flags))
    ranges: list[list[int]] = []
    for cp in sorted(cps):
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    cls = "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)
    return re.compile(f"[{cls}]+")


_EMOJI_RUN_RE = _emoji_alphabet()
_CRLF_RE = re.compile(r"\r\n|\r")
_MAYBE_URL_RE = re.compile(r"[^\s.]\.[^\s.]")


def _char_weight(ch: str) -> int:
    cp = ord(ch)
    for start, end, weight in _TT_RANGES:
        if start <= cp <= end:
            return weight
    return _TT["default_weight"]


def emoji_spans(text: str) -> dict[int, int]:
    """Emoji sequences as start -> end, running twitter-text's (slow) emoji regex only where one can be."""
    spans: dict[int, int] = {}
    for run in _EMOJI_RUN_RE.finditer(text):
        if run.group(0).isascii():
            continue  # digits, # and * alone are never an emoji
        base = run.start()
        for m in _EMOJI_RE.finditer(run.group(0)):
            spans[base + m.start()] = base + m.end()
    return spans


def weighted_length(text: str) -> int:
    """X's weighted length (URLs 23, emoji and CJK 2), as `twitter_text.parse_tweet(text).weightedLength` counts
    it (a test compares them over many drafts), several times faster."""
    return weigh(text, 280)[0]


def weigh(text: str, limit: int, emojis: dict[int, int] | None = None) -> tuple[int, int]:
    """(weighted length, index in `text` where the count first passes `limit`, or len(text) if it never does).

    The index is exact for NFC text with no CR characters, which is what browsers hand us; otherwise approximate.
    `emojis`: `emoji_spans(text)` when the caller has it already (the emoji regex is the slow part).
    """
    norm = _CRLF_RE.sub("\n", unicodedata.normalize("NFC", text))
    if norm != text:
        emojis = None  # spans of the text, not of its normalized form
    scale = _TT["scale"]
    # twitter-text's URL extraction is the slowest step; every URL it finds has a dot inside a word.
    urls = {u["indices"][0]: u["indices"][1] for u in extract_urls_with_indices(norm)} \
        if _MAYBE_URL_RE.search(norm) else {}
    if emojis is None:
        emojis = emoji_spans(norm) if not norm.isascii() else {}
    url_weight = _TT["transformed_url_length"] * scale
    emoji_weight = _TT["default_weight"]
    cap = limit * scale
    if not urls and not emojis and (norm.isascii() or max(norm) < "\u1100"):
        total = 100 * len(norm)  # every character weighs 100: the count is the length (most drafts)
        return total // scale, min(cap // 100, len(text)) if total > cap else len(text)
    total = 0
    over_at = -1
    i = 0
    n = len(norm)
    while i < n:
        if i in urls:
            total += url_weight
            nxt = urls[i]
        elif i in emojis:
            total += emoji_weight
            nxt = emojis[i]
        else:
            ch = norm[i]
            total += 100 if ch < "\u1100" else _char_weight(ch)
            nxt = i + 1
        if over_at < 0 and total > cap:
            over_at = i
        i = nxt
    return total // scale, min(over_at, len(text)) if over_at >= 0 else len(text)

