"""Manifest readers: a bulk job's items from a JSON Lines or CSV file.

One item per line (per record, for CSV), read lazily: a million-row
manifest is never loaded whole. Each item is a mapping of the keyword
arguments of the single-item method (``client.circuits.start``, …). File
paths in the fields named by ``files`` are relative to the manifest's
folder. A row that cannot be read becomes an :class:`InvalidItem` (a failed
outcome naming the file and line), never an exception that stops the run;
rows that read fine but hold bad values (a missing file, a file that is not
a PDF, an invalid e-mail) fail when the single-item method validates them.
"""

from __future__ import annotations

import collections.abc
import csv
import json
import os
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from .. import _providers
from .._core import json_codec
from .._core.bulk import InvalidItem
from .._core.errors import ValidationError
from .._core.numbers import read_count
from .._core.sources import Document

__all__ = [
    "CSV_TYPES",
    "FILE_FIELDS",
    "csv_types",
    "file_fields",
    "read_csv",
    "read_jsonl",
    "read_manifest",
    "read_manifest_numbered",
]

Row = dict[str, Any]

Convert = Callable[[str], Any]


def number(text: str) -> int | float:
    """A CSV cell as an int (``12``) or a float (``12.5``).

    Raises:
        ValueError: The cell is not a finite number.
    """
    try:
        return int(text)
    except ValueError:
        value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite number: {text!r}")
    return value


def integer(text: str) -> int:
    """A CSV cell as an int.

    Raises:
        ValueError: The cell is not an integer.
    """
    return int(text)


_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def boolean(text: str) -> bool:
    """A CSV cell as a bool: ``true``/``yes``/``1`` or ``false``/``no``/``0``, any case.

    Raises:
        ValueError: Anything else.
    """
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected true or false, not {text!r}")


def file_fields(request_type: type[Any]) -> tuple[str, ...]:
    """The fields of a request model that hold documents (typed with a document source).

    These are the fields whose paths a manifest gives relative to its folder.
    """
    return tuple(name for name, hint in _hints(request_type).items() if Document in _flatten(hint))


def csv_types(request_type: type[Any]) -> dict[str, Convert]:
    """The CSV columns of a request model that are not text, with their converters.

    Read from the model's attrs fields, nested models and lists of them
    included: ``bool`` fields take :func:`boolean`, ``int`` ones
    :func:`integer`, ``float`` ones :func:`number`. A list position is
    ``*`` (``placeholders.*.widgets.*.page``).
    """
    found: dict[str, Convert] = {}
    _collect(request_type, "", found)
    return found


def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {field.name: hints[field.name] for field in attrs.fields(cls)}


def _flatten(hint: Any) -> list[Any]:
    # The members of a union (X | Mapping | None), each other union flattened too.
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [member for arg in typing.get_args(hint) for member in _flatten(arg)]
    return [hint]


def _collect(cls: type[Any], prefix: str, found: dict[str, Convert]) -> None:
    for name, hint in _hints(cls).items():
        _collect_hint(hint, f"{prefix}{name}", found)


def _collect_hint(hint: Any, column: str, found: dict[str, Convert]) -> None:
    for member in _flatten(hint):
        origin = typing.get_origin(member)
        if member is bool:
            found[column] = boolean
        elif member is int:
            found[column] = integer
        elif member is float:
            found[column] = number
        elif isinstance(member, type) and attrs.has(member):
            _collect(member, f"{column}.", found)
        elif origin in (tuple, list, collections.abc.Sequence):
            # tuple[X, ...] and Sequence[X]: every position is X.
            _collect_hint(typing.get_args(member)[0], f"{column}.*", found)


def _bulk_tables() -> tuple[dict[str, tuple[str, ...]], dict[str, dict[str, Convert]]]:
    specs = [spec for _, spec in _providers.bulk_specs()]
    return (
        {spec.namespace: file_fields(spec.request_type) for spec in specs},
        {spec.namespace: csv_types(spec.request_type) for spec in specs},
    )


FILE_FIELDS: Mapping[str, tuple[str, ...]]
CSV_TYPES: Mapping[str, Mapping[str, Convert]]
FILE_FIELDS, CSV_TYPES = _bulk_tables()
"""Per bulk namespace of the built-in providers (``client.<name>.*_many``): the
fields holding document paths (:func:`file_fields`), and the CSV columns that
are not text (:func:`csv_types`, for :func:`read_csv`'s ``types``). JSON Lines
manifests carry their own types and need no CSV types."""


def read_manifest(
    path: str | os.PathLike[str],
    *,
    files: Iterable[str] = (),
    types: Mapping[str, Convert] | None = None,
) -> Iterator[Row | InvalidItem]:
    """Read a manifest, by its extension: ``.csv`` is CSV, anything else JSON Lines.

    Args:
        path: The manifest file.
        files: The fields holding document paths (see :data:`FILE_FIELDS`).
        types: For CSV, the columns that are not text (see :data:`CSV_TYPES`).

    Raises:
        ValidationError: The manifest does not exist.
    """
    return (row for _, row in read_manifest_numbered(path, files=files, types=types))


def read_manifest_numbered(
    path: str | os.PathLike[str],
    *,
    files: Iterable[str] = (),
    types: Mapping[str, Convert] | None = None,
) -> Iterator[tuple[int, Row | InvalidItem]]:
    """Like :func:`read_manifest`, each item with its line number in the file.

    The number counts from 1 and counts every line of the file, blank ones
    and the CSV header included (a CSV record spanning lines: its first
    line), so it is the line an editor shows. The items' positions in the
    run (``BulkOutcome.index``) skip blank lines and the header instead.

    Raises:
        ValidationError: The manifest does not exist.
    """
    manifest = _existing(path)
    if manifest.suffix.lower() == ".csv":
        return _csv_rows(manifest, frozenset(files), ",", dict(types or {}))
    return _jsonl_rows(manifest, frozenset(files))


def read_jsonl(
    path: str | os.PathLike[str], *, files: Iterable[str] = ()
) -> Iterator[Row | InvalidItem]:
    """Read a JSON Lines manifest: one JSON object per line; blank lines are ignored.

    Example line::

        {"id": "c-1", "signer": {"name": "Ana", "email": "ana@example.com", "nif": "X1"},
         "docs": ["contracts/c-1.pdf"]}

    A document may also be ``{"path": "c-1.pdf", "name": "Contract.pdf"}``
    to send it under another name.

    Raises:
        ValidationError: The manifest does not exist.
    """
    manifest = _existing(path)
    return (row for _, row in _jsonl_rows(manifest, frozenset(files)))


def read_csv(
    path: str | os.PathLike[str],
    *,
    files: Iterable[str] = (),
    delimiter: str = ",",
    types: Mapping[str, Convert] | None = None,
) -> Iterator[Row | InvalidItem]:
    """Read a CSV manifest: a header row, then one item per record.

    A dotted header builds nested fields (``signer.email``) and a numeric
    part builds a list (``docs.0``, ``docs.1``). Empty cells are left out,
    so an optional column may stay blank. Every value is a string, except
    in the columns ``types`` converts (``{"placeholders.*.widgets.*.page":
    int}``; see :data:`CSV_TYPES`); a cell a converter refuses fails its row.

    Example::

        id,signer.name,signer.email,signer.nif,docs.0,docs.1
        c-1,Ana,ana@example.com,X1,contracts/c-1.pdf,
        c-2,Luis,luis@example.com,Y2,contracts/c-2.pdf,annex.pdf

    Raises:
        ValidationError: The manifest does not exist. A header whose
            columns collide (``signer`` beside ``signer.name``) is reported
            when the rows are read, and stops the run.
    """
    manifest = _existing(path)
    return (row for _, row in _csv_rows(manifest, frozenset(files), delimiter, dict(types or {})))


def _existing(path: str | os.PathLike[str]) -> Path:
    manifest = Path(os.fspath(path)).absolute()
    if not manifest.is_file():
        raise ValidationError("manifest", f"no such file: {manifest}")
    return manifest


def _jsonl_rows(manifest: Path, files: frozenset[str]) -> Iterator[tuple[int, Row | InvalidItem]]:
    with manifest.open("rb") as stream:
        for number, raw in enumerate(stream, 1):
            where = f"{manifest.name} line {number}"
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield number, InvalidItem(where, f"not valid UTF-8 ({exc.reason})")
                continue
            if not line.strip():
                continue
            try:
                # Bounded as answers are: a line nested thousands deep would stop
                # the whole run with a RecursionError, not fail alone.
                row = json_codec.stdlib_loads(line.encode())
            except json.JSONDecodeError as exc:
                yield number, InvalidItem(where, f"not valid JSON: {exc.msg} (column {exc.colno})")
                continue
            except ValueError as exc:  # too deep, a lone surrogate, a number too long
                yield number, InvalidItem(where, f"not valid JSON: {exc}")
                continue
            if not isinstance(row, dict):
                problem = f"expected a JSON object, found {type(row).__name__}"
                yield number, InvalidItem(where, problem)
                continue
            yield number, _resolve(row, manifest.parent, files, where)


def _csv_rows(
    manifest: Path, files: frozenset[str], delimiter: str, types: Mapping[str, Convert]
) -> Iterator[tuple[int, Row | InvalidItem]]:
    # surrogateescape: a badly encoded record fails alone instead of stopping the read.
    with manifest.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as stream:
        reader = csv.reader(stream, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return
        columns = [name.strip() for name in header]
        _check_header(columns, manifest.name)
        converters = [types.get(_pattern(column)) for column in columns]
        end = reader.line_num
        for cells in reader:
            # A record may span lines (a quoted line break): name its first line.
            number, end = end + 1, reader.line_num
            where = f"{manifest.name} line {number}"
            if not cells or not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(columns):
                count = f"expected {len(columns)} cells as in the header, found {len(cells)}"
                yield number, InvalidItem(where, count)
                continue
            try:
                "".join(cells).encode("utf-8")
            except UnicodeEncodeError:
                yield number, InvalidItem(where, "not valid UTF-8")
                continue
            row: Row = {}
            problem: str | None = None
            for name, cell, convert in zip(columns, cells, converters, strict=True):
                text = cell.strip()
                if not text:
                    continue
                value: Any = text
                if convert is not None:
                    try:
                        value = convert(text)
                    except ValueError as exc:
                        problem = problem or f"{name}: {exc}"
                        continue
                _put(row, name.split("."), value)
            if problem is not None:
                yield number, InvalidItem(where, problem, key=_key_hint(_listify(row)))
                continue
            yield number, _resolve(_listify(row), manifest.parent, files, where)


def _check_header(columns: list[str], name: str) -> None:
    # Keyed by the place a column fills: docs.1 and docs.01 are one place.
    seen: dict[tuple[str | int, ...], str] = {}
    for column in columns:
        parts = tuple(column.split("."))
        if not all(parts):
            raise ValidationError(name, f"bad column name {column!r} in the header")
        if _position(parts[0]) is not None:
            raise ValidationError(
                name, f"column {column!r} must start with a field's name, not a position"
            )
        place = tuple(_place(part) for part in parts)
        if place in seen:
            if seen[place] == column:
                raise ValidationError(name, f"column {column!r} appears twice in the header")
            raise ValidationError(
                name, f"columns {seen[place]!r} and {column!r} name the same place"
            )
        seen[place] = column
    for place, column in seen.items():
        for length in range(1, len(place)):
            if place[:length] in seen:
                raise ValidationError(
                    name, f"columns {seen[place[:length]]!r} and {column!r} collide"
                )


def _pattern(column: str) -> str:
    return ".".join("*" if _position(part) is not None else part for part in column.split("."))


def _place(part: str) -> str | int:
    """A column name's part as the place it names: a position, or a field's name."""
    position = _position(part)
    return part if position is None else position


def _position(part: str) -> int | None:
    """A column name's part as a list position (``docs.0``), or None for a field's name.

    Up to six ASCII digits: ``docs.²``, ``docs.1000000`` or a thousand-digit
    part is a name, which the item's checks then refuse, not a number
    ``int()`` would fail on.
    """
    return read_count(part, max_digits=6)


def _put(row: Row, parts: list[str], value: str) -> None:
    node = row
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _listify(node: Any) -> Any:
    """Turn mappings whose keys are all numbers (``docs.0``, ``docs.1``) into lists."""
    if not isinstance(node, dict):
        return node
    items = {key: _listify(value) for key, value in node.items()}
    numbered = {
        position: value for key, value in items.items() if (position := _position(key)) is not None
    }
    if items and len(numbered) == len(items):  # every key a position, none twice (1 and 01)
        return [numbered[position] for position in sorted(numbered)]
    return items


def _resolve(row: Row, base: Path, files: frozenset[str], where: str) -> Row | InvalidItem:
    """Make the document paths of ``row`` absolute, relative to the manifest's folder."""
    for field in files & row.keys():
        value = row[field]
        try:
            if isinstance(value, list):
                row[field] = [_document(entry, base) for entry in value]
            else:
                row[field] = _document(value, base)
        except ValueError as exc:
            return InvalidItem(where, f"{field}: {exc}", key=_key_hint(row))
    return row


def _document(value: Any, base: Path) -> Any:
    if isinstance(value, str):
        return base / value if value else value
    if isinstance(value, dict):
        if set(value) != {"path", "name"} or not all(isinstance(v, str) for v in value.values()):
            raise ValueError('a document is a path or {"path": ..., "name": ...}')
        return Document(base / value["path"], value["name"])
    return value  # left for the method's own validation to name


def _key_hint(row: Row) -> str | None:
    """The row's bulk key: ``id``, ``transaction_id`` or ``metadata.external_id``."""
    metadata = row.get("metadata")
    candidates = (
        row.get("id"),
        row.get("transaction_id"),
        metadata.get("external_id") if isinstance(metadata, dict) else None,
    )
    return next((value for value in candidates if isinstance(value, str) and value), None)
