"""From a bulk item to a single-item call, and from its result to a journal record.

Every ``*_many`` method takes items that are either the single-item method's
request object or a mapping of its keyword arguments; both are built into
the request object by the core's one conversion (:func:`~.._core.coerce.build`:
unknown keys refused, the bad field named), then spread into keyword arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..coerce import build
from ..errors import ValidationError
from ..json_codec import dumps
from ..serde import encode

__all__ = ["call_arguments", "journal_record"]

_PER_CALL = "timeout"
"""The keyword every single-item method takes beside its request's fields."""


def call_arguments(item: object, request_type: type[Any]) -> dict[str, Any]:
    """The keyword arguments of the single-item call for one bulk item.

    Args:
        item: A ``request_type`` instance, or a mapping of its fields (and
            optionally ``timeout``).
        request_type: The attrs class naming the call's arguments.

    Raises:
        ValidationError: An item of another type, an unknown key, a missing
            one, or a nested request that does not build; it names the field
            (``signer.emial``).
    """
    if not isinstance(item, request_type | Mapping):
        raise ValidationError(
            "item", f"expected a {request_type.__name__} or a mapping, not {type(item).__name__}"
        )
    extra: dict[str, Any] = {}
    if isinstance(item, Mapping) and _PER_CALL in item:
        extra[_PER_CALL] = item[_PER_CALL]
        item = {name: value for name, value in item.items() if name != _PER_CALL}
    request = build(request_type, item, "")
    arguments = {field.name: getattr(request, field.name) for field in attrs.fields(request_type)}
    return {**arguments, **extra}


def journal_record(result: Any) -> str:
    """A result model as the journal keeps it: its fields and its unclaimed keys.

    Keeping ``raw`` too means a skipped item's result equals the original.
    """
    # The fast encoder: any valid JSON reads back the same. A NaN (only in an
    # answer that was not JSON to begin with) is kept as null; what cannot be
    # encoded at all raises, and the item's result is then not journaled.
    return dumps({**getattr(result, "raw", {}), **encode(result)}).decode()
