"""The customer's language: its name for the prompt, and a cheap check of which language a reply is in.

The model is told the post's language by name ("Spanish", not "es": small models follow names better), and the
guard checks the reply came back in it. The check must stay cheap (it runs on every reply, inside the latency
budget) and must never block a reply it is unsure about, so it answers None unless one language clearly wins.
It uses `lingua-language-detector` when installed (the triage model uses it too), with function words as a
second opinion, else the function words alone: short
care replies are full of them ("we", "your", "the"; "nous", "votre"; "wir", "Ihre"), and names, order numbers
and brand words, which belong to no language, do not count at all.

Pure: no I/O, no state beyond the detector built once.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

NAMES = {
    "en": "English", "es": "Spanish", "fr": "French", "de": "German", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "sv": "Swedish", "da": "Danish", "no": "Norwegian", "fi": "Finnish", "pl": "Polish",
    "cs": "Czech", "tr": "Turkish", "ru": "Russian", "uk": "Ukrainian", "el": "Greek", "ar": "Arabic",
    "he": "Hebrew", "hi": "Hindi", "ja": "Japanese", "ko": "Korean", "zh": "Chinese", "id": "Indonesian",
    "ro": "Romanian", "hu": "Hungarian", "ca": "Catalan", "vi": "Vietnamese", "th": "Thai", "ga": "Irish",
}

# Frequent function words that are rare in the other listed languages (overlaps like "a", "de", "en" left out).
_STOPWORDS = {
    "en": "the and you your we our is are was to of for with this that it i'm i'll we'll we're can will have has "
          "not be so sorry thanks thank please here just now today hi".split(),
    "es": "el los las que y usted su sus nosotros estamos es por para con una lo del muy gracias hola hoy "
          "ahora siento lamentamos pedido le favor mensaje es un una pero está tu".split(),
    "fr": "le les et vous votre vos nous est pour avec une des du sur pas merci bonjour aujourd'hui désolé "
          "commande très message je suis c'est mes tu es un au aux mais dans sont avez nos notre ce cette qui".split(),
    "de": "der die das und sie ihre ihr wir ist nicht mit für ein eine ich es danke hallo heute leider "
          "bestellung bitte uns sehr".split(),
    "it": "il lo gli che e lei suo sua noi siamo è per con una non grazie ciao oggi ordine della sono ci "
          "molto messaggio".split(),
    "pt": "o os que e você seu sua nós estamos é para com uma não obrigado olá hoje pedido muito lamentamos "
          "mensagem do da".split(),
    "nl": "de het en u uw wij we is voor met een niet bedankt hallo vandaag bestelling sorry ons graag "
          "bericht zijn".split(),
}
_WORDS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_INDEX: dict[str, set[str]] = {}
for _code, _words in _STOPWORDS.items():
    for _w in _words:
        _INDEX.setdefault(_w, set()).add(_code)
MIN_HITS = 3          # fewer function words than this: too short to tell, say nothing
MIN_LEAD = 2.0        # the winner needs twice the runner-up's hits


def name_of(code: Any) -> str | None:
    """The language's English name for a code ("es" -> "Spanish"), or None for none or an unknown code."""
    if not isinstance(code, str) or not code:
        return None
    return NAMES.get(code.lower().split("-")[0].split("_")[0])


def _stopword_guess(text: str) -> str | None:
    counts: dict[str, int] = {}
    for word in _WORDS.findall(text.lower()):
        for code in _INDEX.get(word, ()):
            counts[code] = counts.get(code, 0) + 1
    if not counts:
        return None
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    best, hits = ranked[0]
    runner = ranked[1][1] if len(ranked) > 1 else 0
    if hits < MIN_HITS or hits < MIN_LEAD * runner:
        return None
    return best


CHECKED = ("en", "es", "fr", "de", "pt", "it")  # the languages the check can judge (the triage model's six)
MIN_WORDS = 5         # shorter replies ("Gracias Kate! ^AC") are not judged


@lru_cache(maxsize=1)
def _lingua() -> Any:
    """lingua for the checked languages, low-accuracy mode with preloaded models (about 0.2 s to build, well under
    a millisecond a reply), or None when the package is not installed."""
    try:
        from lingua import IsoCode639_1, LanguageDetectorBuilder
    except ImportError:
        return None
    codes = [getattr(IsoCode639_1, c.upper()) for c in CHECKED]
    return (LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_low_accuracy_mode()
            .with_minimum_relative_distance(0.1).with_preloaded_language_models().build())


def warm() -> None:
    """Build the detector now (at engine start) rather than inside the first reply's deadline."""
    _lingua()


def detect(text: str) -> str | None:
    """The ISO 639-1 code of the text's language, or None when it cannot tell (too short, mixed, unknown).

    With lingua, its answer counts only when the function words do not point elsewhere: a wrong-language finding
    costs a second model call, so both cheap signals must agree (or the function words be silent)."""
    if len(_WORDS.findall(text)) < MIN_WORDS:
        return None
    guess = _stopword_guess(text)
    detector = _lingua()
    if detector is None:
        return guess
    found = detector.detect_language_of(text)
    code = found.iso_code_639_1.name.lower() if found is not None else None
    return code if guess in (None, code) else None


def wrong_language(reply: str, want: str | None) -> str | None:
    """The language the reply is in when it is clearly not `want`, else None (unsure, or a language not checked)."""
    if not want or want not in CHECKED:
        return None
    got = detect(reply)
    return got if got is not None and got != want else None


def _code(raw: Any) -> str | None:
    if not isinstance(raw, str) or not raw:
        return None
    code = raw.lower().split("-")[0].split("_")[0]
    return code if code in NAMES else None


def expected_language(post: dict[str, Any], facts: dict[str, Any]) -> str | None:
    """The language the reply must be in: the post's own `lang` (the site's), else what this module reads the
    post as when it is sure, else the analysis' `lang` ("und" and unknown codes count as none).

    The analysis' guess comes last because a detector's slip there ("the password reset email never came" read as
    Italian) would make the model answer an English customer in Italian; the site's tag and two agreeing signals
    are surer."""
    return _code(post.get("lang")) or detect(str(post.get("text") or "")) or _code(facts.get("lang"))
