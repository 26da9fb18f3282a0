"""Text normalisation and the hand-written cue features the linear heads read beside the n-grams.

Shared by training (`train.py`), evaluation (`evaluate.py`) and the runtime (`model.py`) so that the three can
never disagree on what a post looks like to the model. Changing anything here changes the features: retrain.
"""
from __future__ import annotations

import re

import numpy as np

URL = re.compile(r"https?://\S+|www\.\S+")
MENTION = re.compile(r"@\w+")
SPACE = re.compile(r"\s+")
# The airline set replaced "cancel"/"late" inside words with its reason labels; undo it before hashing.
_ARTEFACTS = (("Cancelled Flightled", "cancelled"), ("Cancelled Flighted", "cancelled"),
              ("Cancelled Flighting", "cancelling"), ("Cancelled Flightation", "cancellation"),
              ("Late Flightr", "later"), ("reFlight Booking Problems", "rebooking"))


def norm(text: str) -> str:
    """Entities decoded, links and @handles reduced to placeholders (a brand's name must not become a cue)."""
    t = text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    for bad, good in _ARTEFACTS:
        t = t.replace(bad, good)
    t = URL.sub(" http ", t)
    t = MENTION.sub(" @user ", t)
    return SPACE.sub(" ", t).strip()


def _rx(words: list[str]) -> re.Pattern[str]:
    return re.compile(r"(?i)\b(?:" + "|".join(words) + r")\b")


# Cue counts (capped at 3, scaled to 0..1) that the heads learn weights for; they are features, not decisions.
RULES: dict[str, re.Pattern[str]] = {
    "problem": _rx([r"delay(?:ed|s)?", r"cancel+(?:ed|led|lation)?", r"lost", r"missing", r"broken", r"damaged",
                    r"never (?:arrived|came|received|showed)", r"still (?:waiting|no|not|haven'?t)", r"on hold",
                    r"refund", r"charged?", r"overcharged", r"not working", r"doesn'?t work",
                    r"won'?t (?:work|load|let)", r"can'?t (?:log|get|access|find|check)", r"wrong", r"stuck",
                    r"stranded", r"worst", r"terrible", r"horrible", r"awful", r"unacceptable", r"disappoint\w*",
                    r"ridiculous", r"fail(?:ed|ure)?", r"again", r"no (?:one|response|reply|answer)", r"waste",
                    r"useless", r"rude"]),
    "question": re.compile(r"\?|(?i:^(?:@user\s+)*(?:how|what|when|where|why|which|who|is|are|do|does|did|can|"
                           r"could|will|would|should)\b)"),
    "why": _rx([r"why"]),
    "request": _rx([r"please", r"pls", r"plz", r"can you", r"could you", r"i need", r"i want", r"i'?d like",
                    r"help", r"dm me", r"call me", r"fix", r"send me"]),
    "thanks": _rx([r"thanks?", r"thank you", r"thx", r"ty", r"appreciate\w*", r"love", r"great", r"awesome",
                   r"amazing", r"best", r"kudos"]),
    "urgent": re.compile(r"(?i)\b(?:in|within|only|next)\s+(?:\d+|an?|one|two|three|few)\s*(?:min(?:ute)?s?|"
                         r"hours?|hrs?|h)\b|\b(?:tomorrow|tonight|asap|urgent\w*|right now|immediately|emergency)\b"
                         r"|\b(?:flight|train|bus) (?:leaves|departs|boards)\b|\b(?:wedding|funeral|interview|"
                         r"surgery)\b"),
    "outage": re.compile(r"(?i)\b(?:is|are)\s+(?:\w+\s+)?(?:down|offline)\b|\boutage\b|\bservers? (?:are |is )?"
                         r"down\b|\b(?:site|app|website|service|internet|network|wifi|power) (?:is |has been )?"
                         r"(?:down|out)\b|\bnot loading\b|\b(?:everyone|nobody|anyone else)\b.*\b(?:down|working)\b"),
    "legal_safety": re.compile(r"(?i)\b(?:lawyer|attorney|sue|suing|lawsuit|legal action|small claims|court|"
                               r"ombudsman|trading standards|chargeback|fraud|food poisoning|allerg(?:y|ic|en)|"
                               r"injur\w*|unsafe|danger\w*|fire|caught fire|exploded|smoke|choking|hospital|recall|"
                               r"discriminat\w*|data (?:breach|leak)|privacy)\b"),
    "threat": re.compile(r"(?i)\b(?:i(?:'ll| will| am going to|'m gonna| gonna)|we(?:'ll| will))\s+(?:\w+\s+){0,3}"
                         r"(?:kill|hurt|shoot|stab|burn|bomb|beat|find you|come for|destroy)\b|\byou(?:'re| are) "
                         r"(?:dead|gonna die)\b|\bwatch your back\b|\bi know where you\b"),
    "spam": re.compile(r"(?i)\b(?:free (?:followers|iphone|gift)|click (?:here|the link)|win (?:a|an|cash|\$)|"
                       r"giveaway|promo code|crypto|bitcoin|forex|earn \$?\d+|work from home|dm (?:for|me for) "
                       r"(?:promo|collab)|follow back|onlyfans|viagra|casino|loan offer)\b"),
    "sarc_pos": re.compile(r"(?i)\b(?:great|thanks?|thank you|love|awesome|amazing|brilliant|fantastic|perfect|"
                           r"wonderful|lovely|nice|well done|good job|great job|way to go|so helpful|fun)\b"
                           r"|\U0001F44F|\U0001F643"),
    "allcaps": re.compile(r"\b[A-Z]{4,}\b"),
    "exclaim": re.compile(r"!{2,}"),
    "clap": re.compile("[\U0001F44F\U0001F644\U0001F612\U0001F621\U0001F620\U0001F92C]"),
    "pos_emoji": re.compile("[\U0001F600-\U0001F60D\u2764\U0001F495\U0001F389\U0001F44D]"),
}
RULE_NAMES = list(RULES)


def rule_vector(texts: list[str]) -> np.ndarray:
    """One row of capped cue counts per (normalised) text."""
    out = np.zeros((len(texts), len(RULE_NAMES)), dtype=np.float32)
    for i, t in enumerate(texts):
        for j, k in enumerate(RULE_NAMES):
            out[i, j] = min(len(RULES[k].findall(t)), 3) / 3.0
    return out
