"""Entities: the references a reply can name (orders, tickets, bookings, flights, products) and the private data
(emails, phones, cards, addresses) it must never echo in public.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from server.core.analysis.text import URL_RE, rx

EMAIL_RE = rx(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
ORDER_RE = rx(r"\b(?:order|commande|pedido|bestellung|ordine)s?\s*(?:no\.?|num(?:ber)?|nr\.?|n[°º]|id|ref(?:erence)?)?"
              r"\s*[:#]?\s*#?\s*([A-Z0-9][A-Z0-9-]{2,19})\b")
HASH_NUM_RE = re.compile(r"(?<![\w&])#(\d{5,14})\b")
TICKET_RE = rx(r"\b(?:ticket|case|incident|complaint|reference|ref)\s*(?:no\.?|num(?:ber)?|id)?\s*[:#]?\s*#?"
               r"\s*([A-Z0-9][A-Z0-9-]{2,15})\b")
BOOKING_RE = rx(r"\b(?:booking|reservation|pnr|confirmation)\s*(?:ref(?:erence)?|code|no\.?|number)?\s*[:#]?\s*"
                r"([A-Z0-9]{5,8})\b")
FLIGHT_RE = rx(r"\bflight\s*(?:no\.?|number|#)?\s*([A-Z]{2}|[A-Z]\d|\d[A-Z])\s?(\d{1,4})\b")
FLIGHT_CODE_RE = re.compile(r"\b([A-Z]{2}|[A-Z]\d|\d[A-Z])(\d{2,4})\b")
AIR_WORDS = rx(r"\b(flight|flights|airport|plane|boarding|gate|departure|take ?off|landed|airline)\b")
PHONE_RE = re.compile(r"(?<!\w)(?:\+\d{1,3}[\s-]?)?(?:\(?\d{2,5}\)?[\s-]?){2,4}\d{3,4}(?!\w)")
CARD_RE = rx(r"\b(?:card|visa|mastercard|amex)\s+(?:number\s+)?(?:ending(?: in)?|ends in|last (?:4|four)(?: digits)?)"
             r"\s*:?\s*(\d{4})\b|\b(?:\d[ -]?){13,19}\b")
ADDRESS_RE = rx(r"\b(my (home |delivery |new )?address is|\d{1,5}\s+\w+(\s\w+)?\s+(street|st|road|rd|avenue|ave|"
                r"lane|ln|drive|dr|close|way|court|place)\b|postcode|zip code)")
ACCOUNT_RE = rx(r"\b(account (number|no\.?)|sort code|iban|password|pin)\b")


def _uniq(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def extract_entities(text: str, products: Iterable[str]) -> dict[str, list[str]]:
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


def has_private_data(text: str, entities: dict[str, list[str]]) -> bool:
    """Whether the post carries details that belong in a DM (references, contact or card data, an address)."""
    return bool(entities["orders"] or entities["tickets"] or entities["bookings"] or entities.get("emails")
                or entities.get("phones") or entities.get("cards") or ADDRESS_RE.search(text)
                or ACCOUNT_RE.search(text))


def merge_thread_entities(entities: dict[str, list[str]], earlier: dict[str, list[str]]) -> None:
    """Add the references the customer gave earlier in the thread (a reply may name the order from before)."""
    for key in ("orders", "products", "flights", "tickets", "bookings"):
        for value in earlier.get(key, []):
            if value not in entities[key]:
                entities[key].append(value)
