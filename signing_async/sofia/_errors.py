"""How S.O.F.I.A.'s error answers map to exceptions.

S.O.F.I.A. sends an HTTP status plus a ``WHK`` code in a JSON body whose
shape is not documented; the core mapper reads the code from ``code``,
``error_code`` or ``errorCode`` and the text from ``message``, ``error`` or
``description``. A known code decides the exception; an unknown one (or
none) leaves it to the HTTP status.
"""

from __future__ import annotations

from .._core.error_mapping import ErrorMapper
from .._core.errors import AuthenticationError, BadRequestError, NotFoundError

__all__ = ["ERRORS", "PROVIDER"]

PROVIDER = "S.O.F.I.A."

ERRORS = ErrorMapper(
    PROVIDER,
    codes={
        "WHK001": BadRequestError,  # invalid OTP or missing fields
        "WHK002": AuthenticationError,  # authentication failed
        "WHK004": NotFoundError,  # transaction not found
    },
)
