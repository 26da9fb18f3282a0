"""One error shape for every API failure: HTTP 4xx with {"error": code, "message": text}, never an HTML page."""
from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from server.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, TooLarge, Unavailable

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Raised by the web layer (body parsing, security, pairing) to answer with a clear JSON error.

    Domain code raises `server.core.errors.DomainError` instead; `STATUS` maps those to HTTP here, once."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def response(self) -> Response:
        resp = jsonify({"error": self.code, "message": self.message, **self.extra})
        resp.status_code = self.status
        return resp


# The one place a domain error becomes an HTTP status (most specific class first).
STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (TooLarge, 413),
    (Invalid, 400),
    (NotFound, 404),
    (Conflict, 409),
    (Forbidden, 403),
    (Unavailable, 503),
)


def status_of(exc: DomainError) -> int:
    return next((status for kind, status in STATUS if isinstance(exc, kind)), 400)


def as_api_error(exc: DomainError) -> ApiError:
    return ApiError(status_of(exc), exc.code, exc.message, **exc.extra)


_HTTP_CODES = {
    400: ("bad_request", "The request could not be understood."),
    401: ("unauthorized", "A valid token is required."),
    403: ("forbidden", "This request is not allowed."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This address does not accept that method."),
    413: ("too_large", "The request body is larger than 64 KB."),
    415: ("unsupported_media_type", "Send JSON."),
}


def read_json(max_depth: int = 32) -> dict[str, Any]:
    """The request body as a JSON object, or an ApiError that says what is wrong with it."""
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A chunked body is cut at the limit without an error; say "too large", not "bad JSON".
        raise ApiError(413, "too_large", f"The request body is larger than {limit // 1024} KB.")
    if not raw:
        raise ApiError(400, "invalid_json", "The request body is empty; send a JSON object.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_json", f"The request body is not valid UTF-8 (byte {exc.start}).") from None
    try:
        body = json.loads(text)
    except RecursionError:
        raise ApiError(400, "invalid_json", "The JSON is nested too deeply.") from None
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    if _depth(body) > max_depth:
        raise ApiError(400, "invalid_json", f"The JSON is nested deeper than {max_depth} levels.")
    if has_lone_surrogate(text, body):
        raise ApiError(400, "invalid_json", "The JSON has an unpaired surrogate escape (\\ud800-\\udfff); "
                                            "send valid Unicode.")
    return body


def has_lone_surrogate(text: str, value: Any) -> bool:
    """JSON may escape half of a UTF-16 pair ("\\ud800"); Python accepts it, but nothing can store or send it."""
    if "\\ud" not in text and "\\uD" not in text:
        return False
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _depth(value: Any, level: int = 0) -> int:
    if level > 64:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return exc.response()

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Response:
        return as_api_error(exc).response()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response | HTTPException:
        if request.path.startswith("/admin") and exc.code not in (413,) and not request.is_json:
            return exc
        code, message = _HTTP_CODES.get(exc.code or 500, ("error", exc.description or "Request failed."))
        resp = jsonify({"error": code, "message": message})
        resp.status_code = exc.code or 500
        if exc.code == 405 and getattr(exc, "valid_methods", None):  # RFC 9110: a 405 lists what is allowed
            resp.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        resp = jsonify({"error": "internal", "message": "Something went wrong on the server; it has been logged."})
        resp.status_code = 500
        return resp
