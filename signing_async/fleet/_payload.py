"""A bulk item as JSON, so that any worker on any machine can send it.

:func:`submit` stores each item in the job's row; a worker turns it back
into the mapping the ``*_many`` method takes. Documents must be something
every worker can read: a path (made absolute here, so it does not depend on
the worker's folder) or an ``http(s)`` URL. Bytes and open files stay in
the process that has them: they are refused, naming the field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from .._core.errors import ValidationError
from .._core.sources import Document
from .._core.validation import text_problem

__all__ = ["from_payload", "to_payload"]

_DOCUMENT_TAG = "__signing_async_document__"
"""Marks a :class:`Document` (a path and the file name to send) in a payload."""


def to_payload(item: object, *, files: tuple[str, ...] = ()) -> dict[str, Any]:
    """``item`` (a request object or a mapping of keyword arguments) as JSON-able data.

    Args:
        item: The item.
        files: The fields holding documents: a text path in them (or in a
            list in them) is made absolute; an ``http(s)`` URL is kept.

    Raises:
        ValidationError: A value JSON cannot carry to another machine (bytes,
            a file object, another object), or text PostgreSQL cannot store
            (a NUL, a lone surrogate), naming its field.
    """
    if attrs.has(type(item)):
        names = [field.name for field in attrs.fields(type(item))]  # type: ignore[arg-type]  # has() checked it
        item = {name: getattr(item, name) for name in names}
    if not isinstance(item, Mapping):
        raise ValidationError("item", f"expected a request or a mapping, not {type(item).__name__}")
    return {
        _jsonable(str(name), "item (a key)"): _jsonable(
            _absolute(value) if name in files else value, str(name)
        )
        for name, value in item.items()
    }


def _absolute(value: object) -> object:
    """Text paths made absolute (URLs kept), in a list too."""
    if isinstance(value, str) and not value.startswith(("http://", "https://")):
        return str(Path(value).absolute())
    if isinstance(value, (list, tuple)):
        return [_absolute(inner) for inner in value]
    return value


def from_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments a payload was made from (documents as :class:`Document`)."""
    return {name: _restore(value) for name, value in payload.items()}


def _jsonable(value: object, field: str) -> Any:
    if isinstance(value, str):
        # PostgreSQL's jsonb refuses a NUL (\u0000) and a lone surrogate: said
        # here, naming the field, not by the database in the middle of a submit.
        problem = text_problem(value)
        if problem is not None:
            raise ValidationError(field, problem)
        return value
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, os.PathLike):
        return _jsonable(str(Path(os.fspath(value)).absolute()), field)
    if isinstance(value, Document):
        if isinstance(value.content, (bytes, bytearray)):
            raise ValidationError(field, _BYTES)
        path, name = _jsonable(value.content, field), _jsonable(value.name, f"{field}.name")
        return {_DOCUMENT_TAG: {"path": path, "name": name}}
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise ValidationError(field, _BYTES)
    if attrs.has(type(value)):
        return to_payload(value)
    if isinstance(value, Mapping):
        return {
            _jsonable(str(key), f"{field} (a key)"): _jsonable(inner, f"{field}.{key}")
            for key, inner in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_jsonable(inner, f"{field}.{index}") for index, inner in enumerate(value)]
    raise ValidationError(
        field,
        f"a {type(value).__name__} cannot be stored for the fleet's workers (use JSON values)",
    )


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_DOCUMENT_TAG}:
            inner = value[_DOCUMENT_TAG]
            return Document(inner["path"], inner["name"])
        return {key: _restore(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_restore(inner) for inner in value]
    return value


_BYTES = (
    "fleet documents must be paths or URLs every worker can read, not bytes"
    " (write the document to storage the workers share and give its path)"
)
