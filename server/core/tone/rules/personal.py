"""Personal address: using the customer's name or handle shows a person read their post."""
from __future__ import annotations

import re

from server.core.tone.draft import Draft
from server.core.tone.registry import Finding, finding, rule
from server.core.tone.rewrite import add_name


@rule("missing_name", "warn", "The draft does not use the customer's name or handle.")
def missing_name(d: Draft) -> list[Finding]:
    """Only when the context names the customer, and never for trolls or spam (they get no personal touch)."""
    name, handle = d.customer.name, d.customer.handle
    if not (name or handle) or d.customer.intent in ("abuse", "spam"):
        return []
    if name and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", d.text, re.IGNORECASE):
        return []
    if handle and re.search(rf"@?(?<!\w){re.escape(handle)}(?!\w)", d.text, re.IGNORECASE):
        return []
    who = name or f"@{handle}"
    return [finding("missing_name", f"Address the customer by name ({who}): it shows a person read their post.",
                    (0, 0), add_name(d.text, who))]
