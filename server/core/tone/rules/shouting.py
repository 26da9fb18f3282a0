"""Shouting in writing: words in capitals and piles of ! or ?. Both read as anger, whatever the words say."""
from __future__ import annotations

from server.core.packview import PackView
from server.core.tone.draft import Draft
from server.core.tone.patterns import ACRONYMS, EXCLAIM_RE, LETTER_RE, PILE_RE, SHOUT_TOKEN_RE, UPPER_RE
from server.core.tone.registry import Finding, finding, rule
from server.core.tone.rewrite import replace_span, sentence_case
from server.core.tone.text import overlaps


def _brand_caps(pack: PackView) -> set[str]:
    """The brand's own all-caps names (a brand, handle or product like "ACME"): writing them is not shouting."""
    names = [pack.brand, *(h for handles in pack.handles.values() for h in handles), *pack.products]
    return {w.upper() for w in names if w and w.isupper()}


@rule("shouting", "warn", "Words in capitals read as shouting.")
def shouting(d: Draft) -> list[Finding]:
    """Two shouted words, one long one, or a draft mostly in capitals; acronyms, links and the brand are fine."""
    text = d.text
    brand_caps = _brand_caps(d.pack)
    shouted = [m for m in SHOUT_TOKEN_RE.finditer(text)
               if m.group(0).replace("'", "") not in ACRONYMS and m.group(0) not in brand_caps
               and not overlaps(m.span(), d.url_spans)]
    letters = len(LETTER_RE.findall(text))
    caps = len(UPPER_RE.findall(text))
    long_shout = [m for m in shouted if len(m.group(0)) >= 4]
    if not (len(shouted) >= 2 or long_shout or (letters >= 12 and caps / letters > 0.6)):
        return []
    group = shouted or list(SHOUT_TOKEN_RE.finditer(text))
    s, e = (group[0].start(), group[-1].end()) if group else (0, d.n)
    return [finding("shouting", "Capitals read as shouting. Use sentence case; emphasis comes from the words, not "
                    "the caps.", (s, e), replace_span(text, (s, e), sentence_case(text[s:e]), tidy=False))]


@rule("punctuation_pile", "warn", "Piles of ! or ? read as shouting or exasperation.")
def punctuation_pile(d: Draft) -> list[Finding]:
    """Each "!!" or "?!" pile; without any, three or more exclamation marks spread over the draft."""
    text = d.text
    piles = list(PILE_RE.finditer(text))
    if piles:
        return [finding("punctuation_pile", f"'{m.group(0)}' reads as exasperated. One mark is enough.", m.span(),
                        replace_span(text, m.span(), "?" if "?" in m.group(0) else "!")) for m in piles]
    bangs = [m.start() for m in EXCLAIM_RE.finditer(text)]
    if len(bangs) < 3:
        return []
    return [finding("punctuation_pile", f"{len(bangs)} exclamation marks in one reply read as over the top. Keep "
                    "one at most.", (bangs[2], bangs[-1] + 1))]
