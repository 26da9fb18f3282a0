"""The offline playbook engine: a personal, empathetic, useful reply from the pack's templates, with no network.

A reply is built from sentences in the order good social care asks for them:

    acknowledge (names the customer) -> follow-up on the thread -> empathy (in proportion to severity)
    -> next step (what happens and when; or a known answer from the pack's FAQ) -> move private details to DM
    -> closing -> required phrases -> signature

Only the acknowledgement, the next step, the DM request and required phrases are essential; the others are
dropped, least important first, until the reply fits the channel (X: 280 weighted characters as X counts them).

Wording varies: each sentence is chosen among the pack's variants with a hash of (platform, post_id, text,
variant), so the same post always gets the same reply, different posts get different wordings, and
`options["variant"]` (Regenerate) picks another. The module is pure: no I/O, no state.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from server.core.tone import weighted_length

# Words of an apology: the reply makes one, not two in a row.
APOLOGY = ("sorry", "apologi")
# Sentence kinds dropped to make room, first to last. Everything not listed here is essential.
DROP_ORDER = ("emoji", "lighthearted", "closing", "warm", "empathy", "follow_up")
# How specific a placeholder is: a reply about "the refund we promised" beats "order 123" beats "the mixer".
ENTITY_RANK = {"promise": 3, "order": 2, "ref": 2, "flight": 2, "product": 1}
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

UPSET_SENTIMENT = -0.25  # VADER compound at or below which a question or request reads as upset
DEFAULT_ADVICE = {
    "abuse": "Hostile post: consider not engaging. If you reply, keep it short, calm and passive.",
    "spam": "Looks like spam: no reply recommended.",
}
FALLBACK_SENTENCE = {
    "acknowledge": "Hi {name}, thanks for getting in touch.",
    "next_step": "I'm looking into this now and will get back to you {eta}.",
    "dm_prompt": "Please {dm} so we can help.",
}

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
_URLISH = re.compile(r"://|\w\.[a-z]{2,}", re.IGNORECASE)
_EMOJI_RE = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200d]+")
_SIG_CORE = re.compile(r"^[\s\^/\-~–—*]+|[\s]+$")


@dataclass
class Sentence:
    kind: str
    text: str


def _data(pack: Any) -> dict[str, Any]:
    return pack.data if hasattr(pack, "data") else dict(pack)


def _hash(*parts: Any) -> int:
    h = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(h.digest(), "big")


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


def measure(text: str, channel: dict[str, Any]) -> int:
    """Length as the platform counts it: X weighs emoji/CJK as 2 and URLs as 23 (twitter-text's own rules)."""
    if channel.get("counting") == "twitter":
        return weighted_length(text)
    return len(text)


def fits(text: str, channel: dict[str, Any], limit: int) -> bool:
    """measure(text) <= limit, skipping the exact count (about 1 ms) when even the worst case fits."""
    if channel.get("counting") == "twitter" and 2 * len(text) <= limit and not _URLISH.search(text):
        return True  # every character weighs at most 2; only URLs can weigh more than that
    return measure(text, channel) <= limit


def _context(post: dict[str, Any], analysis: dict[str, Any], data: dict[str, Any], intent: str,
             severity: str) -> dict[str, str]:
    """Values for the template placeholders; entity keys are absent when the post gives none."""
    style = data.get("style") or {}
    meta = data.get("pack") or {}
    platform = post.get("platform") or "x"
    channel = (data.get("channels") or {}).get(platform) or {}
    cfg = data["intents"][intent]
    ents = analysis.get("entities") or {}
    handle = analysis.get("handle") or (post.get("author") or {}).get("handle")
    at_handle = f"@{handle}" if handle and platform == "x" else None  # Facebook names are not @-addressable
    name = analysis.get("name") or at_handle or style.get("name_fallback", "there")
    eta = (cfg.get("eta_severity") or {}).get(severity) or cfg.get("eta") or "today"
    echo = style.get("echo_references", True)
    ctx = {
        "name": name, "brand": str(meta.get("brand", "")), "eta": eta,
        "dm": channel.get("dm_phrase") or "send us a private message",
    }
    if not analysis.get("name") and not at_handle:
        ctx["_no_name"] = "1"
    refs: list[str] = []
    if echo and ents.get("orders"):
        ctx["order"] = f"order {ents['orders'][0]}"
        refs.append(ctx["order"])
    if echo and ents.get("tickets"):
        refs.append(f"ticket {ents['tickets'][0]}")
    if echo and ents.get("bookings"):
        refs.append(f"booking {ents['bookings'][0]}")
    if ents.get("flights"):
        ctx["flight"] = f"flight {ents['flights'][0]}"
        refs.append(ctx["flight"])
    if refs:
        ctx["ref"] = refs[0]
    if ents.get("products"):
        ctx["product"] = ents["products"][0]
    has_ref = bool(ents.get("orders") or ents.get("tickets") or ents.get("bookings"))
    ctx["details"] = (style.get("details_known", "the email address on your order") if has_ref
                      else style.get("details_missing", "your order number"))
    promise = (analysis.get("thread_summary") or {}).get("brand_promise")
    if promise:
        ctx["promise"] = promise
    return ctx


def _fill(template: str, ctx: dict[str, str]) -> str | None:
    """The template with its placeholders filled, or None when it needs a value this post does not have."""
    missing = False
    if ctx.get("_no_name") and "{name}" in template and not re.search(r"\b(Hi|Hello|Dear|Hey) \{name\}", template):
        # No real name to use: "{name}, I'm sorry." -> "I'm sorry."; "Thank you, {name}!" -> "Thank you!"
        template = re.sub(r"^\{name\},\s*", "", template)
        template = re.sub(r",?\s*\{name\}(?=[.!?,;])", "", template)
        template = template[:1].upper() + template[1:]

    def sub(m: re.Match[str]) -> str:
        nonlocal missing
        if m.group(1) in ctx:
            return ctx[m.group(1)]
        missing = True
        return ""

    out = PLACEHOLDER.sub(sub, template)
    return None if missing else out


def _specificity(template: str) -> int:
    return max((rank for key, rank in ENTITY_RANK.items() if "{" + key + "}" in template), default=0)


class _Chooser:
    """Deterministic choice among variants: a hash of the post and the variant, per slot."""

    def __init__(self, post: dict[str, Any], variant: int, banned: list[str]) -> None:
        self.key = (post.get("platform"), post.get("post_id") or "", post.get("text") or "")
        self.variant = variant
        self.banned = [b.lower() for b in banned if b]

    def clean(self, text: str) -> bool:
        low = text.lower()
        return not any(b in low for b in self.banned)

    def pick(self, slot: str, templates: list[str], ctx: dict[str, str], *, rotate: bool = False,
             prefer: str | None = None, shortest: bool = False, avoid: tuple[str, ...] = ()) -> str | None:
        """One filled template; `prefer` is 'specific' (names the order/product) or 'generic'; templates that
        contain an `avoid` word lose to those that do not (one apology reads sincere, two read scripted)."""
        filled = [(t, f) for t in templates if (f := _fill(t, ctx)) is not None and self.clean(f)]
        if avoid:
            filled = [(t, f) for t, f in filled if not any(a in f.lower() for a in avoid)] or filled
        if not filled:
            return None
        if prefer == "specific":
            best = max(_specificity(t) for t, _ in filled)
            filled = [(t, f) for t, f in filled if _specificity(t) == best]
        elif prefer == "generic":
            filled = [(t, f) for t, f in filled if not _specificity(t)] or filled
        if shortest:
            return min((f for _, f in filled), key=len)
        if rotate:
            idx = (_hash(*self.key, slot) + self.variant) % len(filled)
        else:
            idx = _hash(*self.key, self.variant, slot) % len(filled)
        return filled[idx][1]


def _faq_answer(data: dict[str, Any], text: str, intent: str) -> str | None:
    low = text.lower()
    for entry in data.get("faq") or []:
        if entry.get("intents") and intent not in entry["intents"]:
            continue
        if all(term.lower() in low for term in entry["match"]):
            return entry["answer"]
    return None


def _mentions_entity(text: str, ctx: dict[str, str]) -> bool:
    return any(ctx.get(k) and ctx[k] in text for k in ("order", "ref", "product", "flight"))


def _compose(post: dict[str, Any], analysis: dict[str, Any], data: dict[str, Any], options: dict[str, Any],
             style_opt: str | None, shortest: bool = False) -> list[Sentence]:
    intent = analysis.get("intent") if analysis.get("intent") in data["intents"] else "question"
    severity = analysis.get("severity") or "normal"
    cfg = data["intents"][intent]
    style = data.get("style") or {}
    meta = data.get("pack") or {}
    tone = data.get("tone") or {}
    ctx = _context(post, analysis, data, intent, severity)
    chooser = _Chooser(post, int(options.get("variant") or 0), tone.get("banned_phrases") or [])
    formal = style_opt == "more formal" or meta.get("formality") == "formal"
    cues = set(analysis.get("cues") or [])
    out: list[Sentence] = []

    def add(kind: str, text: str | None) -> None:
        if text:
            out.append(Sentence(kind, text))

    # A customer chasing an earlier answer is acknowledged by that: the follow-up line is the acknowledgement
    # (it names them), instead of a second apology after the first.
    follow = chooser.pick("follow_up", cfg["follow_up"], ctx, prefer="specific") \
        if "follow_up" in cues and cfg.get("follow_up") else None
    ack = follow or chooser.pick("acknowledge", cfg["acknowledge"], ctx, rotate=True, shortest=shortest)
    add("acknowledge", ack or _fill(FALLBACK_SENTENCE["acknowledge"], ctx))
    said_entity = _mentions_entity(ack or "", ctx)
    apologised = APOLOGY if any(a in (ack or "").lower() for a in APOLOGY) else ()
    # Questions and requests get empathy only when the customer is upset; problems always do.
    calm = intent in ("question", "request", "praise") and severity in ("low", "normal") and \
        float(analysis.get("sentiment") or 0.0) > UPSET_SENTIMENT
    if intent not in ("abuse", "spam"):
        empathy = (cfg.get("empathy") or {}).get(severity) or []
        if empathy and not calm:
            add("empathy", chooser.pick("empathy", empathy, ctx, shortest=shortest, avoid=apologised))
        if style_opt == "warmer" and cfg.get("warm"):
            add("warm", chooser.pick("warm", cfg["warm"], ctx))
        if analysis.get("lighthearted") and not formal and cfg.get("lighthearted"):
            add("lighthearted", chooser.pick("lighthearted", cfg["lighthearted"], ctx))

    answer = _faq_answer(data, post.get("text") or "", intent)
    if answer and chooser.clean(answer):
        add("next_step", _fill(answer, ctx) or answer)
    else:
        prefer = "generic" if said_entity else "specific"
        step = chooser.pick("next_step", cfg["next_step"], ctx, prefer=prefer, shortest=shortest)
        add("next_step", step or _fill(FALLBACK_SENTENCE["next_step"], ctx))

    dm_mode = cfg.get("dm", "if_private")
    if dm_mode == "always" or (dm_mode == "if_private" and analysis.get("private_data_in_post")):
        prompt = chooser.pick("dm_prompt", cfg.get("dm_prompt") or [], ctx, shortest=shortest)
        add("dm_prompt", prompt or _fill(FALLBACK_SENTENCE["dm_prompt"], ctx))

    closings = cfg.get("closing") or []
    if style_opt == "warmer" and cfg.get("warm_closing"):
        closings = cfg["warm_closing"]
    elif style_opt == "more formal" and style.get("formal_closing") and meta.get("formality") != "formal":
        closings = style["formal_closing"]
    if closings and intent not in ("abuse", "spam"):
        add("closing", chooser.pick("closing", closings, ctx))

    if (meta.get("emoji") and analysis.get("lighthearted") and intent == "praise" and not formal
            and style.get("emoji")):
        add("emoji", style["emoji"][_hash(*chooser.key, chooser.variant, "emoji") % len(style["emoji"])])

    if formal or style.get("contractions") is False:
        extra = style.get("formal_replacements") or {}
        for s in out:
            if s.kind != "emoji":
                s.text = formalize(s.text, extra)
        out = [s for s in out if s.kind != "emoji"]
    return out


def _one_exclamation(text: str) -> str:
    """At most one exclamation mark: a pile of them reads as over the top."""
    first = text.find("!")
    if first < 0:
        return text
    return text[: first + 1] + text[first + 1:].replace("!", ".")


def _render(sentences: list[Sentence], required: list[str], signature: str) -> str:
    parts: list[str] = []
    for s in sentences:
        if s.kind == "emoji" and parts:
            parts[-1] = parts[-1] + " " + s.text
        else:
            parts.append(s.text)
    body = _one_exclamation(" ".join(parts))
    for phrase in required:
        if phrase and phrase.lower() not in body.lower():
            body = f"{body} {phrase}" + ("" if phrase.endswith((",", ".", "!", "?")) else ",")
    if signature:
        body = f"{body} {signature}"
    return re.sub(r"\s{2,}", " ", body).strip()


def _fit(sentences: list[Sentence], required: list[str], signature: str, channel: dict[str, Any],
         drop: tuple[str, ...] = (), droppable: tuple[str, ...] = DROP_ORDER) -> tuple[str, list[Sentence]]:
    """Drop optional sentences (least important first) until the reply fits the channel."""
    limit = int(channel.get("limit") or 280)
    target = min(limit, int(channel.get("recommended") or limit))
    kept = [s for s in sentences if s.kind not in drop]
    text = _render(kept, required, signature)
    for kind in droppable:
        if fits(text, channel, target):
            break
        if any(s.kind == kind for s in kept):
            kept = [s for s in kept if s.kind != kind]
            text = _render(kept, required, signature)
    return text, kept


# Asked for warmth: the warm sentence outlives the pack's generic empathy line.
WARMER_DROP_ORDER = ("emoji", "lighthearted", "closing", "empathy", "warm", "follow_up")


def _best_fit(post: dict[str, Any], analysis: dict[str, Any], data: dict[str, Any], options: dict[str, Any],
              style_opt: str | None, required: list[str], signature: str, channel: dict[str, Any],
              shortest: bool = False) -> str:
    """The fullest reply that fits: drop the nice-to-haves, then try the shortest wordings, and only then drop
    empathy; the "shorter" style drops every optional sentence from the start."""
    limit = int(channel.get("limit") or 280)
    target = min(limit, int(channel.get("recommended") or limit))
    normal = _compose(post, analysis, data, options, style_opt, shortest=shortest)
    short = normal if shortest else None
    forced = DROP_ORDER if style_opt == "shorter" else ()
    order = WARMER_DROP_ORDER if style_opt == "warmer" else DROP_ORDER
    fallback: str | None = None
    for stage in range(4):
        if stage % 2 and short is None:
            short = _compose(post, analysis, data, options, style_opt, shortest=True)
        sentences = short if stage % 2 else normal
        droppable = order[:4] if stage < 2 else order
        text, kept = _fit(sentences, required, signature, channel, drop=forced, droppable=droppable)
        if fits(text, channel, target):
            return text
        if fallback is None and fits(text, channel, limit):
            fallback = text
    if fallback is not None:
        return fallback
    while len(kept) > 1:  # a pathological pack: keep the acknowledgement and the next step at least
        kept = kept[:-1] if kept[-1].kind != "next_step" else kept[:-2] + kept[-1:]
        text = _render(kept, required, signature)
        if fits(text, channel, limit):
            return text
    budget = limit - measure(" " + signature, channel) - 1
    body = ""
    for word in text.split(" "):
        if measure(body + " " + word + "…", channel) > budget:
            break
        body = (body + " " + word).strip()
    return f"{body}… {signature}".strip()


def generate(post: dict[str, Any], analysis: dict[str, Any], pack: Any, options: dict[str, Any]) -> dict[str, Any]:
    """A reply for the post: {"reply", and for abuse/spam "engage": False and "advice"}."""
    data = _data(pack)
    options = options or {}
    platform = post.get("platform") if post.get("platform") in (data.get("channels") or {}) else "x"
    channel = data["channels"][platform]
    sig_cfg = data.get("signature") or {}
    signature = format_signature(options.get("signature"), sig_cfg.get("format", "{name}"), sig_cfg.get("default", ""))
    if not sig_cfg.get("required", True) and not options.get("signature") and not sig_cfg.get("default"):
        signature = ""
    required = list((data.get("tone") or {}).get("required_phrases") or [])
    style_opt = options.get("style")
    post = {**post, "platform": platform}

    text = _best_fit(post, analysis, data, options, style_opt, required, signature, channel)
    if style_opt == "shorter":
        normal = _best_fit(post, analysis, data, options, None, required, signature, channel)
        if measure(text, channel) >= measure(normal, channel):
            text = _best_fit(post, analysis, data, options, style_opt, required, signature, channel, shortest=True)

    intent = analysis.get("intent")
    cfg = data["intents"].get(intent) or {}
    result: dict[str, Any] = {"reply": text}
    engage = cfg.get("engage")
    if engage is None and intent in ("abuse", "spam"):
        engage = False
    if engage is not None:
        result["engage"] = bool(engage)
    advice = cfg.get("advice") or (DEFAULT_ADVICE.get(intent) if engage is False else None)
    if "prompt_injection" in set(analysis.get("cues") or []):
        advice = ((advice + " ") if advice else "") + \
            "The post tries to instruct the assistant (prompt injection): ignore its instructions."
    if advice:
        result["advice"] = advice
    return result
