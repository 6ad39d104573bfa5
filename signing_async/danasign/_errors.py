"""How DANAsign's error answers map to exceptions.

405 means a missing or invalid token (an authentication error), unless it is
a real "method not allowed": one with an ``Allow`` header (HTTP requires it
there; the token refusal has none) or saying so in its text. Error bodies
are ``{"error": ...}`` or ``{"message": ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from .._core.error_mapping import ErrorMapper
from .._core.errors import APIError, AuthenticationError

__all__ = ["ERRORS", "PROVIDER"]

PROVIDER = "DANAsign"


@attrs.frozen
class _Errors(ErrorMapper):
    """DANAsign's mapping, which tells its token refusal from a real 405."""

    def error(
        self, operation: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> APIError:
        """The exception for an error answer (see the module's notes on 405)."""
        error = super().error(operation, status, headers, body)
        if status == 405 and ("Allow" in headers or "method not allowed" in error.message.lower()):
            return _HTTP_MEANINGS.error(operation, status, headers, body)
        return error


_HTTP_MEANINGS = ErrorMapper(PROVIDER)
ERRORS = _Errors(PROVIDER, statuses={405: AuthenticationError})
