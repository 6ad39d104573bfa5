"""Document sources: a path, bytes or a :class:`Document`, read in pieces.

A path is never read whole: its size comes from ``stat``, its first bytes are
read for magic-number checks, and its content is streamed when sent.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import anyio
import anyio.to_thread
import attrs

from .errors import ValidationError

__all__ = ["CHUNK_SIZE", "Blob", "Document", "DocumentSource", "load_source"]

CHUNK_SIZE = 1 << 20
"""Streaming granularity: large enough for throughput, small enough for flat memory."""

_HEAD_SIZE = 16


@attrs.frozen
class Document:
    """A document to send, with the file name the provider should see.

    Attributes:
        content: The bytes, or a path to read them from (streamed, never loaded whole).
        name: The file name sent to the provider (``contract.pdf``).
    """

    content: bytes | str | os.PathLike[str] = attrs.field(repr=False)
    name: str


DocumentSource = str | os.PathLike[str] | bytes | Document
"""What every document parameter accepts: a path, the bytes, or a :class:`Document`."""


@attrs.frozen
class Blob:
    """A document source resolved: its name, size and first bytes are known.

    Attributes:
        name: The file name to send.
        size: The exact size in bytes.
        head: The first bytes, for magic-number checks.
        path: The file to stream from, or None when ``data`` holds the bytes.
        data: The bytes, when the source was in memory.
    """

    name: str
    size: int
    head: bytes = attrs.field(repr=False)
    path: Path | None = None
    data: bytes | None = attrs.field(default=None, repr=False)

    async def chunks(self, size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        """Yield the content in chunks of exactly ``size`` bytes (the last may be shorter).

        Raises:
            ValidationError: The file changed size since it was resolved (the
                announced Content-Length would be wrong).
        """
        if self.data is not None:
            view = memoryview(self.data)
            for start in range(0, len(view), size):
                yield bytes(view[start : start + size])
            return
        assert self.path is not None
        sent = 0
        reader = _Reader(self.path)
        try:
            # The read that reaches the announced size asks for one byte more: a
            # short answer proves the end (and closes the file in the same trip),
            # a full one means the file grew.
            while not reader.closed:
                chunk = await anyio.to_thread.run_sync(reader.read, min(size, self.size - sent + 1))
                sent += len(chunk)
                if not chunk or sent > self.size:
                    break
                yield chunk
        finally:
            if not reader.closed:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(reader.close)
        if sent != self.size:
            raise ValidationError(
                str(self.path),
                f"the file changed while it was being sent ({self.size} bytes before)",
            )


class _Reader:
    """A file read from a worker thread, opened and closed on the way.

    Opening shares a trip to the thread with the first read, and closing
    with the read that finds the end: a document read in n chunks costs
    n trips instead of n + 3.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: BinaryIO | None = None
        self.closed = False
        # A read and the close can run in two worker threads at once: a task
        # cancelled outright (aiohttp cancels the task writing a body) does not
        # wait for its read's thread before closing. Without the lock, that
        # read could open the file after the close, and nothing would close it.
        self._lock = threading.Lock()

    def read(self, size: int) -> bytes:
        with self._lock:
            if self.closed:
                return b""
            if self._file is None:
                self._file = self._path.open("rb")
            chunk = self._file.read(size)
            if len(chunk) < size:  # the end of the file: close in this same trip
                self._close()
            return chunk

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        self.closed = True
        if self._file is not None:
            self._file.close()


def _probe(path: Path) -> tuple[int, bytes]:
    # One trip to a worker thread instead of four (stat, open, read, close):
    # with many small documents in flight, the trips cost more than the I/O.
    with path.open("rb") as file:
        return os.fstat(file.fileno()).st_size, file.read(_HEAD_SIZE)


async def load_source(source: DocumentSource, *, field: str, default_name: str) -> Blob:
    """Resolve a document source, checking that it exists and is not empty.

    Args:
        source: A path, bytes, or a :class:`Document`.
        field: The parameter's name, for error messages.
        default_name: The file name to use when the source has none (bytes).

    Raises:
        ValidationError: The file is missing, unreadable or empty, or the
            source is of an unsupported type.
    """
    name = default_name
    content: object = source
    if isinstance(source, Document):
        name, content = source.name, source.content
    if isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
        if not data:
            raise ValidationError(field, "the document is empty")
        return Blob(name, len(data), data[:_HEAD_SIZE], data=data)
    if not isinstance(content, str | os.PathLike):
        raise ValidationError(
            field, f"expected a path, bytes or Document, not {type(content).__name__}"
        )
    path = Path(os.fspath(content))
    if not isinstance(source, Document):
        name = path.name
    try:
        size, head = await anyio.to_thread.run_sync(_probe, path)
    except FileNotFoundError:
        raise ValidationError(field, f"no such file: {path}") from None
    except IsADirectoryError:
        raise ValidationError(field, f"is a directory, not a file: {path}") from None
    except OSError as exc:
        raise ValidationError(field, f"cannot read {path}: {exc.strerror}") from None
    if size == 0:
        raise ValidationError(field, f"the document is empty: {path}")
    return Blob(name, size, head, path=path)
