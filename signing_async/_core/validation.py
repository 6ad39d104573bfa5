"""Checks run before anything is sent; each names the field it rejects."""

from __future__ import annotations

import re

from .errors import ValidationError
from .sources import Blob

__all__ = [
    "require_email",
    "require_in_range",
    "require_pdf",
    "require_phone",
    "require_text",
]

# Deliberately loose (one @, a dot in the domain, no spaces): the provider has
# the last word, this only catches typos before a request is wasted.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

PDF_MAGIC = b"%PDF-"

# Digits with the usual separators and an optional leading +; 6 to 15 digits
# (15 is E.164's maximum). Loose like the e-mail check: it catches "12".
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]*$")


def require_text(value: object, field: str) -> str:
    """A non-blank string."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must be a non-empty string")
    return value


def require_email(value: object, field: str) -> str:
    """A plausible e-mail address."""
    if isinstance(value, str) and _EMAIL.match(value):
        return value
    text = require_text(value, field)  # the clearer message for a blank one
    raise ValidationError(field, f"not a valid e-mail address: {text!r}")


def require_phone(value: object, field: str) -> str:
    """A plausible phone number: 6 to 15 digits, an optional leading ``+``, separators."""
    text = require_text(value, field)
    digits = sum(char.isdigit() for char in text)
    if not _PHONE.match(text.strip()) or not 6 <= digits <= 15:
        raise ValidationError(
            field, f"not a valid phone number (6 to 15 digits, optional +): {text!r}"
        )
    return text


def require_in_range(value: object, low: int, high: int, field: str) -> int:
    """An integer in ``low..high`` (inclusive)."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationError(field, f"must be an integer from {low} to {high}, not {value!r}")
    return value


def require_pdf(blob: Blob, field: str) -> Blob:
    """A document that starts with the ``%PDF-`` magic number."""
    if not blob.head.startswith(PDF_MAGIC):
        raise ValidationError(field, f"{blob.name} is not a PDF (it does not start with %PDF-)")
    return blob
