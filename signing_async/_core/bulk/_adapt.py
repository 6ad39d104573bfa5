"""From a bulk item to a single-item call, and from its result to a journal record.

Every ``*_many`` method takes items that are either the single-item method's
request object or a mapping of its keyword arguments; both become the same
keyword arguments here, checked the same way for every provider.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ..errors import ValidationError
from ..serde import encode

__all__ = ["call_arguments", "journal_record"]


def call_arguments(
    item: object, request_type: type[Any], *, required: Sequence[str], method: str
) -> dict[str, Any]:
    """The keyword arguments ``method`` takes for one bulk item.

    Args:
        item: A ``request_type`` instance or a mapping of the same names.
        request_type: The attrs class naming the method's arguments.
        required: The names a mapping must carry.
        method: The single-item method's name, for messages.

    Raises:
        ValidationError: An unknown or missing key, or an item of another type.
    """
    names = [field.name for field in attrs.fields(request_type)]
    if isinstance(item, request_type):
        return {name: getattr(item, name) for name in names}
    if not isinstance(item, Mapping):
        raise ValidationError(
            "item", f"expected a {request_type.__name__} or a mapping, not {type(item).__name__}"
        )
    unknown = set(item) - {*names, "timeout"}
    if unknown:
        keys = sorted(map(str, unknown))  # map(str): a key may be of any type
        raise ValidationError(
            "item", f"unknown keys {keys}; {method}() takes {', '.join(names)}, timeout"
        )
    for name in required:
        if name not in item:
            raise ValidationError(name, "is required")
    return dict(item)


def journal_record(result: Any) -> str:
    """A result model as the journal keeps it: its fields and its unclaimed keys.

    Keeping ``raw`` too means a skipped item's result equals the original.
    """
    return json.dumps({**result.raw, **encode(result)})
