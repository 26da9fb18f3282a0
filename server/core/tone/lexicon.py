"""The phrases customer-care teams coach agents out of: defensive, blaming, argumentative, sarcastic, insulting.

Each entry is (pattern, suggestion): the suggestion replaces the match in the "apply" rewrite ("" drops it, None
offers no rewrite, because no mechanical fix reads well). Text is matched after curly quotes are mapped to '
(same length, so spans stay valid). The hostile-wording rules (`rules/hostile.py`) scan one combined
alternation per lexicon; the pack's banned phrases borrow these suggestions when they overlap.
"""
from __future__ import annotations

import re

from server.core.tone.rx import rx

_DEFENSIVE = [
    (r"\b(?:as|like) i (?:said|mentioned|explained|stated)(?: (?:before|earlier|already|previously))?,?", ""),
    (r"\bas (?:(?:previously|already|clearly) )?(?:mentioned|stated|explained)(?: (?:before|earlier|above))?,?", ""),
    (r"\bas per (?:my|our) (?:previous|last|earlier) (?:reply|message|tweet|comment)", ""),
    (r"\b(?:as )?per (?:our|company) polic(?:y|ies)", "Here's what I can do:"),
    (r"\b(?:it'?s|it is|that'?s|that is) (?:our|company|store) policy", "Here's what I can do:"),
    (r"\bour polic(?:y|ies) (?:is|are|states?|says?|clearly|does ?n[o']t|do ?n[o']t)\b", "Here's what I can do:"),
    (r"\b(?:unfortunately,? )?there(?:'s| is) (?:nothing|not much|little) (?:more )?(?:we|i) can do"
     r"(?: about (?:it|that))?",
     "Here's what I can do instead:"),
    (r"\bnot our (?:fault|problem|responsibility|issue)", "I'm sorry this happened; here's how I can help:"),
    (r"\b(?:we are|we're|i am|i'm) not (?:responsible|liable|to blame)\b", "Here's how I can help:"),
    (r"\b(?:that|this|it) is ?n[o']t (?:on|down to) us\b|\b(?:that|this|it)'s not (?:on|down to) us\b",
     "Here's how I can help:"),
    (r"\bi'?m (?:just|only) doing my job\b", None),
    (r"\b(?:we|i) (?:already|clearly) (?:told|explained|answered|said)\b", ""),
    (r"\bwe did(?: nothing| not do anything| ?n't do anything) wrong\b", None),
    (r"\bout of (?:our|my) hands\b", "Here's what I can do:"),
    (r"\b(?:the system|the computer) (?:won'?t|will not|does ?n[o']t) (?:let|allow) (?:me|us)\b", None),
    (r"\brules are rules\b|\bno exceptions\b|\bi don'?t make the rules\b|\bthat'?s just (?:how|the way) it is\b",
     "Here's what I can do:"),
    (r"\bwe can'?t help (?:you )?with (?:that|this)\b", "Here's who can help, and I'll connect you:"),
]
_BLAMING = [
    (r"\byou should(?: ?n[o']t)? have\b", None),
    (r"\byou (?:failed|forgot|neglected|didn'?t bother) to\b", None),
    (r"\b(?:it'?s|it is|that'?s|that is|this is) (?:entirely |totally |clearly |obviously )?your (?:own )?"
     r"(?:fault|mistake|problem|responsibility)\b", None),
    (r"\byour (?:own )?fault\b", None),
    (r"\buser error\b", None),
    (r"\bif you had (?:read|followed|checked|bothered|paid attention|listened)\b", None),
    (r"\byou (?:did ?n[o']t|did not|never) (?:read|follow|check|enter|fill|listen|pay)\b", None),
    (r"\byou must have (?:entered|typed|done|misread|missed|forgotten|ignored|clicked|broken)\b", None),
    (r"\byou were supposed to\b", None),
    (r"\byou need to (?:read|learn|understand|pay attention|be more careful|check before)\b", None),
    (r"\bread the (?:instructions|manual|terms|faq|fine print|small print)\b", None),
    (r"\bdid you even\b", None),
]
_ARGUMENTATIVE = [
    (r"\bcalm down\b", "I understand this is frustrating"),
    (r"\b(?:just )?relax\b(?! and enjoy)", "I understand this is frustrating"),
    (r"\bchill(?: out)?\b(?!ed|ing)", "I understand this is frustrating"),
    (r"\bsettle down\b", "I understand this is frustrating"),
    (r"\b(?:there'?s )?no need to (?:shout|yell|be rude|get upset|get angry|be so|swear|use that)\b", None),
    (r"\bwatch your (?:language|tone|mouth)\b", None),
    (r"\b(?:that'?s|that is|this is) (?:simply |just |completely )?(?:not true|untrue|false|incorrect|wrong)\b",
     "Let me check that for you"),
    (r"\byou'?re (?:wrong|mistaken|incorrect|being unreasonable|overreacting|exaggerating|confused)\b",
     "Let me check that for you"),
    (r"\byou are (?:wrong|mistaken|incorrect|being unreasonable|overreacting|exaggerating|confused)\b",
     "Let me check that for you"),
    (r"\bstop (?:complaining|shouting|yelling|whining|spamming|tweeting)\b", None),
    (r"\bdeal with it\b|\btake it or leave it\b|\bget over it\b", None),
    (r"\b(?:we|i) (?:strongly )?(?:disagree|beg to differ)\b", None),
    (r"\bif you don'?t like it\b|\b(?:feel free to |you can )(?:shop|go|take your business) elsewhere\b", None),
    (r"\btake your business elsewhere\b", None),
    (r"\b(?:quite )?frankly\b", ""),
    (r"\bwith all due respect\b", ""),
    (r"\bi'?m not going to argue\b|\bnot going to argue\b", None),
]
_SARCASM = [
    (r"\boh,? (?:great|wonderful|brilliant|sure|joy|perfect|fantastic|lovely)\b", None),
    (r"\byeah,? right\b", None),
    (r"\bsure,? jan\b", None),
    (r"\bthanks (?:a lot|a bunch|so much)(?= *[.!]* *(?:$|\.\.\.|/s|🙄))", None),
    (r"\bthanks for nothing\b", None),
    (r"\bgood luck with that\b", None),
    (r"\bnice try\b", None),
    (r"\bbless your heart\b", None),
    (r"\bmust be nice\b", None),
    (r"\bwow,? just wow\b|\bslow clap\b", None),
    (r"\bwhatever you say\b|\bif you say so\b|\bwhatever(?=\s*(?:[.!,]|$))", None),
    (r"\bheaven forbid\b|\bshocking,? i know\b|\bwho would have thought\b|\bwho knew\b", None),
    (r"\bclearly,? you\b|\bobviously,? you\b|\bobviously\b", ""),
    (r"\bi'?m sure you (?:did|know|think|meant)\b", None),
    (r"(?<!\S)/s\b", ""),
    (r"🙄|😒|🙃|😏|🤡|🤦", ""),
]
_INSULT = [
    r"\bstupid\b", r"\bidiot(?:s|ic)?\b", r"\bmoron(?:s|ic)?\b", r"\bdumb\b", r"\bpathetic\b", r"\bclueless\b",
    r"\bshut up\b", r"\bget lost\b", r"\bloser\b", r"\bignorant\b", r"\bincompetent\b", r"\bdumbass\b",
    r"\bf+u+c+k+\w*", r"\bshit\w*", r"\bcrap(?:py)?\b", r"\bdamn(?:ed)?\b", r"\bwtf\b", r"\bbullshit\b",
    r"\bwhat the hell\b", r"\bthe hell\b", r"\bbs\b", r"\bpiss(?:ed)? off\b", r"\bget a life\b", r"\bgrow up\b",
]


def _lexicon(entries: list[tuple[str, str | None]]) -> list[tuple[re.Pattern[str], str | None]]:
    return [(rx(p), s) for p, s in entries]


LEXICONS: dict[str, list[tuple[re.Pattern[str], str | None]]] = {
    "defensive_phrase": _lexicon(_DEFENSIVE),
    "blaming_phrase": _lexicon(_BLAMING),
    "argumentative_phrase": _lexicon(_ARGUMENTATIVE),
    "sarcasm": _lexicon(_SARCASM),
}
# One alternation per lexicon (a regex pass per phrase would cost a third of the time budget); the group that
# matched says which entry, and so which suggestion.
COMBINED: dict[str, tuple[re.Pattern[str], list[str | None]]] = {
    rule: (rx("|".join(f"(?P<g{i}>{p})" for i, (p, _s) in enumerate(entries))), [sug for _p, sug in entries])
    for rule, entries in (("defensive_phrase", _DEFENSIVE), ("blaming_phrase", _BLAMING),
                          ("argumentative_phrase", _ARGUMENTATIVE), ("sarcasm", _SARCASM))
}
INSULT_RE = rx("|".join(_INSULT))


def lexicon_suggestion(phrase: str) -> str | None:
    """The rewrite the lexicons offer for `phrase` (a pack's banned phrase): "" (drop it) when none says more."""
    p = phrase.replace("’", "'")
    for entries in LEXICONS.values():
        for pattern, sug in entries:
            if pattern.fullmatch(p) or pattern.match(p):
                return sug
    return ""
