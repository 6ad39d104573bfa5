"""Checks run before anything is sent; each names the field it rejects.

Text that reaches a request must be real Unicode text: a lone surrogate
(what ``surrogateescape`` makes of a byte that is not UTF-8, in a CSV row or
a file name) cannot be encoded, and a NUL byte ends a C string somewhere
along the way. Both are refused here, with the field's name, instead of
surfacing as a raw ``UnicodeEncodeError`` or ``ValueError`` from deep inside
an encoder. Identifiers get stricter rules, because they travel in URLs.
"""

from __future__ import annotations

import re

from .errors import ValidationError
from .sources import Blob

__all__ = [
    "MAX_ID_LENGTH",
    "PDF_MAGIC",
    "id_problem",
    "require_email",
    "require_id",
    "require_in_range",
    "require_pdf",
    "require_phone",
    "require_string",
    "require_text",
    "shown",
    "text_problem",
]

# Deliberately loose (one @, a dot in the domain, no spaces): the provider has
# the last word, this only catches typos before a request is wasted.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# A lone surrogate, or NUL: never part of text a server can receive.
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")

# C0, DEL and C1 controls: nothing an identifier or a file name may hold.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")

MAX_ID_LENGTH = 1024
"""Characters an identifier may have at most: ids travel in URLs, which servers cap."""

PDF_MAGIC = b"%PDF-"

# Digits with the usual separators and an optional leading +; 6 to 15 digits
# (15 is E.164's maximum). Loose like the e-mail check: it catches "12".
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]*$")


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages.

    A 5 MB string would make a 5 MB message; the ``repr`` of an integer of
    more than 4300 digits raises ``ValueError``, of a list nested thousands
    deep ``RecursionError``, of a caller's object whatever it likes: a
    message must not fail for what it quotes.
    """
    try:
        text = repr(value)
    except Exception:  # any: see above
        return f"a {type(value).__name__} that cannot be shown"
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def text_problem(value: str) -> str | None:
    """What makes ``value`` unfit to send as text (a lone surrogate, NUL), or None."""
    if value.isprintable():  # most text, quickly: neither a surrogate nor NUL is printable
        return None
    found = _NOT_TEXT.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return f"must not contain a NUL character (at position {found.start()})"
    return (
        f"holds a lone surrogate at position {found.start()}, which is not text "
        "(was it read with errors='surrogateescape' from bytes that are not UTF-8?)"
    )


def id_problem(value: str) -> str | None:
    """What makes ``value`` unfit as an identifier in a URL path, or None.

    ``.`` and ``..`` would move the request to another route once a client or
    a proxy normalises the path; control characters and megabyte-long ids
    have no business in a URL. Everything else is percent-encoded.
    """
    if value.isprintable() and len(value) <= MAX_ID_LENGTH and value not in ("", ".", ".."):
        # The common case in one pass: printable means no control, no surrogate, no NUL.
        return None if value.strip() else "must be a non-empty string"
    problem = text_problem(value)
    if problem is not None:
        return problem
    if not value.strip():
        return "must be a non-empty string"
    if value in (".", ".."):
        return f"{value!r} is not an identifier (it would change the URL's path)"
    found = _CONTROL.search(value)
    if found is not None:
        return f"must not contain control characters (at position {found.start()})"
    if len(value) > MAX_ID_LENGTH:
        return f"must be at most {MAX_ID_LENGTH} characters long, not {len(value)}"
    return None


def require_string(value: object, field: str) -> str:
    """A string, possibly empty, that can be sent (no lone surrogate, no NUL)."""
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, not {type(value).__name__}")
    problem = text_problem(value)
    if problem is not None:
        raise ValidationError(field, problem)
    return value


def require_text(value: object, field: str) -> str:
    """A non-blank string that can be sent."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must be a non-empty string")
    return require_string(value, field)


def require_id(value: object, field: str) -> str:
    """An identifier: non-blank text, not ``.`` or ``..``, no controls, at most 1 KiB.

    See :func:`id_problem`.
    """
    if not isinstance(value, str):
        raise ValidationError(field, "must be a non-empty string")
    problem = id_problem(value)
    if problem is not None:
        raise ValidationError(field, problem)
    return value


def require_email(value: object, field: str) -> str:
    """A plausible e-mail address."""
    text = require_text(value, field)  # the clearer message for a blank one
    if _EMAIL.match(text) and _CONTROL.search(text) is None:
        return text
    raise ValidationError(field, f"not a valid e-mail address: {shown(text)}")


def require_phone(value: object, field: str) -> str:
    """A plausible phone number: 6 to 15 digits, an optional leading ``+``, separators."""
    text = require_text(value, field)
    digits = sum(char.isdigit() for char in text)
    if not _PHONE.match(text.strip()) or not 6 <= digits <= 15:
        raise ValidationError(
            field, f"not a valid phone number (6 to 15 digits, optional +): {shown(text)}"
        )
    return text


def require_in_range(value: object, low: int, high: int, field: str) -> int:
    """An integer in ``low..high`` (inclusive)."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationError(field, f"must be an integer from {low} to {high}, not {shown(value)}")
    return value


def require_pdf(blob: Blob, field: str) -> Blob:
    """A document that starts with the ``%PDF-`` magic number."""
    if not blob.head.startswith(PDF_MAGIC):
        raise ValidationError(field, f"{blob.name} is not a PDF (it does not start with %PDF-)")
    return blob
