"""Request arguments as models: a model passes through, a mapping is built into one.

Callers may pass ``Signer(...)`` or ``{"role": ..., "name": ..., "email": ...}``
anywhere a request model is taken, nested models included. Mappings use the
models' snake_case field names; a misspelt key is an error naming its path
(``signers[1].emial``), not silently dropped.

One cattrs converter does it, configured with ``forbid_extra_keys`` and
detailed validation; :func:`_problem` walks the error tree as
``cattrs.transform_error`` does, but yields a :class:`ValidationError` naming
the first bad field. Scalars are not converted (``5`` stays ``5`` for a ``str``
field): the provider's checks refuse a wrong type with a message of their own,
where a converter would quietly turn it into ``"5"``.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.gen import make_dict_structure_fn

from .errors import ValidationError
from .sources import Document

__all__ = ["build", "build_many"]

M = TypeVar("M")

_Hook = Callable[[Any, Any], Any]


def _join(path: str, name: str) -> str:
    if not name:
        return path
    if not path or name.startswith("["):
        return f"{path}{name}"
    return f"{path}.{name}"


def _passthrough(value: Any, _: Any) -> Any:
    return value


def _element(tp: Any) -> Any:
    """The element type of ``tuple[X, ...]`` or ``Sequence[X]``, else None."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    if origin in (Sequence, list, Iterable):
        return args[0]
    return None


_SOURCES = (Document,)
"""Attrs classes that are values, not requests: a document source passes as it is."""


def _is_model(tp: Any) -> bool:
    """Whether ``tp`` is a request model (an attrs class that is not a document source)."""
    return attrs.has(tp) and tp not in _SOURCES


def _builds(tp: Any) -> bool:
    """Whether values of ``tp`` hold request models to build."""
    if _is_model(tp):
        return True
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return any(_builds(arg) for arg in typing.get_args(tp))
    element = _element(tp)
    return element is not None and _builds(element)


def _model_of(tp: Any) -> Any:
    """The request model a field of type ``tp`` holds (itself, in a union, or as elements)."""
    if _is_model(tp):
        return tp
    element = _element(tp)
    if element is not None:
        return _model_of(element)
    return next(_model_of(arg) for arg in typing.get_args(tp) if _builds(arg))


def _already_built(value: Any, nested: Sequence[tuple[str, Any, bool]]) -> bool:
    """Whether every model ``value`` holds is already of its exact type (or absent).

    One level is enough: a model's own converters build what it holds.
    """
    for name, model, many in nested:
        item = getattr(value, name)
        if item is None:
            continue
        if many:
            if type(item) is not tuple or any(type(each) is not model for each in item):
                return False
        elif type(item) is not model:
            return False
    return True


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)

    def model_hook(cls: type[Any]) -> _Hook:
        attrs.resolve_types(cls)  # string annotations (PEP 563) into types
        structure = make_dict_structure_fn(cls, converter)
        names = [field.name for field in attrs.fields(cls)]
        nested = [
            (field.name, _model_of(field.type), _element(field.type) is not None)
            for field in attrs.fields(cls)
            if _builds(field.type)
        ]

        def hook(value: Any, _: Any) -> Any:
            if type(value) is cls and _already_built(value, nested):
                # Nothing inside it to build (a subclass is rebuilt: its extras go).
                # Bulk items often share their signers and placeholders: no copy per item.
                return value
            if isinstance(value, cls):
                return structure({name: getattr(value, name) for name in names}, cls)
            if isinstance(value, Mapping):
                return structure(value, cls)
            if value is None:
                raise ValidationError("", "is required")
            raise ValidationError(
                "", f"expected a {cls.__name__} or a mapping, not {type(value).__name__}"
            )

        return hook

    def union_hook(tp: Any) -> _Hook:
        # ``Model | Mapping[str, Any] | None``: None stays None, anything else is the model.
        args = typing.get_args(tp)
        target = next(arg for arg in args if _builds(arg))
        structure = converter.get_structure_hook(target)

        def hook(value: Any, _: Any) -> Any:
            if value is None and type(None) in args:
                return None
            return structure(value, target)

        return hook

    def sequence_hook(tp: Any) -> _Hook:
        element = _element(tp)
        structure = converter.get_structure_hook(element)

        def hook(value: Any, _: Any) -> tuple[Any, ...]:
            if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
                raise ValidationError("", f"expected a sequence, not {type(value).__name__}")
            built = []
            for index, item in enumerate(value):
                try:
                    built.append(structure(item, element))
                except Exception as exc:
                    raise _problem(exc, f"[{index}]") from None
            return tuple(built)

        return hook

    def is_union(tp: Any) -> bool:
        return typing.get_origin(tp) in (typing.Union, types.UnionType) and _builds(tp)

    def is_sequence(tp: Any) -> bool:
        return _element(tp) is not None and _builds(tp)

    # The last registered is asked first: anything holding no model passes through.
    converter.register_structure_hook_func(lambda tp: not _builds(tp), _passthrough)
    for scalar in (str, int, float, bool, bytes):
        # cattrs converts these by itself (str(5) == "5"), ahead of the hook above.
        converter.register_structure_hook(scalar, _passthrough)
    converter.register_structure_hook_factory(is_sequence, sequence_hook)
    converter.register_structure_hook_factory(is_union, union_hook)
    converter.register_structure_hook_factory(_is_model, model_hook)
    return converter


_CONVERTER = _make_converter()


def _problem(exc: BaseException, path: str) -> ValidationError:
    """The first problem in cattrs' error tree, as a ValidationError naming its field."""
    if isinstance(exc, ValidationError):
        # From a hook or a field converter, which knows only its own name.
        return ValidationError(_join(path, exc.field), exc.problem)
    if isinstance(exc, ForbiddenExtraKeysError):
        key = sorted(map(str, exc.extra_fields))[0]  # map(str): a key may be of any type
        names = sorted(field.name for field in attrs.fields(exc.cl))
        return ValidationError(
            _join(path, key), f"unknown key for {exc.cl.__name__} (expected one of {names})"
        )
    if isinstance(exc, ClassValidationError):
        noted, other = exc.group_exceptions()
        # An unknown key first: a misspelt key also leaves its field "missing".
        for error in other:
            if isinstance(error, ForbiddenExtraKeysError):
                return _problem(error, path)
        for error, note in noted:
            field = _join(path, note.name)
            if isinstance(error, KeyError):
                return ValidationError(field, "is required")
            return _problem(error, field)
        if other:
            return _problem(other[0], path)
    if isinstance(exc, IterableValidationError):
        noted_items, other_items = exc.group_exceptions()
        for error, item_note in noted_items:
            return _problem(error, _join(path, f"[{item_note.index}]"))
        if other_items:
            return _problem(other_items[0], path)
    return ValidationError(path or "value", f"is not valid: {exc}")


def build(cls: type[M], value: object, field: str) -> M:
    """``value`` as a ``cls``, nested models included.

    Args:
        cls: The request model (an attrs class).
        value: A ``cls`` or a mapping of its fields.
        field: How the caller named ``value``, for messages.

    Raises:
        ValidationError: ``value`` is neither a ``cls`` nor a mapping, has
            unknown keys, lacks a required one, or a field's own check failed;
            the error names the field (``signers[0].identity_verification``).
    """
    try:
        return _CONVERTER.structure(value, cls)
    except Exception as exc:
        raise _problem(exc, field) from None


def build_many(cls: type[M], values: object, field: str) -> tuple[M, ...]:
    """Every item of ``values`` as a ``cls``; paths are ``field[i]``.

    Raises:
        ValidationError: ``values`` is not a sequence, or an item is invalid.
    """
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise ValidationError(field, f"expected a sequence, not {type(values).__name__}")
    return tuple(build(cls, value, f"{field}[{index}]") for index, value in enumerate(values))
