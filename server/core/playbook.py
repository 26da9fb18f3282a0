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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from server.core import grounding
from server.core.packview import Channel, PackView, view_of
from server.core.register import formalize, format_signature
from server.core.slots import GroundedSlots, agent_advice, localize_view, localized
from server.core.tone import weighted_length

# Words of an apology: the reply makes one, not two in a row.
APOLOGY = ("sorry", "apologi")
# Sentence kinds dropped to make room, first to last. Everything not listed here is essential.
DROP_ORDER = ("emoji", "lighthearted", "closing", "warm", "answer_more", "empathy", "history", "answer_fact",
              "follow_up")
# Openers that cheer or thank: wrong for an upset or sarcastic customer (the tone check flags them too).
CHEERFUL = ("great question", "good question", "happy to help", "love that", "glad you asked", "made our day")
THANKING = ("thank", "thanks")
# How specific a placeholder is: a reply about "the refund we promised" beats "order 123" beats "the mixer".
ENTITY_RANK = {"promise": 3, "order": 2, "ref": 2, "flight": 2, "product": 1}
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

UPSET_SENTIMENT = -0.25  # VADER compound at or below which a question or request reads as upset
DEFAULT_DM_PHRASE = "send us a private message"
FALLBACK_SENTENCE = {
    "acknowledge": "Hi {name}, thanks for getting in touch.",
    "next_step": "I'm looking into this now and will get back to you {eta}.",
    "dm_prompt": "Please {dm} so we can help.",
}

_URLISH = re.compile(r"://|\w\.[a-z]{2,}", re.IGNORECASE)


@dataclass
class Sentence:
    """One sentence of a reply; `kind` (acknowledge, empathy, next_step...) decides whether it may be dropped."""

    kind: str
    text: str


def _hash(*parts: Any) -> int:
    h = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(h.digest(), "big")


def measure(text: str, channel: Channel) -> int:
    """Length as the platform counts it: X weighs emoji/CJK as 2 and URLs as 23 (twitter-text's own rules)."""
    if channel.counting == "twitter":
        return weighted_length(text)
    return len(text)


def fits(text: str, channel: Channel, limit: int) -> bool:
    """measure(text) <= limit, skipping the exact count (about 1 ms) when even the worst case fits."""
    if channel.counting == "twitter" and 2 * len(text) <= limit and not _URLISH.search(text):
        return True  # every character weighs at most 2; only URLs can weigh more than that
    return measure(text, channel) <= limit


def _context(post: dict[str, Any], analysis: dict[str, Any], view: PackView, intent: str,
             severity: str) -> dict[str, str]:
    """Values for the template placeholders; entity keys are absent when the post gives none."""
    style = view.style
    platform = post.get("platform") or "x"
    cfg = view.intent(intent)
    ents = analysis.get("entities") or {}
    handle = analysis.get("handle") or (post.get("author") or {}).get("handle")
    at_handle = f"@{handle}" if handle and platform == "x" else None  # Facebook names are not @-addressable
    name = analysis.get("name") or at_handle or style.get("name_fallback", "there")
    eta = (cfg.get("eta_severity") or {}).get(severity) or cfg.get("eta") or "today"
    echo = style.get("echo_references", True)
    ctx = {
        "name": name, "brand": view.brand, "eta": eta,
        "dm": view.channel(platform).dm_phrase or DEFAULT_DM_PHRASE,
    }
    ctx["dm_cap"] = ctx["dm"][:1].upper() + ctx["dm"][1:]
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

    def __init__(self, post: dict[str, Any], variant: int, banned: Sequence[str]) -> None:
        self.key = (post.get("platform"), post.get("post_id") or "", post.get("text") or "")
        self.variant = variant
        self.banned = [b.lower() for b in banned if b]

    def clean(self, text: str) -> bool:
        low = text.lower()
        return not any(b in low for b in self.banned)

    def pick(self, slot: str, templates: Sequence[str], ctx: dict[str, str], *, rotate: bool = False,
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


def _faq_answer(faq: Sequence[Mapping[str, Any]], text: str, intent: str) -> str | None:
    """The pack's known answer whose every match term is in the post (and whose intents include this one)."""
    low = text.lower()
    for entry in faq:
        if entry.get("intents") and intent not in entry["intents"]:
            continue
        if all(term.lower() in low for term in entry["match"]):
            return entry["answer"]
    return None


def _mentions_entity(text: str, ctx: dict[str, str]) -> bool:
    return any(ctx.get(k) and ctx[k] in text for k in ("order", "ref", "product", "flight"))


@dataclass(frozen=True)
class _Request:
    """What one reply is written for: the post, its analysis, the pack and the agent's options, resolved once."""

    post: dict[str, Any]
    analysis: dict[str, Any]
    view: PackView
    options: dict[str, Any]
    style_opt: str | None
    required: tuple[str, ...]
    signature: str
    channel: Channel
    context: Mapping[str, Any] = field(default_factory=dict)  # gathered by the suggest flow (slots.py)
    phrases: Mapping[str, Sequence[str]] = field(default_factory=dict)  # the pack's and its language's frames

    @property
    def target(self) -> int:
        """The length to aim for: the channel's recommended length when it has one, never over the limit."""
        return min(self.channel.limit, int(self.channel.recommended or self.channel.limit))


class _Composer(GroundedSlots):
    """Builds the sentences of one reply, slot by slot, in the order good social care asks for them."""

    def __init__(self, req: _Request, shortest: bool) -> None:
        analysis, view = req.analysis, req.view
        self.req, self.shortest = req, shortest
        self.intent = analysis.get("intent") if analysis.get("intent") in view.intents else "question"
        self.severity = analysis.get("severity") or "normal"
        self.cfg = view.intent(self.intent)
        self.ctx = _context(req.post, analysis, view, self.intent, self.severity)
        self.chooser = _Chooser(req.post, int(req.options.get("variant") or 0), view.tone.banned_phrases)
        self.formal = req.style_opt == "more formal" or view.formality == "formal"
        self.out: list[Sentence] = []
        self.sources: list[dict[str, Any]] = []
        self.force_dm = False
        self.answered = False
        self.dm_done = False
        self.read_context()

    def add(self, kind: str, text: str | None) -> None:
        if text:
            self.out.append(Sentence(kind, text))

    def pick(self, slot: str, templates: Sequence[str], **how: Any) -> str | None:
        return self.chooser.pick(slot, templates, self.ctx, **how)

    def opening(self) -> str:
        """The acknowledgement; returns it so later slots can avoid repeating what it already said."""
        cfg = self.cfg
        # A customer chasing an earlier answer is acknowledged by that: the follow-up line is the acknowledgement
        # (it names them), instead of a second apology after the first.
        follow = self.pick("follow_up", cfg["follow_up"], prefer="specific") \
            if "follow_up" in set(self.req.analysis.get("cues") or []) and cfg.get("follow_up") else None
        analysis = self.req.analysis
        upset = self.intent in ("complaint", "outage", "legal_safety") or self.severity in ("high", "critical") or \
            float(analysis.get("sentiment") or 0.0) <= UPSET_SENTIMENT or self.deadline is not None
        avoid = (CHEERFUL if upset or analysis.get("sarcasm") else ()) + (THANKING if analysis.get("sarcasm") else ())
        ack = follow or self.pick("acknowledge", cfg["acknowledge"], rotate=True, shortest=self.shortest,
                                  avoid=avoid)
        self.add("acknowledge", ack or _fill(FALLBACK_SENTENCE["acknowledge"], self.ctx))
        return ack or ""

    def feeling(self, ack: str) -> None:
        """Empathy in proportion to severity, warmth when asked, a light line for a playful post."""
        if self.intent in ("abuse", "spam"):
            return
        cfg, analysis, style_opt = self.cfg, self.req.analysis, self.req.style_opt
        apologised = APOLOGY if any(a in ack.lower() for a in APOLOGY) else ()
        # Questions and requests get empathy only when the customer is upset; problems always do.
        calm = self.intent in ("question", "request", "praise") and self.severity in ("low", "normal") and \
            float(analysis.get("sentiment") or 0.0) > UPSET_SENTIMENT
        empathy = (cfg.get("empathy") or {}).get(self.severity) or []
        if empathy and not calm:
            self.add("empathy", self.pick("empathy", empathy, shortest=self.shortest, avoid=apologised))
        if style_opt == "warmer" and cfg.get("warm"):
            self.add("warm", self.pick("warm", cfg["warm"]))
        if analysis.get("lighthearted") and not self.formal and cfg.get("lighthearted"):
            self.add("lighthearted", self.pick("lighthearted", cfg["lighthearted"]))

    def next_step(self, ack: str) -> None:
        """An answer from the pack's knowledge, a reply the team sent, or the FAQ; else (and for a problem, also)
        what happens next and when. A question that was answered needs no promise to find out."""
        self.answered = self.knowledge() or self.memory()
        if not self.answered:
            answer = _faq_answer(self.req.view.faq, self.req.post.get("text") or "", self.intent)
            if answer and self.chooser.clean(answer):
                self.add("next_step", _fill(answer, self.ctx) or answer)
                return
        if self.answered and self.intent == "question":
            return
        if self.answered and self.intent in ("complaint", "request") and not self.shown:
            # The fact says what the customer can do; the agent's part is to check their case in DM.
            step = self.phrase("answer_then_check") if self.ctx.get("details") else None
            if step:
                self.add("next_step", step)
                self.dm_done = True
                return
        prefer = "generic" if _mentions_entity(ack, self.ctx) else "specific"
        step = self.pick("next_step", self._steps(), prefer=prefer, shortest=self.shortest)
        self.add("next_step", step or _fill(FALLBACK_SENTENCE["next_step"], self.ctx))

    def _steps(self) -> list[str]:
        """The playbook's next steps that state only what happens: escalation only when the queue escalated."""
        steps = list(self.cfg["next_step"])
        if self.req.context.get("escalated"):
            return list(self.cfg.get("next_step_escalated") or []) or steps
        return [t for t in steps if "escalat" not in t.lower()] or steps

    def dm_prompt(self) -> None:
        """Move private details to DM: always, or only when the post carries some (the pack says which)."""
        if self.dm_done or self.private_notice():
            return
        dm_mode = self.cfg.get("dm", "if_private")
        if self.answered and self.intent == "question" and not self.force_dm:
            return  # answered in public: nothing private to move
        if dm_mode == "always" or self.force_dm or (dm_mode == "if_private" and
                                                    self.req.analysis.get("private_data_in_post")):
            prompt = self.pick("dm_prompt", self.cfg.get("dm_prompt") or [], shortest=self.shortest)
            prompt = prompt or self.phrase("dm_plain", shortest=self.shortest)
            self.add("dm_prompt", prompt or _fill(FALLBACK_SENTENCE["dm_prompt"], self.ctx))

    def closing(self) -> None:
        cfg, style, style_opt = self.cfg, self.req.view.style, self.req.style_opt
        closings = cfg.get("closing") or []
        if style_opt == "warmer" and cfg.get("warm_closing"):
            closings = cfg["warm_closing"]
        elif style_opt == "more formal" and style.get("formal_closing") and self.req.view.formality != "formal":
            closings = style["formal_closing"]
        if closings and self.intent not in ("abuse", "spam"):
            self.add("closing", self.pick("closing", closings))

    def emoji(self) -> None:
        """One emoji for happy praise, when the pack allows them and the register is not formal."""
        view, style = self.req.view, self.req.view.style
        if (view.emoji and self.req.analysis.get("lighthearted") and self.intent == "praise" and not self.formal
                and style.get("emoji")):
            chooser = self.chooser
            self.add("emoji", style["emoji"][_hash(*chooser.key, chooser.variant, "emoji") % len(style["emoji"])])

    def register(self) -> list[Sentence]:
        """The sentences in the pack's register: formal ones lose contractions, casual words and emoji."""
        style = self.req.view.style
        if not (self.formal or style.get("contractions") is False):
            return self.out
        extra = style.get("formal_replacements") or {}
        for s in self.out:
            if s.kind != "emoji":
                s.text = formalize(s.text, extra)
        return [s for s in self.out if s.kind != "emoji"]


def _compose(req: _Request, shortest: bool = False) -> list[Sentence]:
    """Every sentence the reply could have; `_fit` then drops optional ones until it fits."""
    c = _Composer(req, shortest)
    ack = c.opening()
    c.history()
    c.feeling(ack)
    c.deadline_line()
    c.next_step(ack)
    c.dm_prompt()
    c.closing()
    c.emoji()
    return c.register()


def _one_exclamation(text: str) -> str:
    """At most one exclamation mark: a pile of them reads as over the top."""
    first = text.find("!")
    if first < 0:
        return text
    return text[: first + 1] + text[first + 1:].replace("!", ".")


def _render(sentences: list[Sentence], required: Sequence[str], signature: str) -> str:
    """The sentences as one reply, with the required phrases and the signature at the end."""
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


def _fit(sentences: list[Sentence], req: _Request, drop: tuple[str, ...] = (),
         droppable: tuple[str, ...] = DROP_ORDER) -> tuple[str, list[Sentence]]:
    """Drop optional sentences (least important first) until the reply fits the channel."""
    kept = [s for s in sentences if s.kind not in drop]
    text = _render(kept, req.required, req.signature)
    for kind in droppable:
        if fits(text, req.channel, req.target):
            break
        if any(s.kind == kind for s in kept):
            kept = [s for s in kept if s.kind != kind]
            text = _render(kept, req.required, req.signature)
    return text, kept


# Asked for warmth: the warm sentence outlives the pack's generic empathy line.
WARMER_DROP_ORDER = ("emoji", "lighthearted", "closing", "answer_more", "history", "empathy", "warm", "answer_fact",
                     "follow_up")


def _squeeze(kept: list[Sentence], text: str, req: _Request) -> str:
    """A pathological pack, whose essentials alone are too long: keep the acknowledgement and the next step at
    least, then cut words and mark the cut with an ellipsis before the signature."""
    channel, limit = req.channel, req.channel.limit
    while len(kept) > 1:
        kept = kept[:-1] if kept[-1].kind != "next_step" else kept[:-2] + kept[-1:]
        text = _render(kept, req.required, req.signature)
        if fits(text, channel, limit):
            return text
    budget = limit - measure(" " + req.signature, channel) - 1
    body = ""
    for word in text.split(" "):
        if measure(body + " " + word + "…", channel) > budget:
            break
        body = (body + " " + word).strip()
    return f"{body}… {req.signature}".strip()


def _best_fit(req: _Request, shortest: bool = False) -> str:
    """The fullest reply that fits: drop the nice-to-haves, then try the shortest wordings, and only then drop
    empathy; the "shorter" style drops every optional sentence from the start."""
    channel, limit, target = req.channel, req.channel.limit, req.target
    normal = _compose(req, shortest=shortest)
    short = normal if shortest else None
    forced = tuple(k for k in DROP_ORDER if k != "answer_fact") if req.style_opt == "shorter" else ()
    order = WARMER_DROP_ORDER if req.style_opt == "warmer" else DROP_ORDER
    fallback: str | None = None
    for stage in range(4):
        if stage % 2 and short is None:
            short = _compose(req, shortest=True)
        sentences = short if stage % 2 else normal
        droppable = order[:4] if stage < 2 else order
        text, kept = _fit(sentences, req, drop=forced, droppable=droppable)
        if fits(text, channel, target):
            return text
        if fallback is None and fits(text, channel, limit):
            fallback = text
    if fallback is not None:
        return fallback
    return _squeeze(kept, text, req)


def _request(post: dict[str, Any], analysis: dict[str, Any], view: PackView, options: dict[str, Any],
             context: Mapping[str, Any], phrases: Mapping[str, Sequence[str]]) -> _Request:
    """The reply's inputs resolved once: the channel (X when the pack lacks the post's), signature, phrases."""
    platform = post.get("platform") if post.get("platform") in view.channels else "x"
    sig = view.signature
    signature = format_signature(options.get("signature"), sig.format, sig.default)
    if not sig.required and not options.get("signature") and not sig.default:
        signature = ""
    return _Request(post={**post, "platform": platform}, analysis=analysis, view=view, options=options,
                    style_opt=options.get("style"), required=view.tone.required_phrases, signature=signature,
                    channel=view.channel(platform), context=context, phrases=phrases)


def generate(post: dict[str, Any], analysis: dict[str, Any], pack: Any, options: dict[str, Any],
             context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A reply for the post: {"reply", "sources", "advice"?, "engage"?, "notice"?}.

    `context` is what the suggest flow gathered (server/suggest/context.py): `articles` and `memory` that answer
    the post, the customer's `history`, whether the QueueItem is `escalated`, and `now`. A threat gets no reply."""
    context = context or {}
    view = view_of(pack)
    data = getattr(pack, "data", pack) if isinstance(getattr(pack, "data", pack), Mapping) else {}
    lang_pack, notice = localized(data, grounding.post_lang(post, analysis))
    view, phrases = localize_view(view, data, lang_pack)
    intent = analysis.get("intent") or ""
    advice = agent_advice(analysis, view.intent(intent), context)
    if intent == "threat":
        return {"reply": "", "sources": [], **advice}
    req = _request(post, analysis, view, options or {}, context, phrases)
    text = _best_fit(req)
    if req.style_opt == "shorter":
        normal = _best_fit(replace(req, style_opt=None))
        if measure(text, req.channel) >= measure(normal, req.channel):
            text = _best_fit(req, shortest=True)
    out: dict[str, Any] = {"reply": text, "sources": _sources_of(req, text), **advice}
    if notice:
        out["notice"] = notice
    return out


def _sources_of(req: _Request, text: str) -> list[dict[str, Any]]:
    """The articles and sent replies the final reply still draws on (a fact dropped to fit is no source)."""
    c = _Composer(req, shortest=False)
    c.next_step("")
    flat = text.replace("!", ".")
    used = any(s.text.replace("!", ".") in flat for s in c.register() if s.kind in ("answer", "answer_fact"))
    return c.sources if used else []


__all__ = ["generate", "measure", "fits", "formalize", "format_signature"]
