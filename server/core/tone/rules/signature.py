"""The agent's signature: packs that ask agents to sign (like ^KM) want every reply signed, at the end."""
from __future__ import annotations

from server.core.tone.draft import Draft
from server.core.tone.patterns import SIGNATURE_RE
from server.core.tone.phrases import signature_re
from server.core.tone.registry import Finding, finding, rule


@rule("missing_signature", "warn", "The pack requires an agent signature (like ^KM) at the end.")
def missing_signature(d: Draft) -> list[Finding]:
    """Any signature-like ending counts (the pack's format, its default, or a common "^KM" / "- Alex" shape):
    the rule is about signing at all, not about which agent signed."""
    sig = d.pack.signature
    if not sig.enforced:
        return []
    body = d.text.rstrip()
    if signature_re(sig.format, sig.default).search(body) or SIGNATURE_RE.search(body):
        return []
    return [finding("missing_signature", f"The pack asks agents to sign replies (e.g. {sig.default or sig.format}).",
                    (d.end, d.end), f"{body} {sig.default}".rstrip() if sig.default else None)]
