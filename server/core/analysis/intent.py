"""Intent: which kind of post this is (complaint, question, request, praise, outage, legal_safety, threat, abuse,
spam).

Weighted cue patterns score every intent, then a decision list a care team would follow picks one: spam and
attacks first, then safety, outages, then the rest. The patterns are compiled once at import.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from server.core.analysis.text import rx

# --- Intent cues: (pattern, weight). Patterns run on the lower-cased text without @mentions. -----------------
_W = list[tuple[re.Pattern[str], float]]

SPAM: _W = [
    (rx(r"\bearn(ing)? \$?\d"), 3),
    (rx(r"\$\s?\d[\d,.]*k?\s*(/|a |per )\s*(day|week|month|hour|hr)\b"), 3),
    (rx(r"\bturn \$?\d[\d,]* into \$?\d"), 3),
    (rx(r"\b(work(ing)?|earn(ing)?|income) from home\b"), 2),
    (rx(r"\bfrom home\b"), 1),
    (rx(r"\bclick (here|now|the link|below|to claim|link)\b"), 3),
    (rx(r"\bclick\b"), 1),
    (rx(r"\b(bit\.ly|tinyurl\.com|goo\.gl|cutt\.ly|rb\.gy|is\.gd|shorturl\.at|ow\.ly)/"), 2),
    (rx(r"\b(crypto|bitcoin|btc|forex|nft|airdrop|signals)\b"), 2),
    (rx(r"\b(giveaway|free iphone|free followers|follow back|f4f)\b"), 2),
    (rx(r"\b(\d+(\.\d)?[km] (followers|likes|subscribers)|grow (your (page|account|brand)|fast))\b"), 2),
    (rx(r"\b(collab|collaboration|promote (your |brands?|businesses)|sponsored post|paid promotion)\b"), 2),
    (rx(r"\b\d{2}% off\b|\b(designer (bags|watches|sunglasses)|replica|knock-?offs?)\b"), 2),
    (rx(r"\blimited (time|offer|stock)\b"), 1),
    (rx(r"\b(check|see) (my |the )?(bio|profile)\b|\blink in bio\b"), 2),
    (rx(r"\b(guaranteed (loans?|income|returns?|profit)|no credit check)\b"), 2),
    (rx(r"\b(cash fast|make money|limited spots|act now|100% free|ask me how)\b"), 2),
    (rx(r"\b(visit|claim at|go to) [a-z0-9-]+\.[a-z]{2,}"), 1),
    (rx(r"\b(hot singles|onlyfans|sexy|adult dating)\b"), 3),
    (rx(r"\b(dm|message) me (now|for (details|info|more)|to (join|learn))\b"), 2),
]

INJECTION: _W = [
    (rx(r"\bignore (all |any |your |the )?(previous |prior |above |earlier )?(instructions|prompts?|rules)\b"), 5),
    (rx(r"\b(system prompt|admin password|root password|developer mode|jailbreak)\b"), 3),
    (rx(r"\byou are now (dan|an? )|\bpretend (to be|you are)\b|\bact as (an? )?(unfiltered|evil)\b"), 3),
]

ABUSE: _W = [
    (rx(r"\b(idiots?|morons?|imbeciles?|clowns?|cretins?|losers|scum(bags)?|retards?|bastards?|assholes?|"
        r"arseholes?|wankers?|twats?|dickheads?|brain ?dead|muppets)\b"), 3),
    (rx(r"\b(stupid|pathetic|incompetent|useless) (company|people|idiots|bunch|lot|morons|clowns|brand)\b"), 2),
    (rx(r"\bpathetic\b|\bstupid\b"), 1),
    (rx(r"\b(f+u+c+k+ (you|off|u|this)|screw (you|u)|shut up|go to hell|piss off|kill yourselves|drop dead)\b"), 3),
    (rx(r"\b(go (bankrupt|bust|broke)|hope you (go|die|fail|burn)|rot in)\b"), 2),
    (rx(r"\b(you people|you lot|the lot of you|everyone who works)\b"), 1),
    (rx(r"\b(garbage|trash|potato|toddler|lmao|imagine being)\b"), 1),
    (rx(r"🤡|🖕|💩"), 1),
]

# Violence or intimidation aimed at staff or the brand: reported to security, never engaged (docs/DESIGN.md).
THREAT: _W = [
    (rx(r"\b(i|we)('ll| will| am going to|'m going to|'m gonna| gonna| are going to)\s+(\w+\s+){0,3}"
        r"(kill|hurt|shoot|stab|burn|bomb|beat|smash|blow up|come for|find)\b"), 3),
    (rx(r"\b(watch your backs?|i know where (you|your \w+) (live|work|are)|you('re| are) (dead|gonna die|"
        r"going to die)|(you|your staff|your crew) (will|gonna) (pay|regret|bleed)|bomb (threat|in|at)|"
        r"waiting for (you|your \w+) (outside|after)|next time i see)\b"), 3),
]

LEGAL: _W = [
    (rx(r"\b(burn(ed|t|s)? (my|his|her|their|our|me|him)|burns|injur(ed|y|ies)|hurt (me|my|him|her|us|them|"
        r"myself)|(cut|sliced) (my|his|her) (hand|finger|arm|leg)|nearly cut|bleeding|hospital|a&e|emergency room|"
        r"ambulance|allergic reaction|anaphyla\w*|chok(ed|ing)|food poisoning|poison(ed|ing)|electric(al)? shock|"
        r"electrocut\w*|shocked (me|him|her)|caught fire|on fire|fire hazard|sparked|sparks|smok(e|ing) (came|"
        r"coming|pouring)|explod(ed|ing)|exploded|melted|glass shards|shards of glass|unsafe|dangerous|"
        r"safety (issue|hazard|concern|risk)|product recall|choking hazard)\b"), 3),
    (rx(r"\b(lawyers?|attorneys?|solicitors?|sue|suing|lawsuit|legal action|take (you|this) to court|"
        r"small claims|trading standards|ombudsman|class action|data breach|gdpr|discriminat\w*|"
        r"(sexual(ly)? )?harass\w*|assault\w*|report(ing)? (it|this|you) to the (police|regulator)|"
        r"reported (it|this|you) to the police|police report|reversed into my car|hit my car)\b"), 3),
    (rx(r"\b(reporting (it|this|you)|i am reporting|someone else'?s (bank statement|account|data|details|"
        r"order|address))\b"), 2),
]

OUTAGE: _W = [
    (rx(r"\b(app|site|website|web ?site|service|server|servers|portal|online banking|checkout|log ?in|login|"
        r"page|system|network|api|payments?|card payments)\s+(is\s+|are\s+|was\s+|seems?\s+|keeps?\s+|"
        r"has been\s+|have been\s+|'s been\s+|went\s+|goes\s+)?"
        r"(down|offline|not loading|not working|failing|broken|crashing|crashed|timing out)\b"), 3),
    (rx(r"\b(is|are) (it|you|the \w+) down\b|\b(down|offline) (again|for everyone|for anyone)\b"), 3),
    (rx(r"\b(outage|outages|service disruption|status page)\b"), 3),
    (rx(r"\b(error|errors)\s*(code\s*)?[45]\d\d\b|\b[45]0\d (error|errors)\b|\bthrowing an? [45]\d\d\b|"
        r"returning [45]\d\d"), 2),
    (rx(r"\b(can'?t|cannot|can not|unable to|won'?t let me) (log ?in|sign ?in|access|load|connect|"
        r"open the app|check out|pay)\b"), 2),
    (rx(r"\b(anyone else|is it just me|just me or|for anyone else|everyone else)\b"), 2),
    (rx(r"\b(nobody|no one|noone|none of us|no customer|customers) can'?t? (pay|log ?in|sign ?in|check ?out|order)\b"),
     2),
    (rx(r"\b(keeps crashing|keeps freezing|won'?t load|not loading|nothing loads|spins forever|"
        r"failing everywhere|since the update)\b"), 2),
]

PRAISE: _W = [
    (rx(r"\b(thank you|thanks|thank u|thx|ty so much|kudos|shout ?out|props to|cheers)\b"), 2),
    (rx(r"\b(love|loving|obsessed with|adore)\b"), 2),
    (rx(r"\b(amazing|awesome|fantastic|brilliant|excellent|superb|wonderful|outstanding|incredible|perfect(ly)?|"
        r"impressed|delighted|so kind|so helpful|above and beyond|you rock|well done|made my day|10/10|"
        r"five stars|5 stars|highly recommend|no fuss|fastest|appreciate)\b"), 2),
    (rx(r"\b(great|happy|pleased|smile|early|quickly|easier)\b"), 1),
    (rx(r"😍|🥰|❤️|❤|💕|💙|🙌|👏|🎉|🥳|🙏|😊|🧁|🎂|👍"), 1),
]
_NEGATED = rx(r"\b(not|never|no|hardly|isn'?t|wasn'?t|n'?t)\s+(so\s+|very\s+|that\s+|too\s+|at all\s+)?$")
_SARCASTIC_THANKS = rx(r"\bthanks? (for nothing|a lot for nothing)\b|\bthanks a lot\b.*\b(not|never|again)\b")

QUESTION: _W = [
    (rx(r"\?+"), 1),
    (rx(r"(^|[.!?]\s+)((hey|hi|hello|quick q)[,!]?\s+)?(how|what|when|where|why|which|who|do|does|did|is|are|"
        r"will|would|should|has|have|may i|can i|could i|any chance)\b"), 2),
    (rx(r"\b(how (do|can|long|much|many|does)|what (is|are|time|does|do)|when (will|does|is|do|are)|"
        r"where (is|are|can|do)|is there|are there|do you (ship|have|sell|offer|deliver|accept|open|stock|take|"
        r"know)|does (the|it|your|this)|any idea|anyone know|wondering (whether|how|what|when|where|why)|"
        r"quick question|would you recommend|which \w+ would)\b"), 2),
]

REQUEST: _W = [
    (rx(r"\b(can|could|would|will) you (please |kindly |pls |just )?(change|update|cancel|send|resend|"
        r"expedite|speed|upgrade|add|remove|refund|replace|exchange|reschedule|check|help|get|look|hold|extend|"
        r"waive|fix|delete|close|reset|call|email|confirm|arrange|reissue|switch|rebook|move|process|book)\b"), 3),
    (rx(r"\bwould you be able to\b|\bis it possible to\b|\bplease can you\b|\bcan i get\b"), 3),
    (rx(r"\b(can|could) (someone|somebody|anyone|you guys) (please )?\w+|\b(call|ring|email) me back\b"), 3),
    (rx(r"\b(please|pls|plz|kindly) (change|update|cancel|send|resend|expedite|upgrade|add|remove|refund|"
        r"replace|exchange|reschedule|check|call|delete|close|reset|confirm|arrange|rebook|move|process|"
        r"unsubscribe|stop)\b"), 2),
    (rx(r"\b(i'?d like to|i would like to|i want to|i need to|i wanna) (change|update|cancel|return|exchange|"
        r"upgrade|add|remove|reschedule|rebook|move|close|delete|book|order)\b"), 3),
    (rx(r"\bwondering if you (can|could)\b|\bif possible\b|\bunsubscribe\b"), 2),
    (rx(r"\b(by mistake|my mistake|my bad|accidentally)\b"), 2),
]

COMPLAINT: _W = [
    (rx(r"\b(never (arrived|came|showed|turned up|received|delivered|got here)|hasn'?t (arrived|shown up|come|"
        r"been delivered|moved)|has not (arrived|shown up)|not (arrived|delivered|received)|still (waiting|no |"
        r"not|haven'?t|hasn'?t|nothing)|charged (me )?twice|double charged|overcharged|scam|stole|ripped off|"
        r"rip ?off|worst|unacceptable|nobody (called|replies|replied|answers|answered|got back|responds)|no one "
        r"(called|replies|replied|answered|got back)|never (called|replied|got back|showed)|wrong (item|order|"
        r"size|colou?r|product|address)|paid .{0,20} for nothing|zero balance|thanks for nothing|"
        r"without (any )?notice|where('s| is) my (refund|order|parcel|package|money|delivery|item)|"
        r"with no notice|toujours pas|pas (encore )?(arriv\w*|re[çc]u\w*)|no ha llegado|"
        r"lleg[óo] rot[ao]|nadie me responde|nicht angekommen|noch nicht)\b"), 3),
    (rx(r"\b(damaged|broken|broke|cracked|smashed|dented|soaked|faulty|defective|doesn'?t work|didn'?t work|"
        r"stopped working|not working|missing|lost (my|our|the)|refund|cancell?ed|delayed|terrible|awful|"
        r"horrible|appalling|disgusting|disgraceful|ridiculous|rude|ignored|not impressed|disappointed|"
        r"disappointing|fed up|frustrat\w*|furious|angry|poor service|bad service|mal servicio|on hold|"
        r"treated|second time|third time|(two|three|four|five|\d+) times|not what i paid|in the rain|"
        r"nothing\.?$|stuck)\b"), 2),
    (rx(r"\b(again|late|joke|waiting|commande|pedido|bestellung|hasn'?t|nobody|never again)\b"), 1),
    (rx(r"\b(a|one|two|three|four|\d+) (weeks?|months?) ago\b"), 1),
]


def _score(patterns: _W, text: str, negatable: bool = False) -> float:
    """The weight of the cues found; `negatable` cues preceded by "not"/"never" do not count."""
    total = 0.0
    for pattern, weight in patterns:
        for m in pattern.finditer(text):
            if negatable and _NEGATED.search(text[max(0, m.start() - 16):m.start()]):
                continue
            total += weight
            if weight >= 2:
                break  # strong cues count once per pattern, so a long rant does not outweigh everything
    return total


def intent_scores(text: str, sentiment: float, extra: Mapping[str, tuple[str, ...] | list[str]]
                  ) -> dict[str, float]:
    """Every intent's score for a cleaned text; `extra` is the pack's own keywords per intent."""
    low = text.lower()
    scores = {
        "spam": _score(SPAM, low),
        "abuse": _score(ABUSE, low),
        "legal_safety": _score(LEGAL, low),
        "threat": _score(THREAT, low),
        "outage": _score(OUTAGE, low),
        "praise": _score(PRAISE, text, negatable=True),
        "question": _score(QUESTION, low),
        "request": _score(REQUEST, low),
        "complaint": _score(COMPLAINT, low),
    }
    injection = _score(INJECTION, low)
    scores["abuse"] += injection
    scores["injection"] = injection
    if _SARCASTIC_THANKS.search(low):
        scores["praise"] = 0.0
        scores["complaint"] += 2
    for intent, words in extra.items():
        for word in words:
            if word.lower() in low:
                scores[intent] = scores.get(intent, 0.0) + 3
    if sentiment <= -0.6:
        scores["complaint"] += 2
    elif sentiment <= -0.3:
        scores["complaint"] += 1
    return scores


def classify(scores: dict[str, float], sentiment: float) -> str:
    """The decision list a care team follows: spam and attacks first, then safety, outages, then the rest."""
    c, r, q, p = scores["complaint"], scores["request"], scores["question"], scores["praise"]
    if scores.get("injection", 0) >= 3:
        return "abuse"
    if scores["spam"] >= 3 and scores["spam"] > c:
        return "spam"
    if scores.get("threat", 0) >= 3:
        return "threat"
    if scores["legal_safety"] >= 3:
        return "legal_safety"
    if scores["abuse"] >= 3 and scores["abuse"] > c:
        return "abuse"
    if scores["outage"] >= 3 and scores["outage"] >= c:
        return "outage"
    if p >= 2 and sentiment >= 0.2 and c <= p / 2 and r < 3 and q < 3:
        return "praise"
    if r >= 3 and r >= c and sentiment > -0.5:
        return "request"
    if c >= 2 and c >= r and c >= q:
        return "complaint"
    if r >= 2 and r >= q - 1:
        return "request"
    if q >= 1:
        return "question"
    if c >= 1 or sentiment <= -0.3:
        return "complaint"
    if p >= 1:
        return "praise"
    if scores["abuse"] >= 2:
        return "abuse"
    return "question"
