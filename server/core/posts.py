"""The Post every part shares (docs/DESIGN.md), validated with JSON Schema so bad input gets a precise message."""
from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from server.core.errors import Invalid, TooLarge

MAX_TEXT = 10_000
from server.core.vocab import PLATFORMS  # noqa: E402,F401  (one vocabulary)

_AUTHOR = {
    "type": "object",
    "properties": {
        "handle": {"type": ["string", "null"], "maxLength": 200},
        "name": {"type": ["string", "null"], "maxLength": 200},
    },
}
_THREAD_ITEM = {
    "type": "object",
    "properties": {
        "author": _AUTHOR,
        "text": {"type": "string", "maxLength": MAX_TEXT},
        "created_at": {"type": ["string", "null"], "maxLength": 64},
    },
    "required": ["text"],
}
POST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "platform": {"enum": list(PLATFORMS)},
        "post_id": {"type": ["string", "integer"], "minLength": 1, "maxLength": 128},
        "url": {"type": ["string", "null"], "maxLength": 2048},
        "author": _AUTHOR,
        "text": {"type": "string", "minLength": 1},
        "created_at": {"type": ["string", "null"], "maxLength": 64},
        "lang": {"type": ["string", "null"], "maxLength": 16},
        "thread": {"type": "array", "maxItems": 50, "items": _THREAD_ITEM},
    },
    "required": ["platform", "text"],
}
_validator = Draft202012Validator(POST_SCHEMA)


class PostError(Invalid):
    """A post that does not match the Post format (docs/DESIGN.md), naming the field and the problem."""


class PostTooLong(PostError, TooLarge):
    """A post whose text is over MAX_TEXT characters: the same answer from every endpoint."""


def _where(path: Any) -> str:
    return "post" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def validate_post(post: Any) -> dict[str, Any]:
    """Return a normalised copy of the post or raise PostError naming the field and the problem."""
    if not isinstance(post, dict):
        raise PostError("invalid_post", "'post' must be a JSON object with at least 'platform' and 'text'.")
    if isinstance(post.get("text"), str) and len(post["text"]) > MAX_TEXT:
        raise PostTooLong("text_too_long", f"post.text has {len(post['text'])} characters; the limit is {MAX_TEXT}.")
    if "platform" in post and isinstance(post["platform"], str) and post["platform"] not in PLATFORMS:
        raise PostError("unknown_platform",
                        f"Unknown platform '{post['platform'][:40]}'; use one of: {', '.join(PLATFORMS)}.")
    errors = sorted(_validator.iter_errors(post), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else "a field"
            raise PostError("invalid_post", f"{_where(err.path)}.{missing} is required.")
        raise PostError("invalid_post", f"{_where(err.path)}: {_plain(err)}")
    out = dict(post)
    if "\x00" in out["text"]:
        out["text"] = out["text"].replace("\x00", "")
    if not out["text"].strip():
        raise PostError("invalid_post", "post.text is empty.")
    out["post_id"] = str(out.get("post_id") or "")
    author = dict(out.get("author") or {})
    author["handle"] = (author.get("handle") or "").lstrip("@").strip() or None
    author["name"] = (author.get("name") or "").strip() or None
    out["author"] = author
    out["thread"] = list(out.get("thread") or [])
    out.setdefault("url", None)
    out.setdefault("created_at", None)
    return out


def _plain(err: Any) -> str:
    if err.validator == "type":
        return f"must be of type {err.validator_value}, not {type(err.instance).__name__}."
    if err.validator == "maxLength":
        return f"is longer than {err.validator_value} characters."
    if err.validator == "minLength":
        return "must not be empty."
    if err.validator == "maxItems":
        return f"has more than {err.validator_value} items."
    if err.validator == "enum":
        return f"must be one of {', '.join(map(str, err.validator_value))}."
    return err.message
