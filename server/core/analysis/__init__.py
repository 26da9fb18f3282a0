"""Post analysis: what kind of post this is, how urgent, who wrote it and what it is about.

Everything the reply engines and the queue need to follow "the known path" for a post comes from here: the
intent (`intent`), a severity that combines VADER sentiment (`sentiment`) with cues a care agent would notice
(`severity`), the customer's first name when the display name really is one (`names`), the references they
mention (`entities`) and what happened earlier in the thread (`thread`). With a triage model (`triage`: passed
in, or registered once by create_app) the learned heads decide complaint/praise/abuse, the pack's example posts
act as nearest neighbours, and the model names the language; without one the keyword rules decide alone.

The package is pure: `analyze(post, pack)` reads its inputs and returns a new dict. The VADER analyzer and the
compiled patterns are module-level caches (built once, never mutated), which keeps a call well under 1 ms.
"""
from __future__ import annotations

from typing import Any

from server.core.analysis.entities import extract_entities, has_private_data, merge_thread_entities
from server.core.analysis.intent import classify, intent_scores
from server.core.analysis.names import customer_name, first_name
from server.core.analysis.sentiment import compound
from server.core.analysis.severity import cues as severity_cues
from server.core.analysis.severity import lighthearted, severity_level
from server.core.analysis.text import clean
from server.core.analysis.thread import thread_summary
from server.core.analysis.triage import Triage, addressed_to_brand, decide, raise_for_urgency, registered, sarcastic
from server.core.analysis.triage import urgent as time_pressure
from server.core.packview import view_of
from server.core.vocab import INTENTS, SEVERITIES


def _triage(text: str, cleaned: str, scores: dict[str, float], sentiment: float, view: Any,
            model: Triage | None) -> tuple[str, bool, str | None]:
    """Intent, sarcasm and language: the model's reading when there is a model, the rules' otherwise."""
    rule_intent = classify(scores, sentiment)
    if model is None:
        return rule_intent, False, None
    reading = {**model.read(text, view.name, view.examples), "text": cleaned}
    sarcasm = sarcastic(reading, scores)
    return decide(rule_intent, scores, reading, sarcasm), sarcasm, reading.get("lang")


def analyze(post: dict[str, Any], pack: Any, model: Triage | None = None) -> dict[str, Any]:
    """Rate a post (intent, severity, sarcasm, urgency, language) and pull out what a useful reply needs.

    `model` defaults to the registered triage model; tests that want the rules alone pass none registered."""
    model = model if model is not None else registered()
    view = view_of(pack)
    handles = {h.lower().lstrip("@") for hs in view.handles.values() for h in hs}
    author = post.get("author") or {}
    handle = (author.get("handle") or "").lstrip("@") or None
    text = str(post.get("text") or "")

    cleaned, brand_mentions, mentions = clean(text, handles)
    sentiment = round(compound(cleaned), 4)
    scores = intent_scores(cleaned, sentiment, view.keywords)
    intent, sarcasm, lang = _triage(text, cleaned, scores, sentiment, view, model)
    urgent = time_pressure(cleaned)

    entities = extract_entities(text, view.products)
    thread = thread_summary(post, handles, view.brand, view.products) if post.get("thread") else None
    cues = severity_cues(text, cleaned, intent, sentiment, scores, (brand_mentions, mentions), thread)
    if thread and thread.get("entities"):
        merge_thread_entities(entities, thread["entities"])
    private = intent not in ("abuse", "spam") and has_private_data(text, entities)
    if private:
        cues.append("private_data")

    result: dict[str, Any] = {
        "intent": intent,
        "severity": raise_for_urgency(severity_level(intent, sentiment, cues), intent, urgent),
        "sarcasm": sarcasm,
        "urgent": urgent,
        "addressed_to_brand": addressed_to_brand(text, handles),
        "sentiment": sentiment,
        "name": customer_name(author, handle, view.brand, handles),
        "handle": handle,
        "entities": entities,
        "cues": cues,
        "private_data_in_post": private,
        "lighthearted": lighthearted(text, sentiment, intent),
        "lang": lang or post.get("lang") or "und",
        "scores": {k: v for k, v in scores.items() if k in INTENTS and v},
    }
    if thread is not None:
        result["thread_summary"] = thread
    return result


__all__ = ["analyze", "classify", "extract_entities", "first_name", "INTENTS", "SEVERITIES"]
