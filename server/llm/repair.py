"""Deterministic repairs of a model's reply: what can be fixed without asking the model again is fixed here.

Models, local ones above all, wrap a good reply in a preamble ("Here's a reply:"), in quotes, in stray
whitespace, sign it `^AI` (they cannot know the agent's initials) or not at all, or run past the channel limit by
half a sentence. None of that is a content problem, and asking the model again costs a second call and usually
gets the same. So the reply is tidied first and only what is left (private data, a leak, a role break, a banned
phrase, a wrong fact) goes back to the model. The signature is never evidence of anything: the agent's own is put
in place whatever the model wrote, and hijack detection rests on the content checks in `guard`.

Pure: no I/O, no state.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

_PREAMBLE = re.compile(
    r"^\s*(?:\*\*|__)?(?:(?:sure|okay|ok|certainly|of course)[,!.]?\s*)?"
    r"(?:here(?:'s| is)\s+(?:a|the|my|your|an)?\s*(?:possible|suggested|draft|revised|new|fixed|short|polite|"
    r"friendly|professional)?\s*(?:reply|response|answer|tweet|message)(?:\s+(?:to|for)\b[^:\n]{0,60})?"
    r"|(?:suggested|draft|revised|final|proposed)?\s*(?:reply|response|answer))\s*(?:\*\*|__)?\s*[:\-\u2013]"
    r"\s*(?:\*\*|__)?\s*",
    re.IGNORECASE)
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "\u00ab": "\u00bb", "\u201e": "\u201c"}
# A trailing signature the model made up: caret initials (^AI), a placeholder ([Your name]), or a dash/tilde name.
_CARET_SIG = re.compile(r"\s*\^[A-Za-z]{1,4}\.?\s*$")
_PLACEHOLDER_SIG = re.compile(r"\s*[-\u2013\u2014~^]?\s*[\[{<(](?:your|agent'?s?)?\s*(?:name|initials|signature)"
                              r"[\]}>)]\s*$", re.IGNORECASE)
_DASH_SIG = re.compile(r"\s+[-\u2013\u2014~]\s?[A-Z][\w.]*(?:\s[A-Z][\w.]*){0,2}\s*$")
_SENTENCE_END = re.compile(r"[.!?\u2026](?:[\"')\]\u201d\u2019]*)(?=\s|$)")
Measure = Callable[[str], int]
MIN_KEPT = 0.4        # a cut reply stands when it keeps at least this share of the text and one whole sentence


@dataclass
class Tidied:
    """The tidied reply, the fixes made (named for the answer and tests), and the finish reason that still holds."""

    text: str
    fixes: list[str] = field(default_factory=list)
    finish: str | None = None


def strip_wrapping(text: str, fixes: list[str]) -> str:
    """Whitespace, a preamble and quotes around the reply (also when the signature sits outside the quotes)."""
    original = text.strip()
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if text != original:
        fixes.append("whitespace")
    m = _PREAMBLE.match(text)
    if m and m.end() < len(text):
        text = text[m.end():].lstrip()
        fixes.append("preamble")
    if len(text) >= 2 and text[0] in _QUOTES:
        close = _QUOTES[text[0]]
        end = text.rfind(close)
        tail = text[end + 1:] if end > 0 else ""
        if end > 0 and close not in text[1:end] and (not tail.strip() or re.fullmatch(
                r"\s*(?:\^\w{1,4}|[-\u2013~]\s?\w[\w ]{0,30})\s*", tail)):
            text = (text[1:end].strip() + (" " + tail.strip() if tail.strip() else "")).strip()
            fixes.append("quotes")
    return text


def _core(signature: str) -> str:
    return signature.lstrip("^-\u2013\u2014~/ ").strip()


def split_signature(text: str, signature: str, others: tuple[str, ...] = ()) -> tuple[str, bool]:
    """(the reply without any trailing signature, whether one was there). The agent's own counts as one, and so
    do `others` (the pack's default, which the worked examples use) and any made-up initials or placeholder."""
    stripped = text.rstrip()
    for sig in (signature, *others):
        if sig and stripped.endswith(sig):
            return stripped[: -len(sig)].rstrip(), True
    for sig in (signature, *others):
        core = _core(sig)
        if core and len(stripped) > len(core) and stripped.lower().endswith(core.lower()):
            before = stripped[: -len(core)]
            if not before[-1].isalnum():  # "Kind regards, Skyway Care" for "-Skyway Care": without its dash
                return before.rstrip().rstrip("^-\u2013\u2014~/").rstrip(), True
    for pattern in (_PLACEHOLDER_SIG, _CARET_SIG) + ((_DASH_SIG,) if signature.startswith(("-", "~")) else ()):
        m = pattern.search(stripped)
        if m and m.start() > 0:
            return stripped[: m.start()].rstrip(), True
    return stripped, False


def cut_to_fit(body: str, room: int, size: Measure) -> str | None:
    """The body cut after its last whole sentence that fits in `room`, or None when too little would stand."""
    best = None
    for m in _SENTENCE_END.finditer(body):
        head = body[: m.end()].rstrip()
        if size(head) <= room:
            best = head
        else:
            break
    if best is None or len(best) < MIN_KEPT * len(body):
        return None
    return best


def _ends_whole(body: str) -> bool:
    return bool(re.search(r"[.!?\u2026][\"')\]\u201d\u2019]*\s*(?:[\U0001F300-\U0001FAFF\u2600-\u27BF]\s*)*$", body))


def tidy(raw: str, *, signature: str | None, limit: int, measure: Measure, finish: str | None,
         other_signatures: tuple[str, ...] = ()) -> Tidied:
    """The reply with every deterministic fix applied; content is never changed, only its wrapping and length.

    `measure` is the channel's length count (X weighs URLs and emoji). A reply the model cut at max_tokens
    (finish "length") or that runs over the limit loses its trailing part sentence by sentence, when what is left
    still stands; otherwise it is left as it is and the guard reports it.
    """
    fixes: list[str] = []
    text = strip_wrapping(raw or "", fixes)
    sig = (signature or "").strip()
    body, had = split_signature(text, sig, other_signatures) if sig else (text, False)
    size = measure
    room = limit - (size(" " + sig) if sig else 0)
    cut = finish == "length" and not _ends_whole(body)
    if cut or size(body) > room:
        shorter = cut_to_fit(body, room, measure)
        if shorter is not None and shorter != body:
            body = shorter
            fixes.append("cut_to_sentence")
            finish = "stop"
        elif finish == "length" and _ends_whole(body):
            finish = "stop"
    elif finish == "length":
        finish = "stop"  # cut after a whole sentence: only the signature was lost, and it goes back on below
    if sig:
        if not had:
            fixes.append("signature_added")
        elif not text.rstrip().endswith(sig):
            fixes.append("signature_replaced")
        text = f"{body} {sig}" if body else ""
    else:
        text = body
    return Tidied(text.strip(), fixes, finish)
