"""The draft's features, computed once per check and shared by every rule.

Rules never re-scan the text for the same thing: sentences, links, emoji, the weighted length, sentiment, the
acknowledgement and own-action cues, the hostile-phrase hits are properties computed on first use and kept for
the rest of the check. That is what keeps a pipeline of small rules as fast as the one long function it replaced.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from server.core.packview import Channel, PackView, view_of
from server.core.tone.length import emoji_spans, weigh
from server.core.tone.lexicon import COMBINED, INSULT_RE
from server.core.tone.patterns import ACK_RE, ACTION_RE, DEFLECT_RE, URL_RE
from server.core.tone.phrases import phrase_re
from server.core.tone.sentiment import Sentiment, summarize, vader
from server.core.tone.text import Span, has_substance
from server.core.tone.text import phones as find_phones
from server.core.tone.text import sentences as split_sentences
from server.core.tone.text import words as find_words

UPSET_INTENTS = frozenset({"complaint", "outage", "legal_safety"})
ACTION_INTENTS = frozenset({"complaint", "question", "request", "outage", "legal_safety"})
# Intents that never owe the customer an answer or a next step.
NO_REPLY_OWED = ("praise", "spam", "abuse")

T = TypeVar("T")


class feature(Generic[T]):  # lower case: used as a decorator, like property
    """A draft feature: computed on first use, then kept in the instance (the class attribute is shadowed).

    `functools.cached_property` does the same but takes a lock on every first access in Python 3.11; a check
    computes a dozen features per keystroke, and rules never share a draft across threads.
    """

    def __init__(self, fn: Callable[[Any], T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> feature[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> T | feature[T]:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


_DICT_VIEWS: dict[int, tuple[dict[str, Any], PackView]] = {}


def pack_view(pack: Any) -> PackView:
    """`view_of(pack)`, remembered for plain-dict packs.

    A `Pack` carries its view, built once when it was parsed. A plain dict (tests, previews, the benchmark) would
    be read again on every keystroke, and building a view costs about a twentieth of the whole check. The memo is
    keyed by the dict's identity and checked by equality against a copy taken when the view was built, so a dict
    edited in place, or a new dict at a reused id, gets a fresh view.
    """
    if type(pack) is not dict:
        return view_of(pack)
    hit = _DICT_VIEWS.get(id(pack))
    if hit is not None and hit[0] == pack:
        return hit[1]
    view = view_of(pack)
    try:
        snapshot = copy.deepcopy(pack)
    except Exception:  # not plain data: nothing safe to compare against later, so do not remember it
        return view
    if len(_DICT_VIEWS) >= 64:
        _DICT_VIEWS.clear()
    _DICT_VIEWS[id(pack)] = (snapshot, view)
    return view


@dataclass(frozen=True)
class Customer:
    """What the post and its analysis say about the customer. Without either the check cannot know whether they
    are upset or who they are, so the context rules stay quiet rather than guess (`known` is False)."""

    known: bool = False
    name: str | None = None
    handle: str | None = None
    intent: str | None = None
    severity: Any = None
    sentiment: Any = None
    upset: bool = False
    post_text: str = ""

    @classmethod
    def of(cls, post: Any, analysis: Any) -> Customer:
        facts = analysis if isinstance(analysis, dict) else {}
        post = post if isinstance(post, dict) else {}
        author = post.get("author") or {}
        name = facts.get("name")
        if not name and author.get("name"):
            name = str(author["name"]).split()[0]
        handle = facts.get("handle") or author.get("handle")
        sentiment = facts.get("sentiment")
        if sentiment is None and post.get("text"):
            sentiment = vader.polarity_scores(post["text"])["compound"]
        known = bool(facts) or bool(post)
        intent = facts.get("intent")
        severity = facts.get("severity")
        upset = known and (severity in ("high", "critical") or intent in UPSET_INTENTS
                           or (isinstance(sentiment, int | float) and sentiment <= -0.3))
        return cls(known=known, name=name if isinstance(name, str) and name.strip() else None,
                   handle=str(handle).lstrip("@") if handle else None, intent=intent, severity=severity,
                   sentiment=sentiment, upset=upset, post_text=str(post.get("text") or ""))


@dataclass(frozen=True)
class Length:
    count: int  # in the channel's counting (X's weighted count, or characters)
    limit: int
    over_at: int  # index in the draft where the count first passes the limit (len(text) if it never does)


class Draft:
    """One draft reply, in its channel, pack and customer context, with its features.

    `text` is the draft as typed (spans index into it); `flat` is the same text with curly quotes mapped to ',
    the same length, so every pattern can be written with plain quotes and its spans still fit `text`.
    """

    def __init__(self, text_: Any, platform: str, pack: Any = None, post: Any = None, analysis: Any = None,
                 system_prompt: str | None = None) -> None:
        self.text: str = text_ if isinstance(text_, str) else ""
        self.flat: str = self.text.replace("’", "'").replace("‘", "'")
        self.n: int = len(self.text)
        self.end: int = len(self.text.rstrip())  # where a missing ending (a phrase, a signature) would go
        self.platform = platform
        self.pack: PackView = pack_view(pack)
        self.channel: Channel = self.pack.channel(platform)
        self.customer = Customer.of(post, analysis)
        # The post and its analysis as given, for the rules that judge a draft against its post (rules/context.py).
        self.post: dict[str, Any] = post if isinstance(post, dict) else {}
        self.analysis: dict[str, Any] = analysis if isinstance(analysis, dict) else {}
        self.system_prompt = system_prompt

    # --- structure ---------------------------------------------------------------------------------------------
    @feature
    def sentences(self) -> list[Span]:
        return split_sentences(self.text)

    @feature
    def words(self) -> list[str]:
        return find_words(self.text)

    @feature
    def urls(self) -> list[re.Match[str]]:
        return list(URL_RE.finditer(self.flat))

    @feature
    def url_spans(self) -> list[Span]:
        return [m.span() for m in self.urls]

    @feature
    def emojis(self) -> dict[int, int]:
        """Emoji sequences as start -> end (the slow twitter-text regex, so only for non-ASCII drafts)."""
        return emoji_spans(self.text) if not self.text.isascii() else {}

    @feature
    def phones(self) -> list[re.Match[str]]:
        return find_phones(self.flat)

    @feature
    def length(self) -> Length:
        limit = self.channel.limit
        if self.channel.counting == "twitter":
            count, at = weigh(self.text, limit, self.emojis)
        else:
            count, at = self.n, min(limit, self.n)
        return Length(count, limit, at)

    # --- what it says ----------------------------------------------------------------------------------------
    @feature
    def sentiment(self) -> Sentiment:
        return summarize(self.flat, self.sentences)

    @feature
    def ack(self) -> re.Match[str] | None:
        """The first acknowledgement (empathy or apology)."""
        return ACK_RE.search(self.flat)

    @feature
    def action(self) -> re.Match[str] | None:
        """The first own action: an answer, a fix, an ETA, an invitation to a private channel."""
        return ACTION_RE.search(self.flat)

    @feature
    def deflect(self) -> re.Match[str] | None:
        """The first phrase sending the customer elsewhere."""
        return DEFLECT_RE.search(self.flat)

    @feature
    def deflection_span(self) -> Span | None:
        """Where the draft sends the customer elsewhere: the deflecting phrase, else a link, else a phone number."""
        if self.deflect is not None:
            return self.deflect.span()
        if self.url_spans:
            return self.url_spans[0]
        return self.phones[0].span() if self.phones else None

    @feature
    def owes_next_step(self) -> bool:
        """Whether the customer is owed an answer, action or next step (an answer only counts for a question)."""
        c = self.customer
        if c.intent:
            needs, answer_counts = c.intent in ACTION_INTENTS, c.intent == "question"
        else:  # no intent known: a draft that acknowledges a problem owes a next step
            needs, answer_counts = c.upset or self.ack is not None, not c.upset
        if needs and answer_counts and has_substance(self.flat, self.sentences, c.name, c.handle):
            return False
        return needs

    # --- hostile wording -------------------------------------------------------------------------------------
    @feature
    def banned(self) -> list[re.Match[str]]:
        """Matches of the pack's banned phrases."""
        rx = phrase_re(self.pack.tone.banned_phrases)
        return list(rx.finditer(self.flat)) if rx is not None else []

    @feature
    def banned_spans(self) -> list[Span]:
        return [m.span() for m in self.banned]

    @feature
    def lexicon_hits(self) -> dict[str, list[re.Match[str]]]:
        """Matches of each hostile-phrase lexicon (defensive, blaming, argumentative, sarcasm), by rule id."""
        return {rule_id: list(rx.finditer(self.flat)) for rule_id, (rx, _s) in COMBINED.items()}

    @feature
    def insults(self) -> list[re.Match[str]]:
        return list(INSULT_RE.finditer(self.flat))

    @feature
    def hostile_hits(self) -> int:
        """Hostile phrases found, counting those a banned phrase covers too: they drive the "defensive" label."""
        return sum(len(hits) for hits in self.lexicon_hits.values()) + len(self.insults)

