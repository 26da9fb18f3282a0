"""The reply slots that come from the post's context rather than the playbook alone (issue 14): an answer from
the pack's knowledge or from a reply the team sent before, the customer's history, their deadline, and the
private data their post shows. A mixin of the playbook's composer (playbook.py), which provides `req`, `ctx`,
`add`, `pick`, `intent`, `severity` and `sources`.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from server.core import grounding
from server.core.deadlines import eta_within, promised_minutes, stated_deadline
from server.core.packview import Channel, PackView

ANSWERING = ("question", "request", "complaint", "outage")
# How many facts of an article a reply states, by channel: X is short, Facebook has room for the context.
FACTS = {"x": 2, "facebook": 3}


def _minutes_words(minutes: float, phrases: Mapping[str, Sequence[str]]) -> str:
    """"about 2 hours", in the pack's language when its phrases say how (left_minutes, left_hours...)."""
    def say(name: str, default: str, n: int) -> str:
        return (phrases.get(name) or [default])[0].replace("{n}", str(n))
    if minutes < 90:
        return say("left_minutes", "about {n} minutes", int(round(minutes / 5) * 5) or int(minutes))
    if minutes < 1440:
        return say("left_hours", "about {n} hours", round(minutes / 60))
    if minutes <= 1440:
        return say("left_tomorrow", "until tomorrow", 1)
    return say("left_days", "about {n} days", round(minutes / 1440))


class GroundedSlots:
    """Slots grounded in the context the suggest flow gathered (`req.context`)."""

    req: Any
    ctx: dict[str, str]
    intent: str
    severity: str
    sources: list[dict[str, Any]]
    answered: bool
    chooser: Any

    def add(self, kind: str, text: str | None) -> None: ...  # the composer's
    def pick(self, slot: str, templates: Sequence[str], **how: Any) -> str | None: ...  # the composer's

    def phrase(self, name: str, **how: Any) -> str | None:
        return self.pick(name, self.req.phrases.get(name) or grounding.PHRASES.get(name) or [], **how)

    # --- before writing: what the post already says ----------------------------------------------------------
    def read_context(self) -> None:
        """Deadline, what the post shows, and what it gave, before any slot is written."""
        post, analysis = self.req.post, self.req.analysis
        text = str(post.get("text") or "")
        self.deadline = stated_deadline(text)
        if self.deadline is not None and self.severity in ("low", "normal"):
            self.severity = "high"  # a customer against the clock is more urgent than the words alone say
        if self.deadline is not None:
            wanted = [m for _, m in promised_minutes(self.ctx.get("eta", ""))]
            minutes, words = eta_within(self.deadline, max(wanted) if wanted else None)
            if not wanted or max(wanted) > minutes or max(wanted) >= self.deadline:
                self.ctx["eta"] = (self.req.phrases.get(f"eta_{minutes}") or [words])[0]
        for key in ("order", "ref", "flight"):  # "order 123" -> "pedido 123" in the pack's language
            word = (self.req.phrases.get(f"word_{key.split()[0]}") or [None])[0]
            if word and self.ctx.get(key):
                self.ctx[key] = re.sub(r"^(order|booking|ticket|flight)\b", word, self.ctx[key])
        self.shown = grounding.shown_private(post, analysis)
        ents = analysis.get("entities") or {}
        if self.ctx.get("details") and "email" in self.ctx["details"].lower() and "email" in self.shown:
            self.ctx.pop("details")  # the post gave the email (and the order): ask for nothing again
        if ents.get("orders") and ents.get("emails"):
            self.ctx.pop("details", None)

    # --- slots -------------------------------------------------------------------------------------------------
    def history(self) -> None:
        """"I can see you asked about this on Monday": when an earlier post of this customer is about the same."""
        hist = self.req.context.get("history") or []
        refs = [v for k, v in self.ctx.items() if k in ("order", "ref", "flight")]
        refs += [str(x) for x in (self.req.analysis.get("entities") or {}).get("orders") or []]
        item = grounding.related_history(hist, self.req.post, refs)
        if item is None:
            return
        now = self.req.context.get("now")
        day = grounding.day_name(item.get("created_at"), now if isinstance(now, datetime) else None)
        if not day:
            return
        self.ctx["day"] = day
        name = "history_replied" if item.get("reply") else "history_asked"
        self.add("history", self.phrase(name))

    def deadline_line(self) -> None:
        if self.deadline is None or self.intent not in ANSWERING + ("legal_safety",):
            return
        if self.deadline <= 30:
            self.add("deadline", self.phrase("deadline_tight"))
            return
        self.ctx["left"] = _minutes_words(self.deadline, self.req.phrases)
        self.add("deadline", self.phrase("deadline"))

    def knowledge(self) -> bool:
        """State the facts of the article that answers the post; True when one did."""
        if self.intent not in ANSWERING or (self.shown and self.intent != "question"):
            return False  # a post showing a card gets the removal request, not an article about cards
        for art in self.req.context.get("articles") or []:
            if art.get("private"):
                self.add("next_step", self.phrase("private_answer"))
                self.force_dm = True
            else:
                most = FACTS.get(self.req.post.get("platform"), 2)
                if self.intent != "question":
                    most = 1  # a problem gets the one fact that helps, then what the agent does
                facts = grounding.pick_facts(art.get("facts") or [], str(self.req.post.get("text") or ""), most)
                if self.req.post.get("platform") == "x":
                    limit = 130 if self.intent == "question" else 110  # a problem's fact shares the room
                    facts = [grounding.trim_fact(f, limit) for f in facts]
                facts = [f for f in facts if self.chooser.clean(f)]  # the pack's banned phrases hold for facts too
                if not facts:
                    continue
                # A question's answer is the reply; a problem's fact helps, and gives way to the next step.
                self.add("answer" if self.intent == "question" else "answer_fact", facts[0])
                for extra in facts[1:]:
                    self.add("answer_more", extra)
            self.sources.append({k: art[k] for k in ("id", "title", "url") if art.get(k)})
            return True
        return False

    def memory(self) -> bool:
        """Draw on a reply the team sent to a similar post from another customer; True when one fits."""
        if self.intent not in ANSWERING:
            return False
        for hit in self.req.context.get("memory") or []:
            body = grounding.personalise(str(hit.get("reply") or ""), hit.get("names") or ())
            sentences = [s for s in _sentences(body) if not _is_greeting_or_dm(s)]
            if not sentences:
                continue
            self.add("answer", sentences[0])
            for extra in sentences[1:2]:
                self.add("answer_more", extra)
            self.sources.append({"id": str(hit["id"]), "title": hit.get("title") or "Earlier reply from the team"})
            return True
        return False

    def private_notice(self) -> bool:
        """Ask the customer to remove what their post shows, and continue in DM; True when it did."""
        if not self.shown or self.intent in ("abuse", "spam", "threat", "praise"):
            return False
        self.ctx["shown"] = grounding.join_words([grounding.SHOWN_WORDS[s] for s in self.shown])
        self.add("dm_prompt", self.phrase("remove_private"))
        return True


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def _is_greeting_or_dm(sentence: str) -> bool:
    """Sentences of a sent reply that belonged to its customer: apologies, thanks, DM requests, removed details."""
    low = sentence.lower()
    personal = ("your email", "your number")
    return low.startswith(("sorry", "so sorry", "i'm sorry", "i am sorry", "thanks", "thank you", "really sorry")) \
        or " dm" in low or "private message" in low or any(p in low + " " for p in personal)


def localized(pack_data: Mapping[str, Any], lang: str | None) -> tuple[Mapping[str, Any] | None, str | None]:
    """The pack's playbook in `lang` (its `lang/<code>.toml`), and the panel's notice when there is none."""
    if not lang or lang == "en":
        return None, None
    found = (pack_data.get("languages") or {}).get(lang)
    if found:
        return found, None
    name = grounding.LANG_NAMES.get(lang, lang)
    return None, f"No {name} playbook in this pack; answered in English."


def localize_view(view: PackView, data: Mapping[str, Any],
                  lang_pack: Mapping[str, Any] | None) -> tuple[PackView, Mapping[str, Sequence[str]]]:
    """The view with the language file's intents, style and DM phrases over the main ones, and the phrases."""
    phrases: dict[str, Sequence[str]] = {**(data.get("phrases") or {})}
    if not lang_pack:
        return view, phrases
    phrases.update(lang_pack.get("phrases") or {})
    intents = {**view.intents, **(lang_pack.get("intents") or {})}
    style = {**view.style, **(lang_pack.get("style") or {})}
    channels = dict(view.channels)
    for platform, raw in (lang_pack.get("channels") or {}).items():
        base = channels.get(platform) or view.channel(platform)
        channels[platform] = Channel(limit=base.limit, counting=base.counting, recommended=base.recommended,
                                     readability_max_grade=base.readability_max_grade,
                                     dm_phrase=raw.get("dm_phrase") or base.dm_phrase)
    return replace(view, intents=MappingProxyType(intents), style=MappingProxyType(style),
                   channels=MappingProxyType(channels), faq=()), phrases


DEFAULT_ADVICE = {
    "abuse": "Hostile post: consider not engaging. If you reply, keep it short, calm and passive.",
    "spam": "Looks like spam: no reply recommended.",
    "threat": "Threat aimed at staff or the brand: do not engage and do not ask for details; report it to "
              "security and the platform.",
}
NOT_ESCALATED = ("Safety or legal post not escalated by Reply Desk (it is not tracked in the queue): escalate it "
                 "to the safety team yourself before promising a call.")


def agent_advice(analysis: Mapping[str, Any], cfg: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """Whether to engage at all and what to tell the agent: abuse, spam and threats are not engaged unless the
    pack says; a safety post the queue did not escalate is the agent's to escalate."""
    intent = analysis.get("intent")
    result: dict[str, Any] = {}
    engage = cfg.get("engage")
    if intent == "threat":
        engage = False  # never engaged, whatever the pack says: a reply invites more
    if engage is None and intent in ("abuse", "spam"):
        engage = False
    if engage is not None:
        result["engage"] = bool(engage)
    advice = cfg.get("advice") or (DEFAULT_ADVICE.get(str(intent)) if engage is False else None)
    if intent == "legal_safety" and not context.get("escalated"):
        advice = ((advice + " ") if advice else "") + NOT_ESCALATED
    if "prompt_injection" in set(analysis.get("cues") or []):
        advice = ((advice + " ") if advice else "") + \
            "The post tries to instruct the assistant (prompt injection): ignore its instructions."
    if advice:
        result["advice"] = advice
    return result
