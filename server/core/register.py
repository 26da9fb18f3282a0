"""The register of a reply: formal wording (no contractions, no exclamation marks, no emoji, no casual words) and
the agent's signature in the pack's format.

Kept apart from the playbook engine because both are plain text transforms with their own tables, used by the
engine and by the console's preview alike. Pure: no I/O, no state.
"""
from __future__ import annotations

import re

_CONTRACTIONS = {
    "i'm": "I am", "i've": "I have", "i'll": "I will", "i'd": "I would", "you're": "you are", "you've": "you have",
    "you'll": "you will", "you'd": "you would", "we're": "we are", "we've": "we have", "we'll": "we will",
    "we'd": "we would", "they're": "they are", "they've": "they have", "they'll": "they will", "it's": "it is",
    "that's": "that is", "there's": "there is", "here's": "here is", "what's": "what is", "who's": "who is",
    "let's": "let us", "can't": "cannot", "won't": "will not", "shan't": "shall not", "don't": "do not",
    "doesn't": "does not", "didn't": "did not", "isn't": "is not", "aren't": "are not", "wasn't": "was not",
    "weren't": "were not", "hasn't": "has not", "haven't": "have not", "hadn't": "had not",
    "shouldn't": "should not", "wouldn't": "would not", "couldn't": "could not", "mustn't": "must not",
    "he's": "he is", "she's": "she is", "it'll": "it will", "that'll": "that will",
}
_CONTRACTION_RE = re.compile(r"\b(" + "|".join(re.escape(k) for k in _CONTRACTIONS) + r")\b", re.IGNORECASE)
_FORMAL_WORDS = [
    (re.compile(r"^(Hi|Hey|Hello there)\b"), "Hello"),
    (re.compile(r"\bThanks so much\b"), "Thank you very much"),
    (re.compile(r"\bThanks\b"), "Thank you"),
    (re.compile(r"\bthanks\b"), "thank you"),
    (re.compile(r"^Aw, "), ""),
    (re.compile(r"\bsort (it|this) out\b"), r"resolve \1"),
    (re.compile(r"\bgets sorted\b"), "is resolved"),
    (re.compile(r"\bget this moving\b"), "progress this"),
    (re.compile(r"\bI'?m on it\b|\bI am on it\b"), "I am handling this"),
    (re.compile(r"\bleave it with me\b", re.IGNORECASE), "I will take care of this"),
    (re.compile(r"\bright now\b"), "now"),
    (re.compile(r"\bchasing\b"), "following up"),
    (re.compile(r"\bTalk soon\.?"), "Kind regards."),
    (re.compile(r"\bthey will be thrilled\b"), "they will be delighted"),
    (re.compile(r"\bokay\b"), "acceptable"),
]
_EMOJI_RE = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200d]+")
_SIG_CORE = re.compile(r"^[\s\^/\-~–—*]+|[\s]+$")


def format_signature(raw: str | None, fmt: str, default: str = "") -> str:
    """The agent's signature in the pack's format: '^KM' with format '-{name}' becomes '-KM'.

    A signature may be given as initials ('KM', '^KM', '/KM') or a name ('Kate', '-Kate Mink'); the format may use
    {initials} and {name}. When only initials are known, {name} uses them too.
    """
    source = (raw or "").strip() or (default or "").strip()
    if not source:
        return ""
    core = _SIG_CORE.sub("", source)
    if not core:
        return source
    if re.fullmatch(r"[A-Z]{1,4}", core):
        initials, name = core, core
    else:
        words = [w for w in re.split(r"\s+", core) if w]
        initials = "".join(w[0].upper() for w in words if w[0].isalpha())[:4] or core[:4]
        name = core
    try:
        out = fmt.format(initials=initials, name=name)
    except (KeyError, IndexError, ValueError):
        out = source
    return out.strip()[:40]


def formalize(text: str, extra: dict[str, str] | None = None) -> str:
    """Formal register: no contractions, no exclamation marks, no emoji, no casual words."""
    text = text.replace("’", "'")

    def expand(m: re.Match[str]) -> str:
        word = m.group(1)
        full = _CONTRACTIONS[word.lower()]
        if word[0].isupper() and full[0].islower():
            full = full[0].upper() + full[1:]
        return full

    text = _CONTRACTION_RE.sub(expand, text)
    for rx, repl in _FORMAL_WORDS:
        text = rx.sub(repl, text)
    for old, new in (extra or {}).items():
        text = re.sub(re.escape(old), new, text, flags=re.IGNORECASE)
    text = _EMOJI_RE.sub("", text)
    text = re.sub(r"!+", ".", text)
    text = re.sub(r"\.\s*\.", ".", text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    return text[:1].upper() + text[1:] if text and text[0].isalpha() else text

