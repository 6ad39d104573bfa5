"""Request arguments as models: objects pass through, mappings are built.

Callers may pass ``Signer(...)`` or ``{"role": ..., "name": ..., "email": ...}``
anywhere. Mappings must use the models' snake_case field names; a misspelt
key is an error naming its path (``signers[1].emial``), not silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import attrs

from .._core.errors import ValidationError
from ._requests import (
    Bcc,
    DocumentSettings,
    IdentityVerification,
    Placeholder,
    Prefill,
    PrefillOptions,
    Signer,
    Widget,
)

__all__ = ["build", "build_many"]

M = TypeVar("M")

# Which fields hold nested request models: field -> (model, whether a sequence).
_NESTED: Mapping[type, Mapping[str, tuple[type, bool]]] = {
    Signer: {"identity_verification": (IdentityVerification, False)},
    Placeholder: {"widgets": (Widget, True)},
    Prefill: {"options": (PrefillOptions, False)},
    DocumentSettings: {"bcc": (Bcc, True)},
}


def build(cls: type[M], value: object, field: str) -> M:
    """``value`` as a ``cls``, nested models included.

    Raises:
        ValidationError: ``value`` is neither a ``cls`` nor a mapping, has
            unknown keys, or lacks a required one.
    """
    nested = _NESTED.get(cls)
    if type(value) is cls and (nested is None or _built(value, nested)):
        # Nothing inside it to build (a subclass is rebuilt: its extra fields go).
        # Bulk items often share their signers and placeholders: no copy per item.
        return value
    fields = attrs.fields(cls)  # type: ignore[arg-type]  # cls is an attrs class
    if isinstance(value, cls):
        data: dict[str, Any] = {f.name: getattr(value, f.name) for f in fields}
    elif isinstance(value, Mapping):
        names = {f.name for f in fields}
        unknown = sorted(str(key) for key in value if key not in names)
        if unknown:
            raise ValidationError(
                f"{field}.{unknown[0]}",
                f"unknown key for {cls.__name__} (expected one of {sorted(names)})",
            )
        for f in fields:
            if f.default is attrs.NOTHING and f.name not in value:
                raise ValidationError(f"{field}.{f.name}", "is required")
        data = dict(value)
    else:
        raise ValidationError(
            field, f"expected a {cls.__name__} or a mapping, not {type(value).__name__}"
        )
    required = {f.name for f in fields if f.default is attrs.NOTHING}
    for name, (inner, many) in (nested or {}).items():
        item = data.get(name)
        path = f"{field}.{name}"
        if item is None:
            if name in required:
                raise ValidationError(path, "is required")
            continue
        data[name] = build_many(inner, item, path) if many else build(inner, item, path)
    try:
        return cls(**data)
    except ValidationError as exc:  # from a field converter, which knows only its own name
        raise ValidationError(f"{field}.{exc.field}", exc.problem) from None


def _built(value: object, nested: Mapping[str, tuple[type, bool]]) -> bool:
    """Whether every nested model of ``value`` is already its own exact type (or absent)."""
    for name, (inner, many) in nested.items():
        item = getattr(value, name)
        if item is None:
            continue
        if many:
            if type(item) is not tuple or any(type(each) is not inner for each in item):
                return False
        elif type(item) is not inner:
            return False
    return True


def build_many(cls: type[M], values: object, field: str) -> tuple[M, ...]:
    """Every item of ``values`` as a ``cls``; paths are ``field[i]``.

    Raises:
        ValidationError: ``values`` is not a sequence, or an item is invalid.
    """
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise ValidationError(field, f"expected a sequence, not {type(values).__name__}")
    return tuple(build(cls, value, f"{field}[{index}]") for index, value in enumerate(values))
