"""The one cattrs converter: provider JSON in, attrs models out, and back.

Providers spell keys in camelCase (``createdAt``), PascalCase (``Name``) or
snake_case (``transaction_id``); models always use snake_case. Decoding
matches keys ignoring case and underscores, so all three spellings land on
the same field, and keeps keys no field claims in the model's ``raw``
mapping (when it has one) instead of failing: providers add fields.
Encoding writes camelCase and leaves out fields that are None.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import types
import typing
from collections.abc import Callable, Mapping
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


def _parse_datetime(value: Any, _: type) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
    if isinstance(value, Mapping) and "iso" in value:  # Parse's {"__type": "Date", "iso": ...}
        value = value["iso"]
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python 3.10's fromisoformat takes only 3 or 6 fractional digits; servers send 1 to 9.
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text)
    return dt.datetime.fromisoformat(text)


def _structure_str(value: Any, _: type) -> str:
    # cattrs' default is str(value), which turns {"a": 1} into "{'a': 1}"; a number
    # is fine (ids sometimes arrive as 658936), an object or a list is a wrong answer.
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


def _structure_bool(value: Any, _: type) -> bool:
    # cattrs' default is bool(value), for which the string "false" is True.
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
        return _BOOLEANS[value.strip().lower()]
    raise TypeError(f"expected a boolean, got {value!r}")


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
                kwargs[found.name] = found.hook(item, found.type)
        if has_raw:
            kwargs["raw"] = extra
        return cls(**kwargs)

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


_PLAIN_TYPES = frozenset({str, bool, int, float})


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
    conv.register_unstructure_hook_factory(
        attrs.has, functools.partial(_factory, _make_unstructure, conv)
    )
    return conv


def _factory(
    make: Callable[[cattrs.Converter, type[Any]], Any], conv: cattrs.Converter, cls: type[Any]
) -> Any:
    return make(conv, cls)


converter = make_converter()


def decode(data: Any, cls: type[T], *, what: str) -> T:
    """Structure provider JSON into ``cls``.

    Raises:
        ResponseDecodeError: The data does not fit the model; the message says where.
    """
    try:
        return converter.structure(data, cls)
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
        detail = (
            "; ".join(cattrs.transform_error(exc))
            if isinstance(exc, cattrs.BaseValidationError)
            else str(exc)
        )
        raise ResponseDecodeError(f"{what}: unexpected answer: {detail}") from exc


# Unstructures a request model into wire JSON (camelCase keys, no Nones). The
# converter's own method, not a function wrapping it: it runs on every request.
encode: Callable[[Any], Any] = converter.unstructure
