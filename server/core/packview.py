"""A typed, read-only view of a validated pack, with every default applied once.

The pack schema (`server.packs.schema`) has already said what is allowed; this view says what a part gets when
the pack is silent, in one place, instead of each module re-deriving it with `.get(...) or {}` chains. Parts ask
`view_of(pack)`: it takes a `Pack` (whose view is built once when the pack is parsed) or a plain dict (tests and
previews pass partial packs), so the same defaults hold for both.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from server.core.vocab import PLATFORMS

DEFAULT_LIMITS: Mapping[str, int] = MappingProxyType({"x": 280, "facebook": 8000})
EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Channel:
    limit: int
    counting: str  # "twitter" (X's weighted count) or "chars"
    recommended: int | None = None
    readability_max_grade: float | None = None
    dm_phrase: str | None = None


@dataclass(frozen=True)
class Signature:
    format: str = "{name}"
    required: bool = True
    default: str = ""
    # Whether the pack itself sets `required: true`. `required` defaults to True for the reply writer; the tone
    # check flags unsigned drafts only when the pack asked for it (a partial pack, or none, asks for nothing).
    enforced: bool = False


@dataclass(frozen=True)
class ToneRules:
    banned_phrases: tuple[str, ...] = ()
    required_phrases: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    min_score: float | None = None


@dataclass(frozen=True)
class PackView:
    name: str = ""
    version: str = ""
    brand: str = ""
    voice: str = ""
    formality: str = "friendly"
    emoji: bool | None = None  # None: the pack does not say
    products: tuple[str, ...] = ()
    handles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    signature: Signature = field(default_factory=Signature)
    channels: Mapping[str, Channel] = field(default_factory=dict)
    sla: Mapping[str, Any] = field(default_factory=dict)
    tone: ToneRules = field(default_factory=ToneRules)
    intents: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    style: Mapping[str, Any] = field(default_factory=dict)
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    examples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # [analysis] example posts per intent
    faq: tuple[Mapping[str, Any], ...] = ()
    llm: Mapping[str, Any] = field(default_factory=dict)

    def channel(self, platform: str) -> Channel:
        """The channel's rules; a platform the pack does not list gets the product's defaults."""
        found = self.channels.get(platform)
        if found is not None:
            return found
        return Channel(limit=DEFAULT_LIMITS.get(platform, 280), counting="twitter" if platform == "x" else "chars")

    def intent(self, name: str) -> Mapping[str, Any]:
        return self.intents.get(name) or EMPTY


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else EMPTY


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


def _channel(platform: str, raw: Mapping[str, Any]) -> Channel:
    return Channel(
        limit=int(raw.get("limit") or DEFAULT_LIMITS.get(platform, 280)),
        counting=str(raw.get("counting") or ("twitter" if platform == "x" else "chars")),
        recommended=raw.get("recommended"),
        readability_max_grade=raw.get("readability_max_grade"),
        dm_phrase=raw.get("dm_phrase") or None,
    )


def build_view(data: Mapping[str, Any]) -> PackView:
    """The view of a pack's data (validated or partial)."""
    meta, sig, tone = _dict(data.get("pack")), _dict(data.get("signature")), _dict(data.get("tone"))
    channels = _dict(data.get("channels"))
    return PackView(
        name=str(meta.get("name") or ""),
        version=str(meta.get("version") or ""),
        brand=str(meta.get("brand") or ""),
        voice=str(meta.get("voice") or ""),
        formality=str(meta.get("formality") or "friendly"),
        emoji=meta.get("emoji") if isinstance(meta.get("emoji"), bool) else None,
        products=_strs(meta.get("products")),
        handles=MappingProxyType({p: _strs(h) for p, h in _dict(meta.get("handles")).items()}),
        signature=Signature(format=str(sig.get("format") or "{name}"), required=bool(sig.get("required", True)),
                            default=str(sig.get("default") or ""), enforced=bool(sig.get("required"))),
        channels=MappingProxyType({p: _channel(p, _dict(channels.get(p))) for p in PLATFORMS if p in channels}),
        sla=_dict(data.get("sla")),
        tone=ToneRules(banned_phrases=_strs(tone.get("banned_phrases")),
                       required_phrases=_strs(tone.get("required_phrases")),
                       allowed_domains=_strs(tone.get("allowed_domains")), min_score=tone.get("min_score")),
        intents=MappingProxyType({k: _dict(v) for k, v in _dict(data.get("intents")).items()}),
        style=_dict(data.get("style")),
        keywords=MappingProxyType({k: _strs(v) for k, v in _dict(_dict(data.get("analysis")).get("keywords")).items()}),
        examples=MappingProxyType({k: _strs(v) for k, v in _dict(_dict(data.get("analysis")).get("examples")).items()}),
        faq=tuple(_dict(e) for e in (data.get("faq") or []) if isinstance(e, Mapping)),
        llm=_dict(data.get("llm")),
    )


def view_of(pack: Any) -> PackView:
    """The view of a `Pack` (built once, when it was parsed), of a plain dict, or of nothing (all defaults)."""
    if pack is None:
        return PackView()
    built = getattr(pack, "view", None)
    if isinstance(built, PackView):
        return built
    data = getattr(pack, "data", pack)
    return build_view(data if isinstance(data, Mapping) else {})
