"""Post analysis: what kind of post this is, how urgent, who wrote it and what it is about.

Everything the reply engines and the queue need to follow "the known path" for a post comes from here: the
intent (complaint, question, request, praise, outage, legal_safety, abuse, spam), a severity that combines VADER
sentiment with cues a care agent would notice (shouting, repeated "!!!", threats to cancel or sue, injury, tagging
the brand over and over), the customer's first name when the display name really is one, the references they
mention (orders, tickets, flights, products) and what happened earlier in the thread.

The module is pure: `analyze(post, pack)` reads its inputs and returns a new dict. The VADER analyzer and the
compiled patterns below are module-level caches (built once, never mutated), which keeps a call well under 1 ms.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from server.core.vocab import INTENTS, SEVERITIES  # noqa: E402,F401  (one vocabulary)

_VADER = SentimentIntensityAnalyzer()  # a read-only cache of the lexicon: loading it costs ~50 ms


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# --- Intent cues: (pattern, weight). Patterns run on the lower-cased text without @mentions. -----------------
_W = list[tuple[re.Pattern[str], float]]

SPAM: _W = [
    (_rx(r"\bearn(ing)? \$?\d"), 3),
    (_rx(r"\$\s?\d[\d,.]*k?\s*(/|a |per )\s*(day|week|month|hour|hr)\b"), 3),
    (_rx(r"\bturn \$?\d[\d,]* into \$?\d"), 3),
    (_rx(r"\b(work(ing)?|earn(ing)?|income) from home\b"), 2),
    (_rx(r"\bfrom home\b"), 1),
    (_rx(r"\bclick (here|now|the link|below|to claim|link)\b"), 3),
    (_rx(r"\bclick\b"), 1),
    (_rx(r"\b(bit\.ly|tinyurl\.com|goo\.gl|cutt\.ly|rb\.gy|is\.gd|shorturl\.at|ow\.ly)/"), 2),
    (_rx(r"\b(crypto|bitcoin|btc|forex|nft|airdrop|signals)\b"), 2),
    (_rx(r"\b(giveaway|free iphone|free followers|follow back|f4f)\b"), 2),
    (_rx(r"\b(\d+(\.\d)?[km] (followers|likes|subscribers)|grow (your (page|account|brand)|fast))\b"), 2),
    (_rx(r"\b(collab|collaboration|promote (your |brands?|businesses)|sponsored post|paid promotion)\b"), 2),
    (_rx(r"\b\d{2}% off\b|\b(designer (bags|watches|sunglasses)|replica|knock-?offs?)\b"), 2),
    (_rx(r"\blimited (time|offer|stock)\b"), 1),
    (_rx(r"\b(check|see) (my |the )?(bio|profile)\b|\blink in bio\b"), 2),
    (_rx(r"\b(guaranteed (loans?|income|returns?|profit)|no credit check)\b"), 2),
    (_rx(r"\b(cash fast|make money|limited spots|act now|100% free|ask me how)\b"), 2),
    (_rx(r"\b(visit|claim at|go to) [a-z0-9-]+\.[a-z]{2,}"), 1),
    (_rx(r"\b(hot singles|onlyfans|sexy|adult dating)\b"), 3),
    (_rx(r"\b(dm|message) me (now|for (details|info|more)|to (join|learn))\b"), 2),
]

INJECTION: _W = [
    (_rx(r"\bignore (all |any |your |the )?(previous |prior |above |earlier )?(instructions|prompts?|rules)\b"), 5),
    (_rx(r"\b(system prompt|admin password|root password|developer mode|jailbreak)\b"), 3),
    (_rx(r"\byou are now (dan|an? )|\bpretend (to be|you are)\b|\bact as (an? )?(unfiltered|evil)\b"), 3),
]

ABUSE: _W = [
    (_rx(r"\b(idiots?|morons?|imbeciles?|clowns?|cretins?|losers|scum(bags)?|retards?|bastards?|assholes?|"
         r"arseholes?|wankers?|twats?|dickheads?|brain ?dead|muppets)\b"), 3),
    (_rx(r"\b(stupid|pathetic|incompetent|useless) (company|people|idiots|bunch|lot|morons|clowns|brand)\b"), 2),
    (_rx(r"\bpathetic\b|\bstupid\b"), 1),
    (_rx(r"\b(f+u+c+k+ (you|off|u|this)|screw (you|u)|shut up|go to hell|piss off|kill yourselves|drop dead)\b"), 3),
    (_rx(r"\b(go (bankrupt|bust|broke)|hope you (go|die|fail|burn)|rot in)\b"), 2),
    (_rx(r"\b(you people|you lot|the lot of you|everyone who works)\b"), 1),
    (_rx(r"\b(garbage|trash|potato|toddler|lmao|imagine being)\b"), 1),
    (_rx(r"🤡|🖕|💩"), 1),
]

LEGAL: _W = [
    (_rx(r"\b(burn(ed|t|s)? (my|his|her|their|our|me|him)|burns|injur(ed|y|ies)|hurt (me|my|him|her|us|them|"
         r"myself)|(cut|sliced) (my|his|her) (hand|finger|arm|leg)|nearly cut|bleeding|hospital|a&e|emergency room|"
         r"ambulance|allergic reaction|anaphyla\w*|chok(ed|ing)|food poisoning|poison(ed|ing)|electric(al)? shock|"
         r"electrocut\w*|shocked (me|him|her)|caught fire|on fire|fire hazard|sparked|sparks|smok(e|ing) (came|"
         r"coming|pouring)|explod(ed|ing)|exploded|melted|glass shards|shards of glass|unsafe|dangerous|"
         r"safety (issue|hazard|concern|risk)|product recall|choking hazard)\b"), 3),
    (_rx(r"\b(lawyers?|attorneys?|solicitors?|sue|suing|lawsuit|legal action|take (you|this) to court|"
         r"small claims|trading standards|ombudsman|class action|data breach|gdpr|discriminat\w*|"
         r"(sexual(ly)? )?harass\w*|assault\w*|report(ing)? (it|this|you) to the (police|regulator)|"
         r"reported (it|this|you) to the police|police report|reversed into my car|hit my car)\b"), 3),
    (_rx(r"\b(reporting (it|this|you)|i am reporting|someone else'?s (bank statement|account|data|details|"
         r"order|address))\b"), 2),
]

OUTAGE: _W = [
    (_rx(r"\b(app|site|website|web ?site|service|server|servers|portal|online banking|checkout|log ?in|login|"
         r"page|system|network|api|payments?|card payments)\s+(is\s+|are\s+|was\s+|seems?\s+|keeps?\s+)?"
         r"(down|offline|not loading|not working|failing|broken|crashing|crashed|timing out)\b"), 3),
    (_rx(r"\b(is|are) (it|you|the \w+) down\b|\b(down|offline) (again|for everyone|for anyone)\b"), 3),
    (_rx(r"\b(outage|outages|service disruption|status page)\b"), 3),
    (_rx(r"\b(error|errors)\s*(code\s*)?[45]\d\d\b|\b[45]0\d (error|errors)\b|\bthrowing an? [45]\d\d\b|"
         r"returning [45]\d\d"), 2),
    (_rx(r"\b(can'?t|cannot|can not|unable to|won'?t let me) (log ?in|sign ?in|access|load|connect|"
         r"open the app|check out|pay)\b"), 2),
    (_rx(r"\b(anyone else|is it just me|just me or|for anyone else|everyone else)\b"), 2),
    (_rx(r"\b(keeps crashing|keeps freezing|won'?t load|not loading|nothing loads|spins forever|"
         r"failing everywhere|since the update)\b"), 2),
]

PRAISE: _W = [
    (_rx(r"\b(thank you|thanks|thank u|thx|ty so much|kudos|shout ?out|props to|cheers)\b"), 2),
    (_rx(r"\b(love|loving|obsessed with|adore)\b"), 2),
    (_rx(r"\b(amazing|awesome|fantastic|brilliant|excellent|superb|wonderful|outstanding|incredible|perfect(ly)?|"
         r"impressed|delighted|so kind|so helpful|above and beyond|you rock|well done|made my day|10/10|"
         r"five stars|5 stars|highly recommend|no fuss|fastest|appreciate)\b"), 2),
    (_rx(r"\b(great|happy|pleased|smile|early|quickly|easier)\b"), 1),
    (_rx(r"😍|🥰|❤️|❤|💕|💙|🙌|👏|🎉|🥳|🙏|😊|🧁|🎂|👍"), 1),
]
_NEGATED = _rx(r"\b(not|never|no|hardly|isn'?t|wasn'?t|n'?t)\s+(so\s+|very\s+|that\s+|too\s+|at all\s+)?$")
_SARCASTIC_THANKS = _rx(r"\bthanks? (for nothing|a lot for nothing)\b|\bthanks a lot\b.*\b(not|never|again)\b")

QUESTION: _W = [
    (_rx(r"\?+"), 1),
    (_rx(r"(^|[.!?]\s+)((hey|hi|hello|quick q)[,!]?\s+)?(how|what|when|where|why|which|who|do|does|did|is|are|"
         r"will|would|should|has|have|may i|can i|could i|any chance)\b"), 2),
    (_rx(r"\b(how (do|can|long|much|many|does)|what (is|are|time|does|do)|when (will|does|is|do|are)|"
         r"where (is|are|can|do)|is there|are there|do you (ship|have|sell|offer|deliver|accept|open|stock|take|"
         r"know)|does (the|it|your|this)|any idea|anyone know|wondering (whether|how|what|when|where|why)|"
         r"quick question|would you recommend|which \w+ would)\b"), 2),
]

REQUEST: _W = [
    (_rx(r"\b(can|could|would|will) you (please |kindly |pls |just )?(change|update|cancel|send|resend|"
         r"expedite|speed|upgrade|add|remove|refund|replace|exchange|reschedule|check|help|get|look|hold|extend|"
         r"waive|fix|delete|close|reset|call|email|confirm|arrange|reissue|switch|rebook|move|process|book)\b"), 3),
    (_rx(r"\bwould you be able to\b|\bis it possible to\b|\bplease can you\b|\bcan i get\b"), 3),
    (_rx(r"\b(can|could) (someone|somebody|anyone|you guys) (please )?\w+|\b(call|ring|email) me back\b"), 3),
    (_rx(r"\b(please|pls|plz|kindly) (change|update|cancel|send|resend|expedite|upgrade|add|remove|refund|"
         r"replace|exchange|reschedule|check|call|delete|close|reset|confirm|arrange|rebook|move|process|"
         r"unsubscribe|stop)\b"), 2),
    (_rx(r"\b(i'?d like to|i would like to|i want to|i need to|i wanna) (change|update|cancel|return|exchange|"
         r"upgrade|add|remove|reschedule|rebook|move|close|delete|book|order)\b"), 3),
    (_rx(r"\bwondering if you (can|could)\b|\bif possible\b|\bunsubscribe\b"), 2),
    (_rx(r"\b(by mistake|my mistake|my bad|accidentally)\b"), 2),
]

COMPLAINT: _W = [
    (_rx(r"\b(never (arrived|came|showed|turned up|received|delivered|got here)|hasn'?t (arrived|shown up|come|"
         r"been delivered|moved)|has not (arrived|shown up)|not (arrived|delivered|received)|still (waiting|no |"
         r"not|haven'?t|hasn'?t|nothing)|charged (me )?twice|double charged|overcharged|scam|stole|ripped off|"
         r"rip ?off|worst|unacceptable|nobody (called|replies|replied|answers|answered|got back|responds)|no one "
         r"(called|replies|replied|answered|got back)|never (called|replied|got back|showed)|wrong (item|order|"
         r"size|colou?r|product|address)|paid .{0,20} for nothing|zero balance|thanks for nothing|"
         r"without (any )?notice|where('s| is) my (refund|order|parcel|package|money|delivery|item)|"
         r"with no notice|toujours pas|pas (encore )?(arriv\w*|re[çc]u\w*)|no ha llegado|"
         r"lleg[óo] rot[ao]|nadie me responde|nicht angekommen|noch nicht)\b"), 3),
    (_rx(r"\b(damaged|broken|broke|cracked|smashed|dented|soaked|faulty|defective|doesn'?t work|didn'?t work|"
         r"stopped working|not working|missing|lost (my|our|the)|refund|cancell?ed|delayed|terrible|awful|"
         r"horrible|appalling|disgusting|disgraceful|ridiculous|rude|ignored|not impressed|disappointed|"
         r"disappointing|fed up|frustrat\w*|furious|angry|poor service|bad service|mal servicio|on hold|"
         r"treated|second time|third time|(two|three|four|five|\d+) times|not what i paid|in the rain|"
         r"nothing\.?$|stuck)\b"), 2),
    (_rx(r"\b(again|late|joke|waiting|commande|pedido|bestellung|hasn'?t|nobody|never again)\b"), 1),
    (_rx(r"\b(a|one|two|three|four|\d+) (weeks?|months?) ago\b"), 1),
]

# --- Severity cues ------------------------------------------------------------------------------------------
CHURN = _rx(r"\b(never again|never (buying|ordering|shopping|using|flying)|cancel(l?ing)? my (account|"
            r"subscription|membership|card)|switch(ing)? to|taking my (business|money) elsewhere|i'?m done with|"
            r"i am done|done with \w+|last time i|close my account|go(ing)? elsewhere|do not buy|don'?t buy)\b")
LEGAL_THREAT = _rx(r"\b(lawyers?|attorneys?|solicitors?|sue|suing|lawsuit|legal action|court|small claims|"
                   r"class action|data breach)\b")
INJURY = _rx(r"\b(burn(ed|t|s)?|injur\w*|hurt|bleeding|hospital|a&e|ambulance|allergic|anaphyla\w*|chok\w*|"
             r"poison\w*|shock|electrocut\w*|fire|sparked|explod\w*|cut her|cut his|cut my|glass shards)\b")
REPEAT = _rx(r"\b(again|still|second time|third time|(two|three|four|five|\d+) times|once more|another|"
             r"toujours)\b")
VULNERABLE = _rx(r"\b(kids|children|baby|toddler|elderly|pregnant|disabled|wheelchair|medical|medication|"
                 r"vulnerable|rent|my (son|daughter) (is|was|got))\b")
STRANDED = _rx(r"\b(stranded|stuck (at|in) (the )?(airport|station|gate|terminal|hotel|abroad)|sleeping at the "
               r"airport|no way (to get )?home|missed (my|our) connection)\b")
URGENT = _rx(r"\b(urgent(ly)?|asap|immediately|right now|emergency|today|tonight)\b")
MONEY = _rx(r"\b(charged|refund|money|paid|payment|stole|card|£|\$|€)")

PLAYFUL = _rx(r"\b(haha+|hehe|lol|lmao|😂|🤣)|😂|🤣|😍|🥰|😄|😁|😆|😊|😉|😜|🎉|🥳|❤️|💕|🙌|✨|🧁|🎂|🍰|:\)|:D")

# --- Entities ----------------------------------------------------------------------------------------------
URL_RE = _rx(r"\b(?:https?://[^\s]+|(?:[a-z0-9-]+\.)+(?:com|net|org|io|ly|co|uk|example|gd|at|me|app)/?[^\s]*)")
EMAIL_RE = _rx(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{1,30})")
ORDER_RE = _rx(r"\b(?:order|commande|pedido|bestellung|ordine)s?\s*(?:no\.?|num(?:ber)?|nr\.?|n[°º]|id|ref(?:erence)?)?"
               r"\s*[:#]?\s*#?\s*([A-Z0-9][A-Z0-9-]{2,19})\b")
HASH_NUM_RE = re.compile(r"(?<![\w&])#(\d{5,14})\b")
TICKET_RE = _rx(r"\b(?:ticket|case|incident|complaint|reference|ref)\s*(?:no\.?|num(?:ber)?|id)?\s*[:#]?\s*#?"
                r"\s*([A-Z0-9][A-Z0-9-]{2,15})\b")
BOOKING_RE = _rx(r"\b(?:booking|reservation|pnr|confirmation)\s*(?:ref(?:erence)?|code|no\.?|number)?\s*[:#]?\s*"
                 r"([A-Z0-9]{5,8})\b")
FLIGHT_RE = _rx(r"\bflight\s*(?:no\.?|number|#)?\s*([A-Z]{2}|[A-Z]\d|\d[A-Z])\s?(\d{1,4})\b")
FLIGHT_CODE_RE = re.compile(r"\b([A-Z]{2}|[A-Z]\d|\d[A-Z])(\d{2,4})\b")
AIR_WORDS = _rx(r"\b(flight|flights|airport|plane|boarding|gate|departure|take ?off|landed|airline)\b")
PHONE_RE = re.compile(r"(?<!\w)(?:\+\d{1,3}[\s-]?)?(?:\(?\d{2,5}\)?[\s-]?){2,4}\d{3,4}(?!\w)")
CARD_RE = _rx(r"\b(?:card|visa|mastercard|amex)\s+(?:number\s+)?(?:ending(?: in)?|ends in|last (?:4|four)(?: digits)?)"
              r"\s*:?\s*(\d{4})\b|\b(?:\d[ -]?){13,19}\b")
ADDRESS_RE = _rx(r"\b(my (home |delivery |new )?address is|\d{1,5}\s+\w+(\s\w+)?\s+(street|st|road|rd|avenue|ave|"
                 r"lane|ln|drive|dr|close|way|court|place)\b|postcode|zip code)")
ACCOUNT_RE = _rx(r"\b(account (number|no\.?)|sort code|iban|password|pin)\b")

# --- Names ---------------------------------------------------------------------------------------------------
# Words that make a display name a brand, a role or a mood rather than a person.
NOT_NAME_WORDS = frozenset("""
a an the my your our their its his her not no yes real official officially true fake just only top hot
free cheap deals deal sale sales shop store stores outlet promo promos offers offer discount discounts coupon
coupons loans loan cash money income crypto bitcoin nft forex invest investing trader trading tips tricks news
daily weekly media tv radio podcast blog bot bots robot ai admin support help helpdesk care service team staff
customer customers client user users account anon anonymous nobody somebody someone anyone everyone person
human guy girl boy man woman lady dude bro mate fan fans lover lovers addict
boss ceo inc ltd llc co corp company group official brand home grow growth follow followers marketing
agency studio design designs games gaming gamer music tech dev devs app apps web online digital global world
angry happy sad mad crazy cool big tiny super mega ultra truth teller privacy first night owl
lmao lol haha omg wtf edge edgy troll hater haters critic reviewer review reviews watcher watch traveller
rant rants ranter central hub zone outlet vibes lifestyle fitness finance hacks updates alerts
traveler travels foodie mom mum dad mother father family kids baby sir madam mr mrs ms miss dr prof
""".split())
TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "dame", "rev", "mx"})
NAME_TOKEN = re.compile(r"^[^\W\d_](?:[^\W\d_]|['’\-.](?=[^\W\d_]))*\.?$")


def _strip_symbols(text: str) -> str:
    """Drop emoji and other symbols, keep letters, digits, spaces and name punctuation."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] in "LN" or ch in " '’-.":
            out.append(ch)
        elif cat[0] in "ZP":
            out.append(" ")
    return "".join(out)


def first_name(display: str | None, brand_words: frozenset[str] = frozenset()) -> str | None:
    """The customer's first name when the display name really is a person's name, else None.

    'Sarah 🍰' -> Sarah; 'Mike Thompson' -> Mike; 'RAJ PATEL' -> Raj; '🦀', 'Deals!!!', 'not a bot',
    'Angry Customer', 'Crypto King 🚀' and one-letter names -> None (the reply then uses the @handle).
    """
    if not display:
        return None
    raw = display.strip()
    if re.search(r"[!?]{2,}|\d{2,}|https?:|www\.|\.com\b", raw, re.IGNORECASE):
        return None
    tokens = [t.strip(".-'’") for t in _strip_symbols(raw).split()]
    tokens = [t for t in tokens if t]
    if not tokens or len(tokens) > 5:
        return None
    lowered = [t.lower() for t in tokens]
    if any(t in NOT_NAME_WORDS or t in brand_words for t in lowered if t not in TITLES):
        return None
    while tokens and tokens[0].lower().rstrip(".") in TITLES:
        tokens, lowered = tokens[1:], lowered[1:]
    if not tokens:
        return None
    first = tokens[0]
    if not NAME_TOKEN.match(first) or len(first) < 2 or len(first) > 20 or any(c.isdigit() for c in first):
        return None
    letters = [c for c in first if c.isalpha()]
    if len(letters) < 2:
        return None
    if first.isupper() or first.islower():
        first = "-".join(part[:1].upper() + part[1:].lower() for part in first.split("-"))
    return first


# --- Helpers -----------------------------------------------------------------------------------------------

def _score(patterns: _W, text: str, negatable: bool = False) -> float:
    total = 0.0
    for rx, weight in patterns:
        for m in rx.finditer(text):
            if negatable and _NEGATED.search(text[max(0, m.start() - 16):m.start()]):
                continue
            total += weight
            if weight >= 2:
                break  # strong cues count once per pattern, so a long rant does not outweigh everything
    return total


def _brand_handles(pack: Any) -> set[str]:
    meta = _pack_data(pack).get("pack", {})
    handles = {h.lower().lstrip("@") for hs in (meta.get("handles") or {}).values() for h in hs}
    return handles


def _pack_data(pack: Any) -> dict[str, Any]:
    if pack is None:
        return {}
    return pack.data if hasattr(pack, "data") else dict(pack)


def _uniq(items: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def extract_entities(text: str, products: list[str]) -> dict[str, list[str]]:
    """References a reply can name (orders, tickets, flights, products) and private data it must not echo."""
    emails = EMAIL_RE.findall(text)
    no_emails = EMAIL_RE.sub(" ", text)
    urls = [u.rstrip(".,!?)") for u in URL_RE.findall(no_emails)]
    scrubbed = URL_RE.sub(" ", no_emails)
    orders = [m.group(1) for m in ORDER_RE.finditer(scrubbed) if any(c.isdigit() for c in m.group(1))]
    orders += [m.group(1) for m in HASH_NUM_RE.finditer(scrubbed)]
    tickets = [m.group(1) for m in TICKET_RE.finditer(scrubbed) if any(c.isdigit() for c in m.group(1))]
    bookings = [m.group(1).upper() for m in BOOKING_RE.finditer(scrubbed)
                if any(c.isdigit() for c in m.group(1)) or m.group(1).isupper()]
    flights = [(a + b).upper() for a, b in FLIGHT_RE.findall(scrubbed)]
    if AIR_WORDS.search(scrubbed):
        flights += [a + b for a, b in FLIGHT_CODE_RE.findall(scrubbed)]
    cards = []
    for m in CARD_RE.finditer(scrubbed):
        digits = m.group(1) or re.sub(r"\D", "", m.group(0))
        cards.append(digits[-4:])
    known = set(orders) | set(tickets) | set(bookings)
    no_cards = CARD_RE.sub(" ", scrubbed)
    phones = [p.strip() for p in PHONE_RE.findall(no_cards)
              if len(re.sub(r"\D", "", p)) >= 9 and re.sub(r"\D", "", p) not in known]
    lowered = text.lower()
    found_products = []
    for name in products:
        if re.search(r"(?<!\w)" + re.escape(name.lower()) + r"(s|es)?(?!\w)", lowered):
            found_products.append(name)
    out: dict[str, list[str]] = {
        "orders": _uniq(orders), "tickets": _uniq(t for t in tickets if t not in orders),
        "bookings": _uniq(bookings), "flights": _uniq(flights), "products": found_products,
        "urls": _uniq(urls),
    }
    if emails:
        out["emails"] = _uniq(emails)
    if phones:
        out["phones"] = _uniq(phones)
    if cards:
        out["cards"] = _uniq(cards)
    return out


def _clean(text: str, handles: set[str]) -> tuple[str, int, int]:
    """Text without @mentions and URLs for the keyword rules; plus the count of brand and all mentions."""
    brand_mentions = 0
    mentions = 0
    for m in MENTION_RE.finditer(text):
        mentions += 1
        if m.group(1).lower() in handles:
            brand_mentions += 1
    cleaned = MENTION_RE.sub(" ", text)
    cleaned = URL_RE.sub(lambda m: " " + m.group(0) + " ", cleaned)
    cleaned = cleaned.replace("’", "'")
    return re.sub(r"\s+", " ", cleaned).strip(), brand_mentions, mentions


def _caps(text: str) -> tuple[float, list[str]]:
    letters = [c for c in text if c.isalpha()]
    upper = sum(1 for c in letters if c.isupper())
    ratio = upper / len(letters) if len(letters) >= 12 else 0.0
    words = [w for w in re.findall(r"\b[A-Z]{3,}\b", text) if w not in {"USA", "ATM", "API", "DM", "FAQ", "UK",
                                                                        "EU", "PIN", "SMS", "URL", "NHS", "CEO"}]
    return ratio, words


def _intent_scores(text: str, sentiment: float, extra: dict[str, list[str]]) -> dict[str, float]:
    low = text.lower()
    scores = {
        "spam": _score(SPAM, low),
        "abuse": _score(ABUSE, low),
        "legal_safety": _score(LEGAL, low),
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


def _thread_summary(post: dict[str, Any], handles: set[str], brand: str, products: list[str]) -> dict[str, Any]:
    thread = post.get("thread") or []
    me = ((post.get("author") or {}).get("handle") or "").lower().lstrip("@")
    brand_l = brand.lower().replace(" ", "")
    customer_texts: list[str] = []
    brand_texts: list[str] = []
    for item in thread:
        author = item.get("author") or {}
        handle = (author.get("handle") or "").lower().lstrip("@")
        name = (author.get("name") or "").lower().replace(" ", "")
        text = item.get("text") or ""
        if handle in handles or (brand_l and brand_l in name):
            brand_texts.append(text)
        elif not me or handle == me or not handle:
            customer_texts.append(text)
    summary: dict[str, Any] = {"posts": len(thread), "customer_posts": len(customer_texts),
                               "brand_replied": bool(brand_texts)}
    if customer_texts:
        summary["customer_earlier"] = customer_texts[-1][:280]
        sentiment = _VADER.polarity_scores(customer_texts[0])["compound"]
        summary["earlier_intent"] = classify(_intent_scores(_clean(customer_texts[0], handles)[0], sentiment, {}),
                                             sentiment)
        summary["entities"] = extract_entities(" ".join(customer_texts), products)
    if brand_texts:
        last = brand_texts[-1]
        summary["brand_last_reply"] = last[:280]
        promise = re.search(r"\b(refund|replacement|call ?back|credit|exchange|repair|engineer|technician|"
                            r"update|delivery|voucher)\b", last, re.IGNORECASE)
        if promise:
            summary["brand_promise"] = promise.group(1).lower().replace(" ", "")
            when = re.search(r"\b(within [\w\s-]{1,20}?(hours?|days?)|\d+\s*-\s*\d+ (business |working )?days|"
                             r"in \d+ (business |working )?days|today|tomorrow)\b", last, re.IGNORECASE)
            if when:
                summary["brand_promise_when"] = when.group(0)
    return summary


def _severity(intent: str, sentiment: float, cues: list[str]) -> str:
    """Map the intent's base level plus escalating cues to low/normal/high/critical."""
    base = {"praise": 0, "spam": 0, "abuse": 0, "question": 0, "request": 1, "complaint": 1, "outage": 2,
            "legal_safety": 2}[intent]
    if intent in ("praise", "spam"):
        return "low"
    if intent == "legal_safety":
        return "critical" if {"injury", "legal_threat"} & set(cues) else "high"
    if intent == "abuse":
        return "normal" if "threat" in cues else "low"
    points = 0.0
    weights = {"very_negative": 1.0, "negative": 0.5, "shouting": 1.0, "caps_emphasis": 0.5,
               "repeated_punctuation": 0.5, "churn_threat": 1.0, "repeat_contact": 1.0, "follow_up": 1.0,
               "vulnerable": 1.0, "stranded": 1.5, "many_mentions": 1.0, "urgent": 0.5,
               "money": 0.5}
    for cue in cues:
        points += weights.get(cue, 0.0)
    if intent == "outage":
        return "critical" if points >= 2.5 and ("vulnerable" in cues or "urgent" in cues) else "high"
    if intent == "question":
        return "high" if points >= 3 else "normal" if points >= 1 else "low"
    level = base + (2 if points >= 3 else 1 if points >= 1.5 else 0)
    if intent == "complaint" and "stranded" in cues and "vulnerable" in cues:
        level = 3
    elif level >= 3 and points < 4:
        level = 2  # critical is kept for safety, stranded customers and the angriest repeat failures
    return SEVERITIES[min(level, 3)]


def analyze(post: dict[str, Any], pack: Any) -> dict[str, Any]:
    """Rate a post (intent, severity) and pull out what a personal, useful reply needs."""
    data = _pack_data(pack)
    meta = data.get("pack", {})
    products = list(meta.get("products") or [])
    brand = str(meta.get("brand") or "")
    handles = _brand_handles(pack)
    extra = (data.get("analysis") or {}).get("keywords") or {}
    author = post.get("author") or {}
    handle = (author.get("handle") or "").lstrip("@") or None
    text = post.get("text") or ""

    cleaned, brand_mentions, mentions = _clean(text, handles)
    sentiment = round(_VADER.polarity_scores(cleaned)["compound"], 4) if cleaned else 0.0
    scores = _intent_scores(cleaned, sentiment, extra)
    intent = classify(scores, sentiment)

    brand_words = frozenset(w for w in re.split(r"\W+", (brand + " " + " ".join(handles)).lower()) if len(w) > 2)
    name = first_name(author.get("name"), brand_words)
    if name and handle and name.lower() == handle.lower() and not author.get("name", "").strip()[:1].isupper():
        name = None  # a display name that just repeats a lower-case handle is not a name

    entities = extract_entities(text, products)
    thread = _thread_summary(post, handles, brand, products) if post.get("thread") else None

    cues: list[str] = []
    ratio, caps_words = _caps(cleaned)
    if ratio >= 0.6:
        cues.append("shouting")
    elif caps_words:
        cues.append("caps_emphasis")
    if re.search(r"[!?]{2,}|!\s*!", text):
        cues.append("repeated_punctuation")
    low = cleaned.lower()
    if CHURN.search(low):
        cues.append("churn_threat")
    if LEGAL_THREAT.search(low):
        cues.append("legal_threat")
    if INJURY.search(low) and intent == "legal_safety":
        cues.append("injury")
    if REPEAT.search(low):
        cues.append("repeat_contact")
    if VULNERABLE.search(low):
        cues.append("vulnerable")
    if STRANDED.search(low):
        cues.append("stranded")
    if URGENT.search(cleaned) or re.search(r"\bNOW\b", cleaned):
        cues.append("urgent")
    if MONEY.search(low) and intent == "complaint":
        cues.append("money")
    if brand_mentions >= 2 or mentions >= 4:
        cues.append("many_mentions")
    if sentiment <= -0.6:
        cues.append("very_negative")
    elif sentiment <= -0.3:
        cues.append("negative")
    if intent == "abuse" and re.search(r"\b(i will|i'll|gonna) (find|hurt|kill|burn)\b", low):
        cues.append("threat")
    if scores.get("injection", 0) >= 3:
        cues.append("prompt_injection")
    if thread and thread.get("brand_replied") and intent in ("complaint", "question", "request"):
        cues.append("follow_up")
        if "repeat_contact" not in cues:
            cues.append("repeat_contact")
    if thread and thread.get("entities"):
        for key in ("orders", "products", "flights", "tickets", "bookings"):
            for value in thread["entities"].get(key, []):
                if value not in entities[key]:
                    entities[key].append(value)

    private = intent not in ("abuse", "spam") and bool(
        entities["orders"] or entities["tickets"] or entities["bookings"] or entities.get("emails")
                   or entities.get("phones") or entities.get("cards") or ADDRESS_RE.search(text)
                   or ACCOUNT_RE.search(text))
    if private:
        cues.append("private_data")
    playful = bool(PLAYFUL.search(text)) and sentiment >= 0.05 and intent in ("praise", "question", "request")

    result: dict[str, Any] = {
        "intent": intent,
        "severity": _severity(intent, sentiment, cues),
        "sentiment": sentiment,
        "name": name,
        "handle": handle,
        "entities": entities,
        "cues": cues,
        "private_data_in_post": private,
        "lighthearted": playful,
        "lang": post.get("lang") or None,
        "scores": {k: v for k, v in scores.items() if k in INTENTS and v},
    }
    if thread is not None:
        result["thread_summary"] = thread
    return result
