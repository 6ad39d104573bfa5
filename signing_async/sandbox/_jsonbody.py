"""Reading request bodies: small JSON and forms, and JSON that carries huge Base64 strings.

Small bodies (every route but the three that carry documents) are read whole,
up to :data:`MAX_SMALL_BODY`; reading stops at the limit, so a huge or endless
body costs no memory.

Documents travel as Base64 inside JSON and may reach a gigabyte. That body is
streamed through a small scanner that copies the JSON *structure* to memory
and moves every long string (still JSON-escaped) to its own file; the parsed
JSON then holds a :class:`SpilledString` where each long string was.

Both parse with :func:`parse_json`, which refuses what the handlers should
never see: ``NaN``/``Infinity``, numbers too large for a float, nesting deeper
than :data:`MAX_DEPTH` and lone surrogates (``"\\ud800"``: not Unicode).
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs

from aiohttp import web

from ._blobs import SpilledString, new_path

__all__ = [
    "MAX_DEPTH",
    "MAX_SMALL_BODY",
    "BodyError",
    "discard_spills",
    "parse_json",
    "read_form",
    "read_json_spilling",
    "read_small_body",
    "read_small_json",
]

# Bodies of the routes that carry no document: a contact batch of thousands of
# rows fits, and a hostile body costs at most this much memory.
MAX_SMALL_BODY = 1 << 20
# Real bodies nest five or six levels; anything deeper is refused before a
# handler (or json.dumps, or copy.deepcopy) can recurse through it.
MAX_DEPTH = 64
_SMALL_CHUNK = 64 * 1024
_MAX_FORM_FIELDS = 100

# Strings up to this many bytes stay inline; longer ones go to a file.
SPILL_OVER = 64 * 1024
# The JSON structure left after spilling is small for every route that uses
# this reader (a few kilobytes, plus documents too small to spill); a larger
# one means a malformed or hostile body. Both bounds keep the parsed value in
# tens of megabytes: 64 MiB of "{}," would parse into gigabytes of objects.
MAX_SKELETON = 16 << 20
MAX_VALUES = 100_000
READ_CHUNK = 1 << 20

_STRING_SPECIAL = re.compile(rb'["\\]')
_SURROGATE = re.compile("[\ud800-\udfff]")


class BodyError(ValueError):
    """The body is not acceptable; the message says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        # 1e400 parses as infinity: refuse it like the literal Infinity.
        raise BodyError(f"number out of range: {text[:40]}")
    return value


def _no_constant(name: str) -> Any:
    raise BodyError(f"{name} is not a JSON number")


def _check_string(text: str) -> None:
    if _SURROGATE.search(text) is not None:
        raise BodyError("body holds a lone surrogate escape (not valid Unicode)")


def _walk(root: Any, marker: str | None, spills: list[SpilledString]) -> Any:
    """Check parsed JSON and put the spilled strings back, without recursion.

    Raises:
        BodyError: Nesting deeper than :data:`MAX_DEPTH`, or a lone surrogate.
    """

    def visit(item: Any) -> Any:
        if isinstance(item, str):
            if marker is not None and item.startswith(marker):
                return spills[int(item[len(marker) :])]
            _check_string(item)
        return item

    def entries(container: Any) -> Iterator[tuple[Any, Any]]:
        return enumerate(container) if isinstance(container, list) else iter(container.items())

    root = visit(root)
    if not isinstance(root, list | dict):
        return root
    # Depth first, one entry iterator per open container: the walk holds at
    # most MAX_DEPTH of them, whatever the body. Containers are updated in
    # place (the parsed value is this request's own).
    stack = [(root, entries(root))]
    while stack:
        node, pending = stack[-1]
        for key, item in pending:
            if isinstance(key, str):
                _check_string(key)
            if (value := visit(item)) is not item:
                node[key] = value  # an existing key or index: no size change
            if isinstance(value, list | dict):
                if len(stack) >= MAX_DEPTH:
                    raise BodyError(f"body is nested deeper than {MAX_DEPTH} levels")
                if value:
                    stack.append((value, entries(value)))
                    break
        else:
            stack.pop()
    return root


def _loads(raw: bytes | bytearray) -> Any:
    try:
        return json.loads(raw, parse_float=_finite_float, parse_constant=_no_constant)
    except BodyError:
        raise
    except (ValueError, RecursionError):
        # RecursionError: the C parser recurses per nesting level, and a
        # body nested ~1000 deep reaches the interpreter's limit.
        raise BodyError("body is not valid JSON") from None


def parse_json(raw: bytes | bytearray) -> Any:
    """Parse a JSON body strictly.

    Raises:
        BodyError: Not JSON, ``NaN``/``Infinity`` or an out-of-range number,
            nesting deeper than :data:`MAX_DEPTH`, or a lone surrogate (400).
    """
    return _walk(_loads(raw), None, [])


async def read_small_body(request: web.BaseRequest, limit: int = MAX_SMALL_BODY) -> bytes:
    """Read a body of at most ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before anything is
    read; a chunked body is read only up to the limit.

    Raises:
        BodyError: The body is larger than ``limit`` (413).
    """
    too_large = BodyError(f"request body too large (this route takes at most {limit} bytes)", 413)
    length = request.content_length
    if length is not None and length > limit:
        raise too_large
    data = bytearray()
    async for chunk in request.content.iter_chunked(_SMALL_CHUNK):
        data += chunk
        if len(data) > limit:
            raise too_large
    return bytes(data)


async def read_small_json(request: web.BaseRequest) -> Any:
    """Read and parse a small JSON body (see :func:`parse_json`).

    Raises:
        BodyError: Too large (413) or not acceptable JSON (400).
    """
    return parse_json(await read_small_body(request))


async def read_form(request: web.BaseRequest) -> dict[str, list[str]]:
    """Read a small ``application/x-www-form-urlencoded`` body.

    Raises:
        BodyError: Too large (413), or not UTF-8 form data (400).
    """
    raw = await read_small_body(request)
    try:
        return parse_qs(
            raw.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=_MAX_FORM_FIELDS,
        )
    except ValueError:  # UnicodeDecodeError too: a raw or percent-encoded non-UTF-8 byte
        raise BodyError(
            "body is not valid form data (UTF-8, application/x-www-form-urlencoded)"
        ) from None


class _Scanner:
    """Splits a JSON byte stream into a skeleton and spilled long strings."""

    def __init__(self, folder: Path, marker: str) -> None:
        self._folder = folder
        self._marker = marker
        self.skeleton = bytearray()
        self.spills: list[SpilledString] = []
        self._in_string = False
        self._escape_pending = False
        self._buffer = bytearray()
        self._spill_file: BinaryIO | None = None
        self._spill_path: Path | None = None
        self._spill_length = 0
        self._values = 0  # containers and list items or object members, roughly

    def _structure(self, segment: bytes) -> None:
        self.skeleton += segment
        self._values += segment.count(b",") + segment.count(b"[") + segment.count(b"{")

    def _emit(self, data: bytes) -> None:
        if not data:
            return
        if self._spill_file is not None:
            self._spill_file.write(data)
            self._spill_length += len(data)
            return
        self._buffer += data
        if len(self._buffer) > SPILL_OVER:
            self._spill_path = new_path(self._folder, ".json-string")
            self._spill_file = self._spill_path.open("wb")
            self._spill_file.write(self._buffer)
            self._spill_length = len(self._buffer)
            self._buffer = bytearray()

    def _close_string(self) -> None:
        if self._spill_file is not None:
            assert self._spill_path is not None
            self._spill_file.close()
            self._spill_file = None
            index = len(self.spills)
            self.spills.append(SpilledString(self._spill_path, self._spill_length))
            self.skeleton += json.dumps(f"{self._marker}{index}").encode()
        else:
            self.skeleton += b'"' + self._buffer + b'"'
            self._buffer = bytearray()
        self._in_string = False

    def feed(self, data: bytes) -> None:
        pos, end = 0, len(data)
        while pos < end:
            if not self._in_string:
                quote = data.find(b'"', pos)
                if quote < 0:
                    self._structure(data[pos:])
                    break
                self._structure(data[pos:quote])
                self._in_string = True
                pos = quote + 1
                continue
            if self._escape_pending:
                # The previous chunk ended inside an escape: this byte is its
                # second half and cannot close the string.
                self._emit(data[pos : pos + 1])
                self._escape_pending = False
                pos += 1
                continue
            match = _STRING_SPECIAL.search(data, pos)
            if match is None:
                self._emit(data[pos:])
                break
            index = match.start()
            if data[index] == 0x5C:  # backslash
                if index + 1 < end:
                    self._emit(data[pos : index + 2])
                    pos = index + 2
                else:
                    self._emit(data[pos : index + 1])
                    self._escape_pending = True
                    pos = end
            else:
                self._emit(data[pos:index])
                self._close_string()
                pos = index + 1
        if len(self.skeleton) > MAX_SKELETON:
            raise BodyError("request body too large", status=413)
        if self._values > MAX_VALUES:
            raise BodyError(f"request body holds more than {MAX_VALUES} JSON values", status=413)

    def discard(self) -> None:
        if self._spill_file is not None:
            self._spill_file.close()
        for path in [*(s.path for s in self.spills), self._spill_path]:
            if path is not None:
                path.unlink(missing_ok=True)


async def read_json_spilling(request: web.Request, folder: Path, max_size: int) -> Any:
    """Read a JSON body, moving long strings to files in ``folder``.

    Returns:
        The parsed JSON, with :class:`SpilledString` in place of long strings.

    Raises:
        BodyError: The body is too large (413) or not acceptable JSON (400,
            see :func:`parse_json`).
    """
    if request.content_length is not None and request.content_length > max_size:
        raise BodyError("request body too large", status=413)  # refused before any write
    # A per-request random marker: no string a client sends can pass for one.
    marker = f"\x00spilled-{secrets.token_hex(8)}:"
    scanner = _Scanner(folder, marker)
    received = 0
    try:
        async for chunk in request.content.iter_chunked(READ_CHUNK):
            received += len(chunk)
            if received > max_size:
                raise BodyError("request body too large", status=413)
            scanner.feed(chunk)
        if scanner._in_string:
            raise BodyError("body is not valid JSON (unterminated string)")
        return _walk(_loads(scanner.skeleton), marker, scanner.spills)
    except BaseException:
        scanner.discard()
        raise


def discard_spills(value: Any) -> None:
    """Delete the files of every :class:`SpilledString` inside parsed JSON."""
    stack = [value]  # a loop, not recursion: parsed JSON may nest deeply
    while stack:
        node = stack.pop()
        if isinstance(node, SpilledString):
            node.path.unlink(missing_ok=True)
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
