"""Reading JSON bodies that carry huge Base64 strings without holding them in memory.

Documents travel as Base64 inside JSON and may reach a gigabyte. The body is
streamed through a small scanner that copies the JSON *structure* to memory
and moves every long string (still JSON-escaped) to its own file; the parsed
JSON then holds a :class:`SpilledString` where each long string was.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any, BinaryIO

from aiohttp import web

from ._blobs import SpilledString, new_path

__all__ = ["BodyError", "discard_spills", "read_json_spilling"]

# Strings up to this many bytes stay inline; longer ones go to a file.
SPILL_OVER = 64 * 1024
# The JSON structure left after spilling is small for every route that uses
# this reader; a larger one means a malformed or hostile body.
MAX_SKELETON = 64 << 20
READ_CHUNK = 1 << 20

_STRING_SPECIAL = re.compile(rb'["\\]')


class BodyError(ValueError):
    """The body is not acceptable; the message says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


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
                    self.skeleton += data[pos:]
                    break
                self.skeleton += data[pos:quote]
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

    def discard(self) -> None:
        if self._spill_file is not None:
            self._spill_file.close()
        for path in [*(s.path for s in self.spills), self._spill_path]:
            if path is not None:
                path.unlink(missing_ok=True)


def _restore(value: Any, marker: str, spills: list[SpilledString]) -> Any:
    if isinstance(value, str):
        if value.startswith(marker):
            return spills[int(value[len(marker) :])]
        return value
    if isinstance(value, list):
        return [_restore(item, marker, spills) for item in value]
    if isinstance(value, dict):
        return {key: _restore(item, marker, spills) for key, item in value.items()}
    return value


async def read_json_spilling(request: web.Request, folder: Path, max_size: int) -> Any:
    """Read a JSON body, moving long strings to files in ``folder``.

    Returns:
        The parsed JSON, with :class:`SpilledString` in place of long strings.

    Raises:
        BodyError: The body is too large (413) or not JSON (400).
    """
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
        try:
            parsed = json.loads(bytes(scanner.skeleton))
        except (ValueError, RecursionError):
            raise BodyError("body is not valid JSON") from None
    except BaseException:
        scanner.discard()
        raise
    return _restore(parsed, marker, scanner.spills)


def discard_spills(value: Any) -> None:
    """Delete the files of every :class:`SpilledString` inside parsed JSON."""
    if isinstance(value, SpilledString):
        value.path.unlink(missing_ok=True)
    elif isinstance(value, list):
        for item in value:
            discard_spills(item)
    elif isinstance(value, dict):
        for item in value.values():
            discard_spills(item)
