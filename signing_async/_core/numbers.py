"""Whole numbers written by someone else: a header's value, a form's field, a column's name."""

from __future__ import annotations

__all__ = ["read_count"]


def read_count(text: str, *, max_digits: int = 18) -> int | None:
    """``text`` as a count (0 or more), or None unless it is 1 to ``max_digits`` ASCII digits.

    Stricter than ``int()``, whose refusals would surface as a raw
    ``ValueError``, and than ``str.isdigit()``, which passes what ``int()``
    refuses ("²") or reads as another script's digit (U+0661): no sign,
    space or underscore, and no length near ``int()``'s limit of 4,300
    digits. The default of eighteen digits holds any count below 10**18.
    """
    if not 0 < len(text) <= max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)
