"""Tone check: what a supervisor would say about a draft reply, fast enough to run on every keystroke.

Pure logic, no I/O and no model downloads: VADER (bundled lexicon), twitter-text's URL and emoji rules for X's
weighted length, the Flesch-Kincaid grade, and hand-written lexicons of the phrases customer-care teams coach
agents out of. Every finding carries a rule id (see RULES), a severity, a span into the draft (Python str
indices, so the extension can highlight it), a message a person understands and, where one exists, a
suggestion: always the whole draft rewritten with that one fix, so a client can offer "apply". Findings of
severity "block" mean the draft must not be sent as is; the LLM guard relies on that.

Why each piece:
- Pack-driven rules (banned/required phrases, allowed domains, signature, channel limits, readability) come
  from `pack.data`, so supervisors tune them without code changes.
- Context rules (empathy, personalization, usefulness) need the post or its analysis: without them the check
  cannot know whether the customer is upset or who they are, so it stays quiet rather than guess.
- Every regex is compiled once at import (with a first-character lookahead, see `_rx`); VADER's analyzer is
  built once and runs only on sentences that could score negative; the expensive twitter-text emoji regex runs
  only over stretches of characters an emoji can be made of. A 280-character draft takes about 1 ms
  (bench/bench_tone.py).
"""
from __future__ import annotations

import math
import re
import re._parser as _sre_parse
import unicodedata
from functools import lru_cache
from typing import Any

from twitter_text.config import config as _tt_config
from twitter_text.extract_urls import extract_urls_with_indices
from twitter_text.regexp.emoji import emoji as _EMOJI_RE
from vaderSentiment.vaderSentiment import NEGATE, SentimentIntensityAnalyzer

# --------------------------------------------------------------------------------------------------------------
# Rule registry: ids are stable (tests, docs and the extension refer to them).
# --------------------------------------------------------------------------------------------------------------
RULES: dict[str, str] = {
    "banned_phrase": "A phrase the pack bans (tone.banned_phrases).",
    "required_phrase": "A phrase the pack requires (tone.required_phrases) is missing.",
    "url_not_allowed": "A link to a domain outside the pack's tone.allowed_domains.",
    "insult": "Insults or profanity aimed at the customer.",
    "defensive_phrase": "Defensive wording ('as I said', 'per our policy', 'nothing we can do').",
    "blaming_phrase": "Wording that blames the customer ('you should have', 'your fault').",
    "argumentative_phrase": "Argumentative or dismissive wording ('calm down', 'that's not true').",
    "sarcasm": "Sarcasm markers ('oh great', 'thanks a lot', 'yeah right', eye-roll emoji).",
    "negative_sentiment": "The draft reads negative or hostile overall (VADER), apart from its apologies.",
    "shouting": "Words in capitals read as shouting.",
    "punctuation_pile": "Piles of ! or ? read as shouting or exasperation.",
    "missing_empathy": "The customer is upset but the draft does not acknowledge it before the fix.",
    "missing_name": "The draft does not use the customer's name or handle.",
    "missing_next_step": "The draft gives no answer, action or next step.",
    "deflection": "The draft only sends the customer elsewhere (a link, a phone line, another team).",
    "missing_signature": "The pack requires an agent signature (like ^KM) at the end.",
    "private_data_request": "Asks for private data in public, or for secrets (password, card number) at all.",
    "private_data_exposed": "Repeats or shows private data (email, phone, card, address, account number).",
    "length_over_limit": "Longer than the channel allows.",
    "length_over_recommended": "Longer than the pack recommends for the channel.",
    "readability": "Harder to read than the pack's target grade.",
    "emoji_not_allowed": "The pack's voice does not use emoji.",
    "low_score": "The overall tone score is below the pack's minimum.",
    "prompt_leak": "The draft repeats the system prompt.",
}

SEVERITIES: dict[str, str] = {
    "banned_phrase": "block", "required_phrase": "warn", "url_not_allowed": "block", "insult": "block",
    "defensive_phrase": "warn", "blaming_phrase": "warn", "argumentative_phrase": "warn", "sarcasm": "warn",
    "negative_sentiment": "warn", "shouting": "warn", "punctuation_pile": "warn", "missing_empathy": "warn",
    "missing_name": "warn", "missing_next_step": "warn", "deflection": "warn", "missing_signature": "warn",
    "private_data_request": "block", "private_data_exposed": "block", "length_over_limit": "block",
    "length_over_recommended": "info", "readability": "warn", "emoji_not_allowed": "info", "low_score": "warn",
    "prompt_leak": "block",
}

LABELS = ("polite", "sympathetic", "apologetic", "formal", "friendly", "defensive", "frustrated")
PENALTY = {"block": 35, "warn": 12, "info": 2}
UPSET_INTENTS = frozenset({"complaint", "outage", "legal_safety"})
ACTION_INTENTS = frozenset({"complaint", "question", "request", "outage", "legal_safety"})
NEXT_STEP = "I'm looking into this now and will update you here within the hour."
DEFAULT_LIMITS = {"x": (280, "twitter"), "facebook": (8000, "chars")}

_vader = SentimentIntensityAnalyzer()
_I = re.IGNORECASE


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


def _rx(pattern: str, flags: int = _I) -> re.Pattern[str]:
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


# --------------------------------------------------------------------------------------------------------------
# Lexicons. Each entry: (pattern, suggestion or None). Text is matched after mapping curly quotes to ' (same
# length, so spans stay valid).
# --------------------------------------------------------------------------------------------------------------
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
    return [(_rx(p), s) for p, s in entries]


LEXICONS: dict[str, list[tuple[re.Pattern[str], str | None]]] = {
    "defensive_phrase": _lexicon(_DEFENSIVE),
    "blaming_phrase": _lexicon(_BLAMING),
    "argumentative_phrase": _lexicon(_ARGUMENTATIVE),
    "sarcasm": _lexicon(_SARCASM),
}
# One alternation per lexicon (a regex pass per phrase would cost a third of the time budget); the group that
# matched says which entry, and so which suggestion.
_COMBINED: dict[str, tuple[re.Pattern[str], list[str | None]]] = {
    rule: (_rx("|".join(f"(?P<g{i}>{p})" for i, (p, _s) in enumerate(entries))), [sug for _p, sug in entries])
    for rule, entries in (("defensive_phrase", _DEFENSIVE), ("blaming_phrase", _BLAMING),
                          ("argumentative_phrase", _ARGUMENTATIVE), ("sarcasm", _SARCASM))
}
_INSULT_RE = _rx("|".join(_INSULT))
_LEXICON_MESSAGES = {
    "defensive_phrase": "'{m}' sounds defensive; customers hear it as an excuse. Say what you can do instead.",
    "blaming_phrase": "'{m}' blames the customer. Stay passive: focus on the fix, not on what they did.",
    "argumentative_phrase": "'{m}' argues with or dismisses the customer. Acknowledge their view instead.",
    "sarcasm": "'{m}' can read as sarcasm; in writing it almost always lands badly.",
}

# Acknowledgement (empathy or apology): what an upset customer needs before the fix.
_FEELING = r"(?:frustrat\w*|disappoint\w*|annoying|stressful|worrying|upsetting|inconvenien\w*|maddening|awful|rough)"
ACK_RE = _rx(
    r"\b(?:sorry|apolog\w*|regret|understand(?:able|ably)?|i can see|i can imagine|i hear you|i know how"
    r"|i get (?:it|that|how|why)|(?:that|this|it)'?s not (?:ok(?:ay)?|acceptable|good enough|right|what we want"
    r"|the experience)|(?:that|this|it) is not (?:ok(?:ay)?|acceptable|good enough|right|what we want)"
    r"|not the experience|hate (?:that|to hear)|thanks? (?:you )?for (?:letting us know|flagging|telling us"
    r"|your patience|bearing with|reporting|raising|bringing)|appreciate (?:your patience|you (?:telling|letting"
    r"|flagging|bearing))|glad you told us|what a pain|oh no|that sounds|comes first"
    rf"|(?:how|so|really|must be|must have been|incredibly|very|truly|such an?|an?) {_FEELING}"
    r"|(?:that|this|it)(?:'s| is| was| must be) (?:so |really |very |incredibly |truly |super |such an? )?"
    rf"{_FEELING})\b"
)
APOLOGY_RE = _rx(r"\b(?:sorry|apolog\w*|regret|pardon|forgive)\b")
SYMPATHY_RE = _rx(
    r"\b(?:understand(?:able)?|i can see|i can imagine|i hear you|i know how|i get (?:it|that|how|why)|frustrat\w*"
    r"|disappoint\w*|annoying|stressful|worrying|upsetting|not (?:ok(?:ay)?|acceptable|good enough)"
    r"|not the experience|what a pain|oh no|that sounds|must (?:be|have been)|comes first|hate (?:that|to hear))\b"
)

# Own action: an answer, a fix, an ETA, or an invitation to a private channel the agent will pick up.
_DONE = r"(?:\w+ed|sent|made|put|set|got|taken|given|done|found|written|left|spoken|told|rung|brought|kept|paid)"
ACTION_RE = _rx(
    rf"\b(?:(?:i|we)(?:'?ve| have) (?:just |now |already |personally |also )?{_DONE}"
    r"|(?:i'?m|i am|we'?re|we are) (?:now |currently |personally |already |also )?\w+ing"
    r"|i'?ll|i will|i'?m (?:going to|looking|checking|chasing|tracking|escalating|on it|sending|arranging|refunding"
    r"|processing|following|raising|booking|organising|organizing|issuing|adding|passing|sharing|happy to|here to)"
    r"|i'?ve (?:flagged|escalated|asked|passed|raised|sent|issued|refunded|arranged|booked|logged|opened|reported"
    r"|credited|cancell?ed|updated|reset|added|applied|checked|forwarded|shared|upgraded|chased|contacted|made|put"
    r"|requested|started|set|gone|looked|fixed|tracked|confirmed)"
    r"|we'?ll|we will|we'?re (?:working|looking|investigating|fixing|on it|checking|sending|aware|rolling|restoring"
    r"|open|here|happy to|refunding)|we are (?:working|looking|investigating|fixing|checking|sending|aware|open)"
    r"|we'?ve (?:flagged|escalated|fixed|sent|issued|refunded|arranged|credited|restored|updated|identified|found"
    r"|resolved|rolled|added|upgraded|reset|cancell?ed|passed|shared|checked|confirmed|made)"
    r"|let me|let'?s|here'?s (?:how|what|the|a|your)|you can (?:now|also|try|find|change|update|reset|get|use|tap"
    r"|click|go|return|cancel|track|see|pick|book|order|swap|exchange|collect|add|turn|switch|download|sign|log)"
    r"|(?:send|dm|message) us|send (?:us|me) a (?:dm|direct message|private message|pm|message)|dm (?:us|me)"
    r"|drop us a (?:dm|message|line)|pop us a (?:dm|message)|(?:check|see) your (?:dms?|inbox|messages)"
    r"|try (?:restarting|clearing|updating|logging|signing|reinstalling|again|turning|switching|resetting)"
    r"|go to|tap|click|head to|open (?:the|your)|within (?:\d+|an?|the next)|by (?:tomorrow|today|monday|tuesday"
    r"|wednesday|thursday|friday|saturday|sunday|end of|the end)|today|tomorrow|tonight|right now|this (?:morning"
    r"|afternoon|evening|week)|update|refund(?:ed)?|replacement|on (?:its|the) way|has been (?:sent|refunded|fixed"
    r"|restored|shipped|resolved|credited|upgraded|updated|cancell?ed|approved)|(?:is|are) (?:back|fixed|restored"
    r"|resolved|open|available|in stock|on sale|compatible|included|free)|it'?s (?:fixed|back|restored|resolved"
    r"|open|available|in stock|located)|opens? at|located|you'?ll find|you will find|yes,|yes!|yes\b|no,? (?:you|we|it)"
    r"|(?:is|are) on (?:\w+ )?(?:street|avenue|ave|road)|next to|pass (?:this|your|it) on|passed (?:this|your|it) on"
    r"|shared (?:this|your|it) with|will (?:pass|share|forward)|(?:keep|kept) you posted|post an update)\b"
)
# Pleasantries: what is left of a sentence after them is its substance (an answer), if any.
PLEASANTRY_RE = _rx(
    r"\b(?:hi|hello|hey|hiya|dear|good (?:morning|afternoon|evening)|there|thanks|thank you|many thanks"
    r"|(?:so|very) much|for (?:reaching out|getting in touch|your (?:question|message|tweet|post|patience|feedback)"
    r"|asking|contacting us|the (?:kind words|question|message|feedback)|sharing|letting us know|the trouble"
    r"|the confusion|the wait|the delay|the inconvenience)|happy to help|glad to help|here to help|(?:good|great)"
    r" question|to hear (?:that|this|about)|about (?:this|that)|enjoy|talk soon|have a (?:great|good|lovely|nice) day"
    r"|anything else,? just ask|take care|best wishes|kind regards|regards|we appreciate it|appreciate it"
    r"|we'?re sorry|i'?m sorry|so sorry|really sorry|sorry)\b"
)
STOPWORDS = frozenset(
    "a an the and or but so to of in on at for with about from by is are was were be been it its this that these "
    "those i i'm i've we we're you your you're our us me my he she they them their there here just really very "
    "how what why as if".split())
# Sending the customer elsewhere.
DEFLECT_RE = _rx(
    r"\b(?:please |you can |you'?ll need to |you need to |you will need to |you should |best to |try to )?"
    r"(?:contact|call|phone|ring|email|e-mail|visit|reach out to|get in touch with|speak to|talk to|ask|check|see"
    r"|refer to|consult|go through)\s+(?:our|the|your|a|an)?\s*(?:\w+\s+){0,2}?"
    r"(?:support|customer (?:service|care|support)|help ?desk|helpline|hotline|team|department|store|branch|bank"
    r"|carrier|courier|manufacturer|faq|faqs|website|site|help (?:cent(?:er|re)|page|section|article)|retailer"
    r"|supplier|seller|provider|agent|colleagues|(?:status|help|support|faq|contact|returns|tracking) page)\b"
    r"|\b(?:our|the) (?:\w+ )?(?:team|department|desk|partner|courier|bank) (?:handles|deals with|looks after"
    r"|is responsible for|can help)|\b(?:email|call|contact|ring|message|ask) (?:them|the courier|the bank)\b"
    r"|\b(?:that'?s|that is|this is) (?:a question|something) for\b"
    r"|\bnot something (?:we|i) (?:handle|deal with|can help)"
    r"|\b(?:we|i) (?:don'?t|do not|can'?t|cannot) (?:handle|deal with|help with) (?:that|this)\b"
)
DM_RE = _rx(r"\b(?:dms?|d\.m\.|direct message|private message|pm|inbox|privately|in private|messenger"
            r"|secure (?:form|link|chat))\b")
PUBLIC_RE = _rx(r"\b(?:reply (?:here|below|to this)|in the comments|below|publicly"
                r"|here in (?:the )?(?:thread|comments))\b")
NEGATION_RE = _rx(r"\b(?:never|don'?t|do not|won'?t|will not|no need to|not|shouldn'?t|nobody|no one)\b")

# Privacy: secrets are never asked for (not even in DM); personal details only in private.
SECRET_ITEMS = (r"password|passcode|pin(?: (?:number|code))?|cvv|cvc|security (?:code|number|question|answer)"
                r"|(?:full |long )?card (?:number|details|no\.?)|credit card(?: (?:number|details))?|debit card number"
                r"|one[- ]time (?:code|password|passcode)|otp|verification code|login (?:details|credentials)"
                r"|social security(?: number)?|ssn|memorable (?:word|information)")
PERSONAL_ITEMS = (r"(?:(?:home|full|delivery|shipping|postal|billing|street|email|e-mail) )?address"
                  r"|post ?code|zip(?: code)?"
                  r"|(?:phone|mobile|cell|telephone|contact) (?:number|no\.?)|phone|mobile|email|e-mail"
                  r"|account (?:number|no\.?|details|info(?:rmation)?|id)|date of birth|dob|birthday|full name"
                  r"|sort code|iban|(?:bank|banking) details|order details|personal (?:details|info(?:rmation)?)"
                  r"|contact details|id (?:number|card)|passport(?: number)?|licen[cs]e number")
_ASK = (r"(?:send|share|give|provide|tell|post|reply with|include|confirm|type|enter|drop|leave|let (?:me|us) know"
        r"|what(?:'s| is| are| was)|which is|can (?:i|we) (?:have|get|grab|take)|could (?:i|we) (?:have|get|grab|take)"
        r"|may (?:i|we) (?:have|get|take)|need|pop|add|verify|list|write|put|comment|tweet|reply|dm|message"
        r"|forward|paste|remind (?:me|us) of|mind sharing)")
ASK_RE = _rx(rf"\b{_ASK}\b")
SECRET_RE = _rx(rf"\b(?:{SECRET_ITEMS})\b")
PERSONAL_RE = _rx(rf"\b(?:{PERSONAL_ITEMS})\b(?!\s+(?:model|app|case|charger|screen|settings|we sent|you got))")
OWNER_RE = _rx(r"\b(?:your|ur|the)\b")
EMAIL_RE = _rx(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
PHONE_RE = re.compile(r"(?<![\w#-])(?:\+?\d[\d\s().-]{6,16}\d)(?![\w-])")
REFERENCE_BEFORE_RE = _rx(r"(?:order|ref(?:erence)?|booking|confirmation|case|ticket|tracking|invoice|no\.?|number|#)"
                          r"\W{0,3}$")
CARD_RE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
STREET_RE = _rx(r"\b\d{1,5}[a-z]?\s+(?:[A-Za-z]+\s+){1,3}(?:street|st|avenue|ave|road|rd|lane|ln|boulevard|blvd"
                r"|drive|dr|court|ct|way|place|pl|terrace|close|crescent|square|sq)\b\.?")
ACCOUNT_NO_RE = _rx(r"\b(?:account|acct|a/c|iban|sort code)(?: (?:number|no\.?|#))?\s*:?\s*[A-Z]{0,4}\d[\d -]{5,}\d")

# Channel fit.
URL_RE = _rx(r"\b(?<![@.])(?:https?://[^\s<>\"']+|www\.[^\s<>\"']+|(?:[a-z0-9-]+\.)+(?:com|net|org|io|co|ly|me|uk|us|de|fr|app"
             r"|info|biz|gov|edu|shop|store|help|support|example|page|link|gl|to|tv|ai|dev|ie|ca|au|in|eu)"
             r"(?:/[^\s<>\"']*)?)(?<![.,;:!?)])")
SHOUT_TOKEN_RE = re.compile(r"(?<![@#\w^/~-])[A-Z][A-Z']*[A-Z](?![\w@])")  # not @handles, #tags or ^KM
ACRONYMS = frozenset(
    "DM DMS ETA FAQ FAQS ASAP USA UK EU US ATM PIN SMS API URL ID OK CEO TV PC USB GPS NFC CVV FYI PS AM PM UTC GMT "
    "EST PST BST CET EDT PDT CST IOS APP VIP SIM PDF QR ZIP UPS DHL USPS FEDEX TNT EMI VAT GST HST IBAN BIC NHS BBC "
    "LOL IMO TBH BTW AKA DIY ISP WIFI LTE RMA SKU CSV HTML ATM DVD CD HD HDMI LED LCD OLED AC DC".split())
_LETTER_RE = re.compile(r"[^\W\d_]")
_UPPER_RE = re.compile(r"[A-Z\u00c0-\u00de]")
PILE_RE = re.compile(r"[!?]{2,}|(?:[!?]\s*){2,}[!?]")
EXCLAIM_RE = re.compile(r"!")
SENTENCE_RE = re.compile(r"(?:[^.!?\n]|[.!?]+(?=[^\s.!?]))+(?:[.!?]+|\n|$)")  # "." inside a URL does not end one
WORD_RE = re.compile(r"[A-Za-z][A-Za-z']*")
SIGNATURE_RE = re.compile(r"(?:^|[\s.!?,;:)])(?:\^\s?[A-Z][A-Za-z]{0,3}|[-–—~/]\s?[A-Z][A-Za-z]{0,15}"
                          r"(?: (?:[A-Z]\.?|at \w+|from \w+))?)\.?\s*$")
HANDLE_RE = re.compile(r"@\w+")

# Labels.
FORMAL_RE = _rx(r"\b(?:kindly|regards|sincerely|assist(?:ance)?|ensure|furthermore|however|therefore|please be advised"
                r"|we apologi[sz]e|do not hesitate|at your earliest convenience|further|regarding|inconvenience"
                r"|dear|accordingly|thank you|apologies|require|request|provide|advise|confirm|receive)\b")
INFORMAL_RE = _rx(r"\b(?:hey|hiya|yay|awesome|cool|gonna|wanna|gotta|yep|yup|nope|lol|omg|btw|tbh|haha\w*|woo+|super"
                  r"|totally|oops|whoops|ugh|fab|cheers)\b|!|:\)|:D|;\)")
CONTRACTION_RE = _rx(r"\b\w+'(?:ll|re|ve|m|d|s|t)\b")
FRIENDLY_RE = _rx(r"\b(?:hi|hello|hey|hiya|thanks|thank you|happy to|glad|great|love|enjoy|welcome|pleasure|awesome"
                  r"|wonderful|lovely|fantastic|brilliant|delighted|cheers|have a (?:great|good|lovely)|talk soon"
                  r"|made our day|any time|anytime)\b")

# Politeness strategies (Danescu-Niculescu-Mizil et al., 2013). Weights: a logistic fit on the Stack Exchange
# ratings (tests/data/politeness.csv) for the frequent strategies, the paper's signs for the rare ones (gratitude,
# apology, greeting, deference are too rare in those requests to fit, and matter most in care replies).
_POLITE_FEATURES: list[tuple[re.Pattern[str], float]] = [
    (_rx(r"\b(?:thanks|thank you|thx|appreciate(?:d)?|grateful)\b"), 0.9),           # gratitude
    (_rx(r"\b(?:great|good|nice|interesting|excellent|helpful|brilliant|awesome|cool) "
         r"(?:question|point|idea|work|answer|job|suggestion|catch|tip|explanation)\b"), 0.5),  # deference
    (_rx(r"^\W*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening))\b"), 0.5),   # greeting
    (_rx(r"\b(?:sorry|apologi[sz]e|apologies|excuse me|forgive me|pardon)\b"), 0.6), # apologizing
    (_rx(r"(?<!^)(?<![.!?] )\bplease\b"), 0.4),                                       # please, mid-sentence
    (_rx(r"^\W*please\b|[.!?]\s+please\b"), 0.1),                                     # please-start: weaker
    (_rx(r"\bby the way\b|\bbtw\b|\bas an aside\b|\bjust curious\b|\bout of curiosity\b"), 0.2),  # indirect
    (_rx(r"\b(?:i think|i believe|i suggest|i guess|i wonder|i was wondering|i'?m wondering|perhaps|maybe|possibly"
         r"|probably|might|seems?|it looks like|i assume|i suppose|in my opinion|imho|imo|not sure|i'?m not sure"
         r"|i may be|i might be|correct me)\b"), 0.3),                                  # hedges
    (_rx(r"\b(?:could|would) you\b|\bwould it be\b|\bif (?:possible|you (?:don'?t|do not) mind|you could|you can)\b"
         r"|\bwould you mind\b|\bdo you mind\b"), 0.5),                                # counterfactual modal
    (_rx(r"\b(?:can|will) you\b"), 0.45),                                              # indicative modal
    (_rx(r"\b(?:i|my|mine|i'm|i've|i'd|i'll)\b"), 0.15),                               # 1st person
    (_rx(r"\b(?:help|helpful|kind|kindly|happy to|glad|hope|hopefully)\b"), 0.2),     # positive/kind
    (_rx(r"\bany (?:ideas?|help|suggestions?|pointers|thoughts|hints?|advice)\b|\bis there (?:a|any)\b"), 0.1),
    (_rx(r"\bor (?:is|are|do|does|did|should|would|can|what)\b|\bor not\b"), 0.15),
    (re.compile(r":\)|:-\)|;\)|:D"), 0.3),                                             # smiley
    (_rx(r"\bwhy\b"), -0.75),                                                          # why-questions
    (_rx(r"(?:^|[.!?]\s+)(?:you|your|u)\b"), -0.4),                                    # 2nd person start
    (_rx(r"\b(?:actually|in fact|the point is|the reality|the truth is|really|obviously|clearly|of course"
         r"|honestly|simply|just)\b"), -0.2),                                           # factuality
    (_rx(r"\b(?:no|not|don'?t|doesn'?t|didn'?t|isn'?t|aren'?t|can'?t|won'?t|never|nothing|wrong|bad|problem)\b"),
     -0.45),                                                                             # negativity
    (_rx(r"\?[^?]*\?"), -0.25),                                                         # question after question
    (_rx(r"\bwhat do you mean\b|\bwhat'?s the point\b|\bwhat exactly\b"), -0.4),
    (_rx(r"\b(?:seriously|huh|hmm|ugh)\b|\breally\?"), -0.3),
    (re.compile(r"\.\.\."), -0.3),                                                      # trailing off
    (re.compile(r"[!?]{2,}|\b[A-Z]{4,}\b"), -0.6),                                       # shouting
    (_rx(r"\b(?:stupid|idiot|dumb|ridiculous|nonsense|pointless|useless|silly|lazy|wtf|hell|damn|crap)\b"), -1.2),
]
_POLITE_BIAS = -0.35
_POLITE_LENGTH = 0.5  # longer requests read as more considerate (log of the word count)


# --------------------------------------------------------------------------------------------------------------
# Length: X's weighted count (twitter-text rules) made fast.
# --------------------------------------------------------------------------------------------------------------
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


def _emoji_spans(text: str) -> dict[int, int]:
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
    return _weigh(text, 280)[0]


def _weigh(text: str, limit: int, emojis: dict[int, int] | None = None) -> tuple[int, int]:
    """(weighted length, index in `text` where the count first passes `limit`, or len(text) if it never does).

    The index is exact for NFC text with no CR characters, which is what browsers hand us; otherwise approximate.
    `emojis`: `_emoji_spans(text)` when the caller has it already (the emoji regex is the slow part).
    """
    norm = _CRLF_RE.sub("\n", unicodedata.normalize("NFC", text))
    if norm != text:
        emojis = None  # spans of the text, not of its normalized form
    scale = _TT["scale"]
    # twitter-text's URL extraction is the slowest step; every URL it finds has a dot inside a word.
    urls = {u["indices"][0]: u["indices"][1] for u in extract_urls_with_indices(norm)} \
        if _MAYBE_URL_RE.search(norm) else {}
    if emojis is None:
        emojis = _emoji_spans(norm) if not norm.isascii() else {}
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


# --------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------
def _pack_data(pack: Any) -> dict[str, Any]:
    if pack is None:
        return {}
    data = getattr(pack, "data", pack)
    return data if isinstance(data, dict) else {}


def _finding(rule: str, message: str, span: tuple[int, int], suggestion: str | None = None,
             severity: str | None = None) -> dict[str, Any]:
    f: dict[str, Any] = {"rule": rule, "severity": severity or SEVERITIES[rule], "message": message,
                         "span": [int(span[0]), int(span[1])]}
    if suggestion is not None:
        f["suggestion"] = suggestion
    return f


@lru_cache(maxsize=64)
def _phrase_re(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    parts = []
    for p in phrases:
        p = p.strip().replace("’", "'")
        if not p:
            continue
        body = r"\s+".join(re.escape(w).replace("'", "['’]") for w in p.split())
        parts.append((r"\b" if p[0].isalnum() else "") + body + (r"\b" if p[-1].isalnum() else ""))
    return _rx("|".join(f"(?:{p})" for p in parts)) if parts else None


@lru_cache(maxsize=32)
def _signature_re(fmt: str, default: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z_]+\})", fmt)
    pat = ""
    for part in parts:
        if part == "{initials}":
            pat += r"[A-Z][A-Za-z]{0,3}"
        elif part in ("{name}", "{first_name}", "{agent}"):
            pat += r"[A-Z][a-z]+"
        elif part.startswith("{") and part.endswith("}"):
            pat += r"\S+"
        else:
            pat += r"\s*".join(re.escape(w) for w in part.split()) if part.strip() else r"\s*"
    alts = [pat] + ([re.escape(default.strip())] if default.strip() else [])
    return re.compile(r"(?:^|[\s.!?,;:)])(?:" + "|".join(alts) + r")\.?\s*$")


def _domain_allowed(host: str, allowed: list[str]) -> bool:
    host = host.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return any(host == d or host.endswith("." + d) for d in (a.lower().lstrip(".") for a in allowed))


def _host(url: str) -> str:
    u = re.sub(r"^[a-z]+://", "", url, flags=_I)
    return re.split(r"[/?#:]", u, maxsplit=1)[0]


def _words(text: str) -> list[str]:
    return WORD_RE.findall(text)


def _sentences(text: str) -> list[tuple[int, int]]:
    out = []
    for m in SENTENCE_RE.finditer(text):
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in spans)


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


_NEGATE = frozenset(NEGATE)
_VADER_TOKEN_RE = re.compile(r"[a-z']+")


def _compound(chunk: str) -> float:
    """VADER's compound score. The analyzer (the costliest step of the check) runs only when the sentence has a
    word VADER scores negative or a negation; otherwise nothing can turn it negative, and the sum of its words'
    valences, normalized the way VADER normalizes, is close enough for the labels."""
    lex = _vader.lexicon
    total = 0.0
    for w in _VADER_TOKEN_RE.findall(chunk.lower()):
        v = lex.get(w, 0.0)
        if v < 0 or w in _NEGATE or w.endswith("n't"):
            return _vader.polarity_scores(chunk)["compound"]
        total += v
    return total / math.sqrt(total * total + 15) if total else 0.0


def _has_substance(t: str, sentences: list[tuple[int, int]], name: str | None, handle: str | None) -> bool:
    """Whether some sentence says something beyond greetings, thanks, apologies and empathy: an answer."""
    for s, e in sentences:
        chunk = SIGNATURE_RE.sub("", t[s:e]) if e == len(t.rstrip()) else t[s:e]
        chunk = ACK_RE.sub(" ", PLEASANTRY_RE.sub(" ", URL_RE.sub(" ", HANDLE_RE.sub(" ", chunk))))
        words = [w.lower() for w in WORD_RE.findall(chunk)]
        left = [w for w in words if w not in STOPWORDS and w != (name or "").lower() and w != (handle or "").lower()]
        if len(left) >= 2:
            return True
    return False


def _phones(text: str) -> list[re.Match[str]]:
    """Phone-number-like runs: 10+ digits, or 7+ digits written with separators; not an order or case reference,
    and not a card number (that is its own finding)."""
    out = []
    for m in PHONE_RE.finditer(text):
        raw = m.group(0).strip()
        d = _digits(raw)
        if len(d) < 7 or (len(d) < 10 and raw.isdigit()) or len(d) > 15:
            continue
        if REFERENCE_BEFORE_RE.search(text, max(0, m.start() - 14), m.start()):
            continue
        if 13 <= len(d) <= 19 and _luhn(d):
            continue
        out.append(m)
    return out


def _luhn(num: str) -> bool:
    total, alt = 0, False
    for ch in reversed(num):
        d = ord(ch) - 48
        if alt:
            d *= 2
            if d > 9:
                d -= 9
        total += d
        alt = not alt
    return total % 10 == 0


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# --------------------------------------------------------------------------------------------------------------
# Public helpers
# --------------------------------------------------------------------------------------------------------------
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_PLACEHOLDER_RE = re.compile(r"\{[^{}]*\}")


def _leak_span(text: str, secret_text: str, min_words: int) -> tuple[int, int] | None:
    if not secret_text or min_words < 1:
        return None
    grams: set[tuple[str, ...]] = set()
    for chunk in _PLACEHOLDER_RE.split(secret_text.lower().replace("’", "'")):
        toks = _TOKEN_RE.findall(chunk)
        for i in range(len(toks) - min_words + 1):
            grams.add(tuple(toks[i:i + min_words]))
    if not grams:
        return None
    low = text.lower().replace("’", "'")
    toks = [(m.group(0), m.start(), m.end()) for m in _TOKEN_RE.finditer(low)] if len(low) == len(text) else [
        (m.group(0), m.start(), m.end()) for m in _TOKEN_RE.finditer(text.replace("’", "'"))]
    start: int | None = None
    end = 0
    for i in range(len(toks) - min_words + 1):
        if tuple(t[0].lower() for t in toks[i:i + min_words]) in grams:
            if start is None:
                start = toks[i][1]
            end = max(end, toks[i + min_words - 1][2])
    return (start, end) if start is not None else None


def echoes(text: str, secret_text: str, min_words: int = 8) -> bool:
    """True when `text` repeats `min_words` or more consecutive words of `secret_text` (e.g. the system prompt).

    Template placeholders like {brand} in the secret break runs, so a formatted or raw prompt both work.
    """
    return _leak_span(text or "", secret_text or "", min_words) is not None


def politeness(text: str) -> float:
    """Politeness 0..1 from politeness strategies (gratitude, apology, hedges, indirect requests, against
    why-questions, second-person starts, factuality, negativity). See `_POLITE_FEATURES`."""
    t = text.replace("’", "'").strip()
    s = _POLITE_BIAS + _POLITE_LENGTH * math.log1p(len(t.split())) / 3
    for rx, w in _POLITE_FEATURES:
        n = len(rx.findall(t))
        if n:
            s += w * min(n, 3)
    return _sigmoid(2.0 * s)


_VOWELS_RE = re.compile(r"[aeiouy]+")
_SENT_END_RE = re.compile(r"[.!?]+(?=\s|$)")


@lru_cache(maxsize=8192)
def syllables(word: str) -> int:
    """Syllables by vowel groups, less a silent final e and a silent -ed: within one syllable on ~9 in 10 English
    words, which is all a grade formula needs."""
    w = word.lower().strip("'")
    if w.endswith("'s"):
        w = w[:-2]
    n = len(_VOWELS_RE.findall(w))
    if n > 1 and w.endswith("e") and not w.endswith(("le", "ee", "ye")):
        n -= 1
    if n > 1 and len(w) > 3 and w.endswith("ed") and w[-3] not in "aeioutdy":
        n -= 1
    return max(1, n)


def readability_grade(text: str) -> float:
    """Flesch-Kincaid grade level (the formula textstat's `flesch_kincaid_grade` uses). Syllables are counted
    here because textstat 0.7 looks English words up in NLTK's cmudict, which it downloads on first use: the tone
    check must never touch the network."""
    words = WORD_RE.findall(text)
    if not words:
        return 0.0
    sentences = max(1, len(_SENT_END_RE.findall(text)))
    syl = sum(syllables(w) for w in words)
    return 0.39 * len(words) / sentences + 11.8 * syl / len(words) - 15.59


def readability_tolerance(words: int) -> float:
    """Grades above the pack's target that still pass: grade formulas swing by a grade or two on a single short
    sentence, so a short draft must be clearly over before the agent is told to rewrite it."""
    return 2.0 if words < 30 else 1.0 if words < 60 else 0.0


# --------------------------------------------------------------------------------------------------------------
# The check
# --------------------------------------------------------------------------------------------------------------
def _context(post: Any, analysis: Any) -> dict[str, Any]:
    facts = analysis if isinstance(analysis, dict) else {}
    post = post if isinstance(post, dict) else {}
    author = post.get("author") or {}
    name = facts.get("name")
    if not name and author.get("name"):
        name = str(author["name"]).split()[0]
    handle = facts.get("handle") or author.get("handle")
    sentiment = facts.get("sentiment")
    if sentiment is None and post.get("text"):
        sentiment = _vader.polarity_scores(post["text"])["compound"]
    known = bool(facts) or bool(post)
    intent = facts.get("intent")
    severity = facts.get("severity")
    upset = known and (severity in ("high", "critical") or intent in UPSET_INTENTS
                       or (isinstance(sentiment, int | float) and sentiment <= -0.3))
    return {"known": known, "name": name if isinstance(name, str) and name.strip() else None,
            "handle": str(handle).lstrip("@") if handle else None, "intent": intent, "severity": severity,
            "sentiment": sentiment, "upset": upset, "post_text": str(post.get("text") or "")}


def check(text: str, platform: str, pack: Any = None, post: Any = None, analysis: Any = None, *,
          system_prompt: str | None = None) -> dict[str, Any]:
    """The ToneReport of DESIGN.md for a draft reply on `platform` ("x" or "facebook").

    `pack` (a Pack or its data dict) supplies the supervisor's rules; `post` and `analysis` the customer context;
    `system_prompt` (the LLM guard's) turns on the prompt-leak rule.
    """
    text = text if isinstance(text, str) else ""
    data = _pack_data(pack)
    tone_cfg = data.get("tone") or {}
    channel = (data.get("channels") or {}).get(platform) or {}
    sig_cfg = data.get("signature") or {}
    ctx = _context(post, analysis)
    t = text.replace("’", "'").replace("‘", "'")  # same length as text: spans stay valid
    n = len(text)
    findings: list[dict[str, Any]] = []
    stripped_end = len(text.rstrip())

    # --- pack phrases -------------------------------------------------------------------------------------
    banned_spans: list[tuple[int, int]] = []
    pack_name = str((data.get("pack") or {}).get("name") or "")
    banned = _phrase_re(tuple(tone_cfg.get("banned_phrases") or ()))
    if banned is not None:
        for m in banned.finditer(t):
            banned_spans.append(m.span())
            findings.append(_finding("banned_phrase", f"'{text[m.start():m.end()]}' is banned by the {pack_name} "
                                     "pack's tone rules. Remove or rephrase it.",
                                     m.span(), _suggest_replacement(text, m.span(), _lexicon_suggestion(m.group(0)))))
    for phrase in tone_cfg.get("required_phrases") or ():
        rx = _phrase_re((phrase,))
        if rx is not None and not rx.search(t):
            findings.append(_finding("required_phrase", f"The pack requires the phrase '{phrase}'.",
                                     (stripped_end, stripped_end), _add_before_signature(text, phrase)))

    # --- hostile wording ------------------------------------------------------------------------------------
    hostile_hits = 0
    for rule, (rx, suggestions) in _COMBINED.items():
        for m in rx.finditer(t):
            hostile_hits += 1
            if _overlaps(m.span(), banned_spans):
                continue  # the pack's own banned_phrase finding already covers it
            sug = suggestions[int(m.lastgroup[1:])] if m.lastgroup else None
            msg = _LEXICON_MESSAGES[rule].format(m=m.group(0).strip(" ,"))
            findings.append(_finding(rule, msg, m.span(),
                                     _suggest_replacement(text, m.span(), sug) if sug is not None else None))
    for m in _INSULT_RE.finditer(t):
        hostile_hits += 1
        findings.append(_finding("insult", f"'{m.group(0)}' is insulting or profane; a brand never uses it with a "
                                 "customer, even a rude one.", m.span(), _suggest_replacement(text, m.span(), "")))

    # --- shouting and punctuation ----------------------------------------------------------------------------
    url_spans = [m.span() for m in URL_RE.finditer(t)]
    brand_caps = {w.upper() for w in _brand_words(data) if w.isupper()}
    shouted = [m for m in SHOUT_TOKEN_RE.finditer(text)
               if m.group(0).replace("'", "") not in ACRONYMS and m.group(0) not in brand_caps
               and not _overlaps(m.span(), url_spans)]
    letters = len(_LETTER_RE.findall(text))
    caps = len(_UPPER_RE.findall(text))
    long_shout = [m for m in shouted if len(m.group(0)) >= 4]
    if len(shouted) >= 2 or long_shout or (letters >= 12 and caps / letters > 0.6):
        group = shouted or [m for m in SHOUT_TOKEN_RE.finditer(text)]
        s, e = (group[0].start(), group[-1].end()) if group else (0, n)
        findings.append(_finding("shouting", "Capitals read as shouting. Use sentence case; emphasis comes from the "
                                 "words, not the caps.", (s, e),
                                 _suggest_replacement(text, (s, e), _sentence_case(text[s:e]), tidy=False)))
    piles = list(PILE_RE.finditer(text))
    for m in piles:
        findings.append(_finding("punctuation_pile", f"'{m.group(0)}' reads as exasperated. One mark is enough.",
                                 m.span(), _suggest_replacement(text, m.span(), "?" if "?" in m.group(0) else "!")))
    if not piles:
        bangs = [m.start() for m in EXCLAIM_RE.finditer(text)]
        if len(bangs) >= 3:
            findings.append(_finding("punctuation_pile", f"{len(bangs)} exclamation marks in one reply read as "
                                     "over the top. Keep one at most.", (bangs[2], bangs[-1] + 1)))

    # --- sentiment ----------------------------------------------------------------------------------------
    sentences = _sentences(text)
    worst = (0.0, (0, n))
    hostile_sentence = False
    weighted = 0.0
    weight = 0
    scored_action = False
    for s, e in sentences:
        chunk = t[s:e]
        if ACK_RE.search(chunk):
            continue  # an apology or empathy sentence describes the problem; its negativity is sympathy
        chunk = URL_RE.sub(" ", chunk)
        words = len(_words(chunk))
        c = _compound(chunk)
        weighted += c * words
        weight += words
        acts = ACTION_RE.search(chunk) is not None
        scored_action = scored_action or acts
        # A sentence about a fix ("we've fixed the broken link") names the problem: it must be clearly hostile.
        if c <= (-0.65 if acts else -0.45):
            hostile_sentence = True
        if c < worst[0]:
            worst = (c, (s, e))
    overall = weighted / weight if weight else 0.0
    if hostile_sentence or (overall <= (-0.65 if scored_action else -0.45) and len(sentences) > 1):
        findings.append(_finding("negative_sentiment", "This reads negative or hostile. Keep the wording positive "
                                 "and about what you will do.", worst[1]))

    # --- empathy, personalization, usefulness ------------------------------------------------------------------
    ack = ACK_RE.search(t)
    action = ACTION_RE.search(t)
    name = ctx["name"]
    if ctx["upset"] and (ack is None or (action is not None and ack.start() > action.start())):
        first = sentences[0] if sentences else (0, n)
        if ack is None:
            msg = "The customer is upset and the reply does not acknowledge it. Start with empathy before the fix."
        else:
            msg = "The acknowledgement comes after the fix. Acknowledge how they feel first, then fix it."
        findings.append(_finding("missing_empathy", msg, (first[0], first[1]),
                                 _add_at_start(text, "I'm sorry about this, I can see why it's frustrating.", name)))
    handle = ctx["handle"]
    if (name or handle) and ctx["intent"] not in ("abuse", "spam"):
        found = False
        if name and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, _I):
            found = True
        if handle and re.search(rf"@?(?<!\w){re.escape(handle)}(?!\w)", text, _I):
            found = True
        if not found:
            who = name or f"@{handle}"
            findings.append(_finding("missing_name", f"Address the customer by name ({who}): it shows a person read "
                                     "their post.", (0, 0), _add_name(text, who)))
    deflect = DEFLECT_RE.search(t)
    phone_in_text = _phones(t)
    deflect_span = deflect.span() if deflect else (url_spans[0] if url_spans else (
        phone_in_text[0].span() if phone_in_text else None))
    intent = ctx["intent"]
    if intent:
        needs_action = intent in ACTION_INTENTS
        answer_counts = intent == "question"
    else:  # no intent known: a draft that acknowledges a problem owes a next step
        needs_action = ctx["upset"] or ack is not None
        answer_counts = not ctx["upset"]
    if needs_action and answer_counts and _has_substance(t, sentences, name, handle):
        needs_action = False
    if action is None and intent not in ("praise", "spam", "abuse"):
        strong = deflect is not None or (phone_in_text and deflect_span is not None)
        if deflect_span is not None and (strong or needs_action):
            findings.append(_finding("deflection", "The reply only sends the customer elsewhere. Answer or act "
                                     "yourself, and say what happens next.", deflect_span,
                                     _add_before_signature(text, NEXT_STEP)))
        elif needs_action:
            findings.append(_finding("missing_next_step", "There is no answer, action or next step. Say what you "
                                     "will do and when.", (stripped_end, stripped_end),
                                     _add_before_signature(text, NEXT_STEP)))

    # --- signature ---------------------------------------------------------------------------------------------
    if sig_cfg.get("required"):
        default_sig = str(sig_cfg.get("default") or "")
        sig_re = _signature_re(str(sig_cfg.get("format") or "^{initials}"), default_sig)
        body = text.rstrip()
        if not (sig_re.search(body) or SIGNATURE_RE.search(body)):
            findings.append(_finding("missing_signature", "The pack asks agents to sign replies (e.g. "
                                     f"{default_sig or sig_cfg.get('format')}).", (stripped_end, stripped_end),
                                     f"{body} {default_sig}".rstrip() if default_sig else None))

    # --- privacy -------------------------------------------------------------------------------------------------
    findings.extend(_privacy(text, t, sentences, ctx, data, platform, url_spans))

    # --- channel fit ---------------------------------------------------------------------------------------------
    limit, counting = DEFAULT_LIMITS.get(platform, (280, "twitter"))
    if channel.get("limit"):
        limit = int(channel["limit"])
    counting = channel.get("counting") or counting
    emojis = _emoji_spans(text) if not text.isascii() else {}
    if counting == "twitter":
        count, at = _weigh(text, limit, emojis)
    else:
        count, at = n, min(limit, n)
    if count > limit:
        findings.append(_finding("length_over_limit", f"{count} characters: {count - limit} over the "
                                 f"{'X' if platform == 'x' else platform} limit of {limit}.", (at, n),
                                 None))
    elif channel.get("recommended") and count > int(channel["recommended"]):
        rec = int(channel["recommended"])
        findings.append(_finding("length_over_recommended", f"{count} characters; the pack recommends at most {rec} "
                                 f"on {platform}.", (min(rec, n), n)))
    max_grade = channel.get("readability_max_grade")
    if max_grade:
        plain = _plain_for_readability(text, url_spans)
        nwords = len(_words(plain))
        if nwords >= 12:
            grade = readability_grade(plain)
            if grade > float(max_grade) + readability_tolerance(nwords):
                findings.append(_finding("readability", f"Reads at school grade {grade:.1f}; the pack's target is "
                                         f"{float(max_grade):g} or below. Use shorter sentences and plainer words.",
                                         (0, stripped_end)))
    allowed = tone_cfg.get("allowed_domains")
    if allowed:
        for m in URL_RE.finditer(t):
            host = _host(m.group(0))
            if not _domain_allowed(host, list(allowed)):
                findings.append(_finding("url_not_allowed", f"Links to {host} are not allowed by the pack (allowed: "
                                         f"{', '.join(allowed)}).", m.span(), _suggest_replacement(text, m.span(), "")))
    if (data.get("pack") or {}).get("emoji") is False and emojis:
        first = min(emojis.items())
        findings.append(_finding("emoji_not_allowed", "The pack's voice does not use emoji.", first))

    # --- prompt leak ---------------------------------------------------------------------------------------------
    if system_prompt:
        leak = _leak_span(text, system_prompt, 8)
        if leak is not None:
            findings.append(_finding("prompt_leak", "The reply repeats the system prompt; it must never reach a "
                                     "customer.", leak, None))

    # --- labels, score, verdict ----------------------------------------------------------------------------------
    labels = _labels(text, t, findings, hostile_hits, overall, name, bool(emojis))
    score = 100.0
    for f in findings:
        score -= PENALTY[f["severity"]]
    score -= 15 * max(labels["defensive"], labels["frustrated"])
    score += 4 * (labels["polite"] - 0.5) + 3 * max(labels["sympathetic"], labels["apologetic"])
    score = int(round(max(0.0, min(100.0, score))))
    min_score = tone_cfg.get("min_score")
    has_block = any(f["severity"] == "block" for f in findings)
    if min_score is not None and score < float(min_score) and not has_block:
        findings.append(_finding("low_score", f"Tone score {score} is below the pack's minimum of {min_score:g}.",
                                 (0, stripped_end)))
    findings.sort(key=lambda f: (f["span"][0], f["span"][1]))
    if any(f["severity"] == "block" for f in findings):
        verdict = "block"
    elif any(f["severity"] == "warn" for f in findings):
        verdict = "warn"
    else:
        verdict = "ok"
    return {"score": score, "verdict": verdict, "labels": labels, "findings": findings,
            "length": {"count": count, "limit": limit}}


def _brand_words(data: dict[str, Any]) -> list[str]:
    meta = data.get("pack") or {}
    words = [str(meta.get("brand") or "")]
    for handles in (meta.get("handles") or {}).values():
        words.extend(str(h) for h in handles)
    words.extend(str(p) for p in meta.get("products") or ())
    return [w for w in words if w]


def _lexicon_suggestion(phrase: str) -> str | None:
    p = phrase.replace("’", "'")
    for entries in LEXICONS.values():
        for rx, sug in entries:
            if rx.fullmatch(p) or rx.match(p):
                return sug
    return ""


def _suggest_replacement(text: str, span: tuple[int, int], replacement: str | None, tidy: bool = True) -> str | None:
    """The whole draft with `span` replaced, tidied (spaces, a leading comma, sentence case): suggestions are
    always complete drafts, so the extension can offer "apply" without stitching text itself."""
    if replacement is None:
        return None
    s, e = span
    out = text[:s] + replacement + text[e:]
    if not tidy:
        return out
    out = re.sub(r"\s{2,}", " ", out)
    out = re.sub(r"\s+([,.!?;:])", r"\1", out)
    out = re.sub(r"(^|[.!?]\s+)[,;:]\s*", r"\1", out.strip())
    return re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), out)


def _sentence_case(s: str) -> str:
    low = re.sub(r"\bi\b", "I", s.lower())
    return re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), low)


_SIG_TAIL_RE = re.compile(r"\s*(?:\^\s?[A-Z][A-Za-z]{0,3}|[-–—~/]\s?[A-Z][A-Za-z]{0,15}(?: [A-Z][A-Za-z]*)?)\.?\s*$")
_GREETING_RE = _rx(r"^\s*(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening))(?: there)?\b[,!]?\s*")


def _add_before_signature(text: str, addition: str) -> str:
    """The draft with a sentence added at the end, before the agent's signature if there is one."""
    body = text.rstrip()
    m = _SIG_TAIL_RE.search(body)
    head, tail = (body[:m.start()], body[m.start():]) if m else (body, "")
    head = head.rstrip()
    sep = " " if not head or head[-1] in ".!?" else ". "
    return (head + sep + addition if head else addition) + tail


def _add_at_start(text: str, sentence: str, name: str | None) -> str:
    """The draft opening with `sentence` (after the customer's name when the draft starts with it)."""
    body = text.lstrip()
    if name and body.lower().startswith(name.lower()):
        rest = body[len(name):].lstrip(" ,")
    else:
        rest = body
    rest = rest[:1].upper() + rest[1:]
    return f"{(name + ', ') if name else ''}{sentence} {rest}".rstrip()


def _add_name(text: str, who: str) -> str:
    """The draft addressing the customer: after a greeting ("Hi Kate,"), else in front ("Kate, ...")."""
    m = _GREETING_RE.match(text)
    if m:
        greeting = re.sub(r"(?i)\s*there\b", "", m.group(0).rstrip(" ,!"))
        return f"{greeting} {who}, {text[m.end():]}"
    body = text.lstrip()
    if body[:1].isupper() and not re.match(r"I\b|I'", body):
        body = body[0].lower() + body[1:]
    return f"{who}, {body}"


def _plain_for_readability(text: str, url_spans: list[tuple[int, int]]) -> str:
    out = text
    for s, e in sorted(url_spans, reverse=True):
        out = out[:s] + out[e:]
    out = HANDLE_RE.sub("", out)
    out = SIGNATURE_RE.sub("", out.rstrip())
    return out


def _privacy(text: str, t: str, sentences: list[tuple[int, int]], ctx: dict[str, Any], data: dict[str, Any],
             platform: str, url_spans: list[tuple[int, int]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    dm_phrase = ((data.get("channels") or {}).get(platform) or {}).get("dm_phrase") or (
        "send us a DM" if platform == "x" else "send us a private message")
    for s, e in sentences:
        sent = t[s:e]
        public = not DM_RE.search(sent) or bool(PUBLIC_RE.search(sent))
        seen: set[int] = set()
        for ask in ASK_RE.finditer(sent):
            window_end = min(len(sent), ask.end() + 90)
            for kind, rx in (("secret", SECRET_RE), ("personal", PERSONAL_RE)):
                if kind == "personal" and not public:
                    continue
                for m in rx.finditer(sent, ask.end(), window_end):
                    if m.start() in seen or not OWNER_RE.search(sent, ask.start(), m.start()):
                        continue
                    if NEGATION_RE.search(sent, 0, m.start()):
                        continue
                    if kind == "personal" and SECRET_RE.match(sent, m.start()):
                        continue
                    seen.add(m.start())
                    item = m.group(0).lower()
                    span = (s + ask.start(), s + m.end())
                    if kind == "secret":
                        out.append(_finding(
                            "private_data_request", f"Never ask for a {item}, not even in a private message: it is a "
                            "security risk and customers are taught to treat it as a scam.", span,
                            _suggest_replacement(text, (s, e), f"Please don't share your {item} with anyone, "
                                                 f"including us. {dm_phrase[0].upper() + dm_phrase[1:]} and I'll "
                                                 "help securely.")))
                    else:
                        out.append(_finding(
                            "private_data_request", f"Asking for their {item} in public exposes it to everyone. "
                            "Move this to a private message.", span,
                            _suggest_replacement(text, (s, e), f"Could you {dm_phrase} with your {item}?")))
    allowed = list((data.get("tone") or {}).get("allowed_domains") or [])
    for m in EMAIL_RE.finditer(t):
        host = m.group(0).rsplit("@", 1)[1]
        if allowed and _domain_allowed(host, allowed):
            continue
        out.append(_finding("private_data_exposed", "An email address in a public reply exposes it. Remove it and "
                            "move the conversation to a private message.", m.span(),
                            _suggest_replacement(text, m.span(), "your email")))
    for m in CARD_RE.finditer(t):
        d = _digits(m.group(0))
        if 13 <= len(d) <= 19 and _luhn(d):
            out.append(_finding("private_data_exposed", "This looks like a card number; never post it.", m.span(),
                                _suggest_replacement(text, m.span(), "your card")))
    for m in ACCOUNT_NO_RE.finditer(t):
        out.append(_finding("private_data_exposed", "An account number in a public reply exposes it.", m.span(),
                            _suggest_replacement(text, m.span(), "your account")))
    post_text = ctx["post_text"]
    if post_text:
        post_phones = {_digits(p.group(0)) for p in _phones(post_text)}
        for m in _phones(t):
            if _digits(m.group(0)) in post_phones:
                out.append(_finding("private_data_exposed", "This repeats the customer's phone number in public.",
                                    m.span(), _suggest_replacement(text, m.span(), "your number")))
        post_streets = {re.sub(r"\W+", " ", a.group(0).lower()).strip() for a in STREET_RE.finditer(post_text)}
        for m in STREET_RE.finditer(t):
            if re.sub(r"\W+", " ", m.group(0).lower()).strip() in post_streets:
                out.append(_finding("private_data_exposed", "This repeats the customer's address in public.",
                                    m.span(), _suggest_replacement(text, m.span(), "your address")))
    return out


def _labels(text: str, t: str, findings: list[dict[str, Any]], hostile_hits: int, sentiment: float,
            name: str | None, has_emoji: bool) -> dict[str, float]:
    rules = {f["rule"] for f in findings}
    words = max(1, len(_words(text)))
    apologies = len(APOLOGY_RE.findall(t))
    sympathy = len(SYMPATHY_RE.findall(t))
    formal = len(FORMAL_RE.findall(t))
    informal = len(INFORMAL_RE.findall(t))
    contractions = len(CONTRACTION_RE.findall(t))
    friendly = len(FRIENDLY_RE.findall(t)) + (1 if name and name.lower() in text.lower() else 0)
    defensive = hostile_hits + sum(1 for f in findings if f["rule"] == "banned_phrase")
    frustration = (2.0 * ("insult" in rules) + 1.2 * ("shouting" in rules) + 1.0 * ("punctuation_pile" in rules)
                   + 0.8 * ("sarcasm" in rules) + 0.8 * ("argumentative_phrase" in rules)
                   + max(0.0, -sentiment) * 2.0)
    polite = politeness(text)
    if defensive:
        polite *= 0.6 ** min(defensive, 3)
    if "insult" in rules:
        polite *= 0.3
    lab = {
        "polite": polite,
        "sympathetic": 1 - math.exp(-0.9 * sympathy),
        "apologetic": 1 - math.exp(-1.1 * apologies),
        "formal": _sigmoid(0.9 * formal - 0.7 * informal - 0.45 * contractions - (0.8 if has_emoji else 0)
                           + (0.3 if words > 25 else 0)),
        "friendly": _sigmoid(0.8 * friendly + 0.3 * (has_emoji) + 1.5 * max(0.0, sentiment) - 1.5 * defensive - 1.0),
        "defensive": 1 - math.exp(-0.8 * defensive),
        "frustrated": 1 - math.exp(-0.9 * frustration),
    }
    return {k: round(min(1.0, max(0.0, v)), 3) for k, v in lab.items()}
