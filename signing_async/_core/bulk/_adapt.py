"""From a bulk item to a single-item call, and from its result to a journal record.

Every ``*_many`` method takes items that are either the single-item method's
request object or a mapping of its keyword arguments. Either is spread into
keyword arguments here, its keys checked (unknown ones refused, missing ones
named); the values are then checked by the single-item method itself, as on
any direct call, with the same messages (``signers[0].email``). Building the
request object first would check every value twice: a tenth of a small
item's CPU in a bulk run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..errors import ValidationError
from ..json_codec import dumps
from ..serde import encode

__all__ = ["call_arguments", "journal_record"]

_PER_CALL = "timeout"
"""The keyword every single-item method takes beside its request's fields."""


_Keys = tuple[tuple[str, ...], frozenset[str], frozenset[str]]
_KEYS: dict[type[Any], _Keys] = {}


def _keys(request_type: type[Any]) -> _Keys:
    """The field names of ``request_type``, the keys an item may have, the keys it must have."""
    keys = _KEYS.get(request_type)
    if keys is None:
        fields = attrs.fields(request_type)
        names = tuple(field.name for field in fields)
        required = frozenset(field.name for field in fields if field.default is attrs.NOTHING)
        keys = _KEYS[request_type] = (names, frozenset((*names, _PER_CALL)), required)
    return keys


def call_arguments(item: object, request_type: type[Any]) -> dict[str, Any]:
    """The keyword arguments of the single-item call for one bulk item.

    Args:
        item: A ``request_type`` instance, or a mapping of its fields (and
            optionally ``timeout``).
        request_type: The attrs class naming the call's arguments.

    Raises:
        ValidationError: An item of another type, an unknown key or a
            missing one; it names the key. (A bad value is the single-item
            call's to refuse: it names the field, ``signers[0].email``.)
    """
    names, allowed, required = _keys(request_type)
    if isinstance(item, request_type):
        return {name: getattr(item, name) for name in names}
    if not isinstance(item, Mapping):
        raise ValidationError(
            "item", f"expected a {request_type.__name__} or a mapping, not {type(item).__name__}"
        )
    if not (allowed.issuperset(item) and required.issubset(item)):
        unknown = [key for key in item if key not in allowed]
        if unknown:
            raise ValidationError(
                sorted(map(str, unknown))[0],  # map(str): a key may be of any type
                f"unknown key for {request_type.__name__} (expected one of {sorted(names)})",
            )
        raise ValidationError(sorted(required.difference(item))[0], "is required")
    if type(item) is dict:
        return dict(item)
    # Read key by key: another mapping (a dict subclass too) may compute its values.
    return {key: item[key] for key in item}


def journal_record(result: Any) -> str:
    """A result model as the journal keeps it: its fields and its unclaimed keys.

    Keeping ``raw`` too means a skipped item's result equals the original.
    """
    # The fast encoder: any valid JSON reads back the same. A NaN (only in an
    # answer that was not JSON to begin with) is kept as null; what cannot be
    # encoded at all raises, and the item's result is then not journaled.
    return dumps({**getattr(result, "raw", {}), **encode(result)}).decode()
