"""The one cattrs converter: provider JSON in, attrs models out, and back.

Providers spell keys in camelCase (``createdAt``), PascalCase (``Name``) or
snake_case (``transaction_id``); models always use snake_case. Decoding
matches keys ignoring case and underscores, so all three spellings land on
the same field, and keeps keys no field claims in the model's ``raw``
mapping (when it has one) instead of failing: providers add fields.
Encoding writes camelCase and leaves out fields that are None.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping, MutableMapping, MutableSequence, Sequence
from typing import Any, NamedTuple, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from .errors import ResponseDecodeError

__all__ = ["camel_case", "converter", "decode", "encode", "make_converter"]

T = TypeVar("T")


def camel_case(name: str) -> str:
    """``time_to_complete_days`` → ``timeToCompleteDays``."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _normalize(key: str) -> str:
    return key.replace("_", "").lower()


_FRACTION = re.compile(r"\.(\d+)")
_MAX_DATE_TEXT = 64
_FAST_DATES = sys.version_info >= (3, 11)
"""Whether ``datetime.fromisoformat`` takes a ``Z`` and any number of fractional digits."""
"""Longer than any ISO 8601 timestamp: a longer string is not one."""


def _shown(value: Any) -> str:
    """``value`` for an error message: short, whatever the server sent."""
    if value is None or isinstance(value, bool | float):
        return repr(value)
    if isinstance(value, int):
        return repr(value) if -(10**20) < value < 10**20 else "a very large integer"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:40]) + "..."
    return f"a {'list' if isinstance(value, list) else type(value).__name__}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_datetime(value: Any, _: type) -> dt.datetime:
    if _FAST_DATES and type(value) is str and len(value) <= _MAX_DATE_TEXT:
        try:
            # Python 3.11 reads "2025-01-31T00:00:00.000Z" itself: the usual
            # answer skips the checks and the rewriting below.
            moment = dt.datetime.fromisoformat(value)
            moment.astimezone(dt.timezone.utc)  # see below
        except (OverflowError, OSError, ValueError):
            pass
        else:
            return moment
    if isinstance(value, dt.datetime):
        return value
    if _is_number(value):
        try:
            return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            # The platform's range (OSError, OverflowError), or NaN (ValueError).
            raise ValueError(f"timestamp {_shown(value)} is out of the range of dates") from None
    if isinstance(value, Mapping) and "iso" in value:  # Parse's {"__type": "Date", "iso": ...}
        value = value["iso"]
    if not isinstance(value, str) or len(value) > _MAX_DATE_TEXT:
        raise TypeError(f"expected a date, got {_shown(value)}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python 3.10's fromisoformat takes only 3 or 6 fractional digits; servers send 1 to 9.
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text)
    try:
        moment = dt.datetime.fromisoformat(text)
        # Year 1 at +01:00 parses, but is not a moment in UTC: encoding it again
        # (a bulk journal keeps results) would raise OverflowError later.
        moment.astimezone(dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"expected a date, got {_shown(value)}") from None
    return moment


def _structure_str(value: Any, _: type) -> str:
    # cattrs' default is str(value), which turns {"a": 1} into "{'a': 1}"; a number
    # is fine (ids sometimes arrive as 658936), an object or a list is a wrong answer.
    if isinstance(value, str):
        return value
    if _is_number(value):
        return str(value)
    raise TypeError(f"expected a string, got {_shown(value)}")


_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


def _structure_bool(value: Any, _: type) -> bool:
    # cattrs' default is bool(value), for which the string "false" is True.
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
        return _BOOLEANS[value.strip().lower()]
    raise TypeError(f"expected a boolean, got {_shown(value)}")


def _structure_int(value: Any, _: type) -> int:
    # cattrs' default is int(value): int(1e400) raises OverflowError, int(2.7) is 2
    # and int(True) is 1. A whole number, also written as text, is what fits.
    if type(value) is int:
        return value
    if isinstance(value, float) and value.is_integer():  # False for inf and NaN
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:  # not a number, or more digits than Python converts
            pass
    raise ValueError(f"expected a whole number, got {_shown(value)}")


def _structure_float(value: Any, _: type) -> float:
    # cattrs' default is float(value): float(True) is 1.0, float("nan") is NaN,
    # float(10**400) raises OverflowError. A finite number, also as text, fits.
    if _is_number(value) or isinstance(value, str):
        with contextlib.suppress(OverflowError, ValueError):
            number = float(value)
            if math.isfinite(number):
                return number
    raise ValueError(f"expected a finite number, got {_shown(value)}")


def _is_sequence(type_: Any) -> bool:
    args = typing.get_args(type_)
    origin = typing.get_origin(type_)
    if origin is tuple:
        return len(args) == 2 and args[1] is Ellipsis  # tuple[X, ...]; tuple[X, Y] is not
    return origin in (list, Sequence, MutableSequence)


def _make_sequence_structure(conv: cattrs.Converter, type_: Any) -> Callable[[Any, type], Any]:
    # cattrs' own hook iterates whatever it gets: "abc" becomes ("a", "b", "c"),
    # and an object its keys. Only a JSON array is a sequence.
    inner = typing.get_args(type_)[0] if typing.get_args(type_) else Any
    hook = None if inner is Any else conv.get_structure_hook(inner)
    build: Callable[[Any], Any] = tuple if typing.get_origin(type_) is tuple else list

    def structure(value: Any, _: type) -> Any:
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected a list, got {_shown(value)}")
        if hook is None:
            return build(value)
        return build(hook(item, inner) for item in value)

    return structure


def _is_mapping(type_: Any) -> bool:
    return typing.get_origin(type_) in (dict, Mapping, MutableMapping)


def _make_mapping_structure(conv: cattrs.Converter, type_: Any) -> Callable[[Any, type], Any]:
    # cattrs' own hook calls value.items() on whatever it gets (AttributeError on a list).
    args = typing.get_args(type_)
    key_type, value_type = args if len(args) == 2 else (Any, Any)
    key_hook = None if key_type is Any else conv.get_structure_hook(key_type)
    value_hook = None if value_type is Any else conv.get_structure_hook(value_type)

    def structure(value: Any, _: type) -> Any:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected an object, got {_shown(value)}")
        return {
            key if key_hook is None else key_hook(key, key_type): (
                item if value_hook is None else value_hook(item, value_type)
            )
            for key, item in value.items()
        }

    return structure


def _make_structure(conv: cattrs.Converter, cls: type[Any]) -> Callable[[Any, type], Any]:
    fields = attrs.fields(attrs.resolve_types(cls))
    by_key = {_normalize(f.alias or f.name): f for f in fields if f.name != "raw"}
    has_raw = any(f.name == "raw" for f in fields)
    # Decoding runs on every answer: what can be worked out once is. Keys are
    # matched through a memo of the spellings seen so far (a provider uses a
    # handful), and each field's hook is looked up on first use (not here: a
    # model that nests itself would recurse).
    slots: dict[str, _Slot | None] = {}

    def slot(key: str) -> _Slot | None:
        field = by_key.get(_normalize(key))
        found = None
        if field is not None:
            type_ = field.type
            found = _Slot(
                field.alias or field.name,
                None if type_ is None else conv.get_structure_hook(type_),
                type_,
                field.default is attrs.NOTHING,
                _plain_type(type_),
            )
        if len(slots) < _MAX_SPELLINGS and len(key) <= _MAX_SPELLING_LENGTH:
            slots[key] = found
        return found

    def structure(value: Any, _: type) -> Any:
        if type(value) is not dict:  # decoded JSON always is: skip the slower checks
            if isinstance(value, cls):
                return value
            if not isinstance(value, Mapping):
                raise TypeError(
                    f"expected an object for {cls.__name__}, got {type(value).__name__}"
                )
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, item in value.items():
            found = slots[key] if key in slots else slot(str(key))
            if found is None or found.name in kwargs:
                extra[key] = item
            elif item is None and not found.required:
                continue  # an explicit null means "absent": keep the default
            elif type(item) is found.plain or found.hook is None:
                kwargs[found.name] = item  # what its hook would return unchanged
            else:
                try:
                    kwargs[found.name] = found.hook(item, found.type)
                except _DECODE_ERRORS as exc:
                    # The field's name, so a nested failure reads Page.items: Item.name: ...
                    raise ValueError(f"{cls.__name__}.{found.name}: {exc}") from exc
        if has_raw:
            kwargs["raw"] = extra
        try:
            return cls(**kwargs)
        except TypeError as exc:  # a required field is missing
            raise ValueError(f"{cls.__name__}: {exc}") from exc

    return structure


_MAX_SPELLINGS = 256
_MAX_SPELLING_LENGTH = 64
"""Key spellings remembered per model, and the longest remembered: the memo
stays small whatever a server sends."""


class _Slot(NamedTuple):
    """How one answer key becomes a model argument."""

    name: str
    hook: Callable[[Any, Any], Any] | None
    type: Any
    required: bool
    plain: type | None
    """A value of exactly this type goes in as it is (its hook would return it)."""


# Not float: a float field's hook also refuses NaN and infinities.
_PLAIN_TYPES = frozenset({str, bool, int})


def _plain_type(type_: Any) -> type | None:
    if _is_optional(type_):
        type_ = next(arg for arg in typing.get_args(type_) if arg is not type(None))
    return type_ if type_ in _PLAIN_TYPES else None


def _is_optional(type_: Any) -> bool:
    args = typing.get_args(type_)
    return (
        typing.get_origin(type_) in (typing.Union, types.UnionType)
        and len(args) == 2
        and type(None) in args
    )


def _make_optional_structure(conv: cattrs.Converter, type_: Any) -> Callable[[Any, type], Any]:
    # cattrs' own hook works out the inner type again on every value.
    inner = next(arg for arg in typing.get_args(type_) if arg is not type(None))
    hook = conv.get_structure_hook(inner)

    def structure(value: Any, _: type) -> Any:
        return None if value is None else hook(value, inner)

    return structure


def _make_unstructure(conv: cattrs.Converter, cls: type[Any]) -> Callable[[Any], Any]:
    attrs.resolve_types(cls)
    overrides: dict[str, Any] = {
        f.name: override(rename=camel_case(f.name), omit_if_default=f.default is None)
        for f in attrs.fields(cls)
    }
    if "raw" in overrides:
        overrides["raw"] = override(omit=True)
    fn: Callable[[Any], Any] = make_dict_unstructure_fn(cls, conv, **overrides)
    return fn


def make_converter() -> cattrs.Converter:
    """A converter configured for every provider's JSON."""
    conv = cattrs.Converter()
    conv.register_structure_hook(dt.datetime, _parse_datetime)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_unstructure_hook(
        dt.datetime,
        lambda moment: moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
    )
    conv.register_structure_hook_factory(
        attrs.has, functools.partial(_factory, _make_structure, conv)
    )
    conv.register_structure_hook_factory(
        _is_optional, functools.partial(_factory, _make_optional_structure, conv)
    )
    conv.register_structure_hook_factory(
        _is_sequence, functools.partial(_factory, _make_sequence_structure, conv)
    )
    conv.register_structure_hook_factory(
        _is_mapping, functools.partial(_factory, _make_mapping_structure, conv)
    )
    conv.register_unstructure_hook_factory(
        attrs.has, functools.partial(_factory, _make_unstructure, conv)
    )
    return conv


def _factory(
    make: Callable[[cattrs.Converter, type[Any]], Any], conv: cattrs.Converter, cls: type[Any]
) -> Any:
    return make(conv, cls)


converter = make_converter()


_DECODE_ERRORS = (
    cattrs.BaseValidationError,
    ArithmeticError,
    AttributeError,
    LookupError,
    RecursionError,
    TypeError,
    ValueError,
)
"""What structuring data that does not fit a model raises. The hooks above
raise TypeError or ValueError; the rest is there so that whatever a hook
missed still reaches the caller as a ResponseDecodeError."""


def decode(data: Any, cls: type[T], *, what: str) -> T:
    """Structure provider JSON into ``cls``.

    Whatever ``data`` holds, the result is a ``cls`` or a ResponseDecodeError:
    the hooks refuse out-of-range timestamps, numbers that do not fit a field
    (``1e400`` for an int, NaN), strings where lists belong, and so on.

    Raises:
        ResponseDecodeError: The data does not fit the model; the message says where.
    """
    try:
        return converter.structure(data, cls)
    except _DECODE_ERRORS as exc:
        detail = (
            "; ".join(cattrs.transform_error(exc))
            if isinstance(exc, cattrs.BaseValidationError)
            else str(exc)
        )
        raise ResponseDecodeError(f"{what}: unexpected answer: {detail}") from exc


# Unstructures a request model into wire JSON (camelCase keys, no Nones). The
# converter's own method, not a function wrapping it: it runs on every request.
encode: Callable[[Any], Any] = converter.unstructure
