"""Words for retrieval: lower-cased, stop words out, stemmed with Snowball (offline, pure Python) per language,
so "refunded", "refunds" and "refund" meet, and "devoluciones" meets "devolución"."""
from __future__ import annotations

import functools
import re
import threading
import unicodedata

import snowballstemmer

LANGS = {"en": "english", "es": "spanish", "fr": "french", "de": "german", "it": "italian", "pt": "portuguese",
         "nl": "dutch"}
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)

# Small stop lists: the words that carry no topic in a customer's post (own lists: Snowball ships none).
STOP = {
    "en": set("""a an the and or but if of to in on at by for with from into onto over under about as is are was
were be been being am do does did done have has had having i me my mine we us our ours you your yours he him his
she her hers it its they them their this that these those there here what which who whom whose when where why how
can could will would shall should may might must not no nor so than too very just also only still yet again
ever even please thanks thank hi hello hey dear got get gets getting any some all each every much many more most
other such own same up down out off then once now today im ive id youre dont cant wont didnt doesnt isnt arent
wasnt yall u ur pls plz lol via re amp rt new want need like know make thing stuff
right see look tell said say way going go come came
acmeshop acmebank skyway skywayair skywayhelp""".split()),
    "es": set("""el la los las un una unos unas y o pero si de del a al en con por para sin sobre es son fue era
ser estar está están estoy he ha han hay mi mis me te tu tus su sus nos nuestro vuestro que qué cual cuál quien
como cómo cuando cuándo donde dónde ya muy más menos también solo este esta estos estas ese esa eso hola gracias
favor lo le les se no""".split()),
    "fr": set("""le la les un une des et ou mais si de du au aux en dans avec par pour sans sur est sont était
être avoir ai as a avons ont je tu il elle nous vous ils elles me te se mon ma mes ton ta tes son sa ses notre
votre leur que qui quoi quand où comment ce cet cette ces ne pas plus très aussi bonjour merci svp stp y""".split()),
}


@functools.lru_cache(maxsize=16)
def _stemmer(lang: str) -> snowballstemmer.stemmer | None:
    algo = LANGS.get(lang)
    return snowballstemmer.stemmer(algo) if algo else None


def _fold(word: str) -> str:
    """Accents off after stemming, so "devolución" and "devolucion" (typed on a phone) meet."""
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


_STEM_LOCK = threading.Lock()  # a snowballstemmer keeps the word being stemmed in itself: one thread at a time


@functools.lru_cache(maxsize=50_000)
def _stem(word: str, lang: str) -> str:
    st = _stemmer(lang)
    if st is None:
        return _fold(word)
    with _STEM_LOCK:  # concurrent previews and agents' requests raced inside it (IndexError)
        stemmed = st.stemWord(word)
    return _fold(stemmed)


def tokens(text: str, lang: str = "en") -> list[str]:
    """The stemmed content words of a text, in order (repeats kept: BM25 counts them)."""
    stop = STOP.get(lang, STOP["en"])
    out = []
    for m in _WORD.finditer(text.lower()):
        w = m.group(0).replace("’", "'")
        w = w.split("'")[0] if lang == "en" else w.split("'")[-1]
        if len(w) < 2 or w.isdigit() or w in stop:  # bare numbers (order ids, "2 hours") carry no topic
            continue
        out.append(_stem(w, lang))
    return out
