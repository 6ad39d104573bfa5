"""From an error answer (status, headers, body) to the right exception.

Providers differ only in data: which status means what (one answers 405 for a
bad token) and which error codes they send in their bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from . import json_codec
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from .retry import retry_after_seconds

__all__ = ["ErrorMapper"]

STATUS_ERRORS: Mapping[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}

_CODE_KEYS = ("code", "error_code", "errorCode")
_MESSAGE_KEYS = ("message", "error", "description", "error_description", "detail")
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-correlation-id", "x-amzn-requestid")


def _first_text(body: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = body.get(key)
        if isinstance(value, Mapping):
            nested = _first_text(value, keys)
            if nested:
                return nested
        elif value not in (None, ""):
            return str(value)
    return None


@attrs.frozen
class ErrorMapper:
    """Turns a provider's error answers into exceptions.

    Attributes:
        provider: The provider's display name, for messages.
        statuses: Statuses whose meaning differs from HTTP's usual one.
        codes: The provider's error codes; a known code wins over the status.
    """

    provider: str
    statuses: Mapping[int, type[APIError]] = attrs.field(factory=dict)
    codes: Mapping[str, type[APIError]] = attrs.field(factory=dict)

    def error(
        self, operation: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> APIError:
        """The exception for an error answer."""
        parsed: Any = None
        code: str | None = None
        message: str | None = None
        try:
            # The decoder of 2xx answers: an error body nested deeper than its
            # limit, or holding a lone surrogate, is kept as bytes, not parsed
            # into a RecursionError here or a message no file or database can
            # store (a bulk journal records it).
            parsed = json_codec.loads(body) if body else None
        except ValueError:  # UnicodeDecodeError is one
            parsed = None
        if isinstance(parsed, Mapping):
            code = _first_text(parsed, _CODE_KEYS)
            message = _first_text(parsed, _MESSAGE_KEYS)
            oauth_code, description = parsed.get("error"), parsed.get("error_description")
            if isinstance(oauth_code, str) and isinstance(description, str) and description:
                # OAuth2 (RFC 6749 §5.2): "error" is the code, the description is the text.
                code, message = code or oauth_code, description
        elif isinstance(parsed, str):
            message = parsed
        if message is None:
            text = body[:300].decode("utf-8", "replace").strip()
            message = text or "no error text"
        cls = self.codes.get(code or "") or self.statuses.get(status) or STATUS_ERRORS.get(status)
        if cls is None:
            cls = ServerError if status >= 500 else APIError
        request_id = next((headers[h] for h in _REQUEST_ID_HEADERS if h in headers), None)
        error = cls(
            message,
            status=status,
            provider=self.provider,
            operation=operation,
            code=code,
            request_id=request_id,
            body=parsed if parsed is not None else body,
        )
        if isinstance(error, RateLimitError):
            error.retry_after = retry_after_seconds(headers)
        return error
