"""Stored files: small ones in memory, large ones spooled to the sandbox's folder."""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import attrs

__all__ = ["Blob", "BlobWriter", "SpilledString", "decode_base64"]

# Anything above this goes to disk: documents may be up to 1 GiB and there may
# be thousands of small ones, so neither "all in memory" nor "all on disk" fits.
MEMORY_LIMIT = 1 << 20
CHUNK = 1 << 20

_counter = itertools.count()


@attrs.frozen
class Blob:
    """Bytes the sandbox holds, either in memory or in a file it owns."""

    size: int
    sha256: str
    head: bytes
    data: bytes | None = None
    path: Path | None = None

    @classmethod
    def from_bytes(cls, data: bytes) -> Blob:
        """Wrap bytes held in memory."""
        return cls(len(data), hashlib.sha256(data).hexdigest(), data[:16], data=data)

    def read_range(self, offset: int, length: int) -> bytes:
        """Read up to ``length`` bytes from ``offset``."""
        if self.data is not None:
            return self.data[offset : offset + length]
        assert self.path is not None
        with self.path.open("rb") as handle:
            handle.seek(offset)
            return handle.read(length)

    def iter_chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        """Yield the content in pieces of at most ``size`` bytes."""
        if self.data is not None:
            for start in range(0, len(self.data), size):
                yield self.data[start : start + size]
            return
        assert self.path is not None
        with self.path.open("rb") as handle:
            while chunk := handle.read(size):
                yield chunk

    def read_all(self) -> bytes:
        """The whole content (only for blobs known to be small)."""
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()


def new_path(folder: Path, suffix: str = ".bin") -> Path:
    """A fresh file name in ``folder`` (the file is not created)."""
    return folder / f"{os.getpid()}-{next(_counter)}{suffix}"


class BlobWriter:
    """Collects bytes in memory, moving to a file once they outgrow the limit."""

    def __init__(self, folder: Path, *, suffix: str = ".bin", memory_limit: int = MEMORY_LIMIT):
        self._folder = folder
        self._suffix = suffix
        self._limit = memory_limit
        self._buffer = bytearray()
        self._file: BinaryIO | None = None
        self._path: Path | None = None
        self._hash = hashlib.sha256()
        self._head = b""
        self._size = 0

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    @property
    def head(self) -> bytes:
        """The first bytes written (up to 16), for magic-number checks."""
        return self._head

    def write(self, data: bytes) -> None:
        """Append bytes."""
        if not data:
            return
        if len(self._head) < 16:
            self._head = (self._head + data[: 16 - len(self._head)])[:16]
        self._hash.update(data)
        self._size += len(data)
        if self._file is not None:
            self._file.write(data)
            return
        self._buffer += data
        if len(self._buffer) > self._limit:
            self._path = new_path(self._folder, self._suffix)
            self._file = self._path.open("wb")
            self._file.write(self._buffer)
            self._buffer = bytearray()

    def close(self) -> Blob:
        """Finish writing and return the blob."""
        digest = self._hash.hexdigest()
        if self._file is not None:
            self._file.close()
            return Blob(self._size, digest, self._head, path=self._path)
        return Blob(self._size, digest, self._head, data=bytes(self._buffer))

    def discard(self) -> None:
        """Abandon the content and delete any file written."""
        if self._file is not None:
            self._file.close()
        if self._path is not None:
            self._path.unlink(missing_ok=True)
        self._buffer = bytearray()


@attrs.frozen
class SpilledString:
    """A JSON string too long to keep in memory, stored still JSON-escaped."""

    path: Path
    length: int


def _decode_small(text: str) -> bytes:
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("is not valid Base64 (non-ASCII characters)") from None
    try:
        return base64.b64decode(raw, validate=True)
    except binascii.Error:
        raise ValueError("is not valid Base64") from None


def _decode_spilled(source: SpilledString, folder: Path) -> Blob:
    writer = BlobWriter(folder, suffix=".pdf")
    pending = b""
    try:
        with source.path.open("rb") as handle:
            chunk = handle.read(4 * CHUNK)
            while True:
                # Read one chunk ahead: padding is only allowed in the last one.
                following = handle.read(4 * CHUNK)
                last = not following
                data = pending + chunk
                # JSON may escape "/" as "\\/"; any other escape cannot be
                # Base64. A backslash at the end may pair with the next chunk.
                carry = b""
                if data.endswith(b"\\") and not last:
                    data, carry = data[:-1], b"\\"
                data = data.replace(b"\\/", b"/")
                if b"\\" in data:
                    raise ValueError("is not valid Base64")
                usable = len(data) if last else len(data) - len(data) % 4
                piece, pending = data[:usable], data[usable:] + carry
                if not last and b"=" in piece:
                    raise ValueError("is not valid Base64 (padding before the end)")
                try:
                    writer.write(base64.b64decode(piece, validate=True))
                except binascii.Error:
                    raise ValueError("is not valid Base64") from None
                if last:
                    break
                chunk = following
    except BaseException:
        writer.discard()
        raise
    return writer.close()


def decode_base64(value: str | SpilledString, folder: Path) -> Blob:
    """Decode Base64 text strictly (no whitespace, proper padding).

    Raises:
        ValueError: A message fragment such as ``"is not valid Base64"``, to
            be prefixed with the field's name.
    """
    if isinstance(value, SpilledString):
        return _decode_spilled(value, folder)
    data = _decode_small(value)
    if len(data) <= MEMORY_LIMIT:
        return Blob.from_bytes(data)
    writer = BlobWriter(folder, suffix=".pdf")
    writer.write(data)
    return writer.close()


def make_workdir() -> tempfile.TemporaryDirectory[str]:
    """A private temporary folder for one sandbox."""
    return tempfile.TemporaryDirectory(prefix="signing-async-sandbox-")
