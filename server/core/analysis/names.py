"""Names: the customer's first name, when the display name really is a person's name.

A reply that greets "Hi Deals!!!" or "Hi Angry Customer" reads as a bot; no name (the reply then uses the @handle)
is better than a wrong one.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

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


def customer_name(author: Mapping[str, Any], handle: str | None, brand: str, handles: Iterable[str]) -> str | None:
    """The name a reply may greet the customer by: never a word of the brand, never a lower-case handle repeated."""
    brand_words = frozenset(w for w in re.split(r"\W+", (brand + " " + " ".join(handles)).lower()) if len(w) > 2)
    name = first_name(author.get("name"), brand_words)
    if name and handle and name.lower() == handle.lower() and not author.get("name", "").strip()[:1].isupper():
        return None  # a display name that just repeats a lower-case handle is not a name
    return name
