"""Document sources: a path, bytes or a :class:`Document`, read in pieces.

A path is not read whole: its size comes from ``stat``, its first bytes are
read for magic-number checks, and its content is streamed when sent, in
pieces of :data:`CHUNK_SIZE`. A file up to :data:`SMALL_FILE_LIMIT` is the
exception, as it is one piece anyway: it is read when it is loaded, in the
same trip off the event loop as its size, and what is checked and sent is
what was read then. The probe, and the pieces of a file up to
:data:`SHARED_READ_LIMIT`, are read on the process's file thread
(:mod:`.file_thread`). A request of many documents (:class:`RequestFiles`)
reads no more than :data:`REQUEST_READ_LIMIT` of them that way; the rest are
streamed.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import threading
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import BinaryIO, cast

import anyio
import anyio.to_thread
import attrs

from .errors import ValidationError
from .file_thread import run_in_file_thread

__all__ = [
    "CHUNK_SIZE",
    "Blob",
    "Document",
    "DocumentSource",
    "RequestFiles",
    "document_sources",
    "file_path",
    "load_source",
    "open_regular",
    "read_file",
]

CHUNK_SIZE = 1 << 20
"""Streaming granularity: large enough for throughput, small enough for flat memory."""

SMALL_FILE_LIMIT = 64 * 1024
"""A file up to this size is read when loaded, in one trip off the event loop.

Streamed, a small file cost two trips to a worker thread (its size, then its
content when sent); with many documents in flight each trip cost more CPU
than the request. Memory stays bounded: this much per request in flight for
a request of one document, :data:`REQUEST_READ_LIMIT` for one of many.
"""

REQUEST_READ_LIMIT = CHUNK_SIZE
"""How much of one request's small files may be held, read whole: one streamed piece."""

SHARED_READ_LIMIT = 512 * 1024
"""A streamed file up to this size is read on the file thread, a larger one in worker threads.

A file this size is one piece (:data:`CHUNK_SIZE`). With 64 in flight,
documents of 200 KiB went 1.3x as fast read on the one thread as through
anyio's worker threads, which contend for the GIL (1.1x at 512 KiB). Pieces
of 1 MiB went a tenth slower at concurrency 16: read in parallel, they
overlap; queued on one thread, a piece waits for the pieces before it.
"""

_HEAD_SIZE = 16


@attrs.frozen
class Document:
    """A document to send, with the file name the provider should see.

    Attributes:
        content: The bytes, or a path to read them from (streamed in pieces).
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
        off_loop = (
            run_in_file_thread if self.size <= SHARED_READ_LIMIT else anyio.to_thread.run_sync
        )
        try:
            # The read that reaches the announced size asks for one byte more: a
            # short answer proves the end (and closes the file in the same trip),
            # a full one means the file grew.
            while not reader.closed:
                chunk = await off_loop(reader.read, min(size, self.size - sent + 1))
                sent += len(chunk)
                if not chunk or sent > self.size:
                    break
                yield chunk
        finally:
            if not reader.closed:
                with anyio.CancelScope(shield=True):
                    await off_loop(reader.close)
        if sent != self.size:
            raise ValidationError(
                str(self.path),
                f"the file changed while it was being sent ({self.size} bytes before)",
            )


class _Reader:
    """A file read off the event loop, opened and closed on the way.

    Opening shares a trip to the thread with the first read, and closing
    with the read that finds the end: a document read in n chunks costs
    n trips instead of n + 3. The file was a regular one when probed; if
    something else stands at its path now (a FIFO would hold the file
    thread until a writer came), nothing is read, and the send fails as
    for any file that changed.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: BinaryIO | None = None
        self.closed = False
        # A read and the close can run in two threads at once: a task
        # cancelled outright (aiohttp cancels the task writing a body) does not
        # wait for its read's thread before closing. Without the lock, that
        # read could open the file after the close, and nothing would close it.
        self._lock = threading.Lock()

    def read(self, size: int) -> bytes:
        with self._lock:
            if self.closed:
                return b""
            if self._file is None:
                self._file = open_regular(self._path)
                if self._file is None:
                    self._close()
                    return b""
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


Probe = tuple[int, bytes, bytes | None]
"""A file's size, its first bytes and, for a small regular file, its content."""


def _probe_open(file: BinaryIO, read_limit: int) -> Probe:
    """One trip off the event loop instead of four (stat, open, read, close):
    with many small documents in flight, the trips cost more than the I/O.

    A regular file up to ``read_limit`` bytes is read whole."""
    status = os.fstat(file.fileno())
    if not 0 < status.st_size <= read_limit:
        return status.st_size, file.read(_HEAD_SIZE), None
    data = file.read(read_limit + 1)
    if len(data) > read_limit:
        # It grew since its size was read: streamed, at the size it has now.
        return os.fstat(file.fileno()).st_size, data[:_HEAD_SIZE], None
    return len(data), data[:_HEAD_SIZE], data


_OPEN_AT_ONCE = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
"""Opening flags that never wait: a FIFO opens at once instead of waiting for a writer."""


def open_regular(path: Path) -> BinaryIO | None:
    """``path`` opened for reading if it is a regular file; None for a FIFO or a device.

    The file thread every file of the process is read on must not wait on a
    FIFO (or a tty) for a writer: the path is opened without waiting, and
    checked once open, so it cannot be swapped for a FIFO between the check
    and the read.

    Raises:
        IsADirectoryError: ``path`` is a folder (which Linux opens), so that
            it is named as one, as everywhere else.
        OSError: It cannot be opened (missing, unreadable).
    """
    descriptor = os.open(path, _OPEN_AT_ONCE)
    try:
        mode = os.fstat(descriptor).st_mode
    except BaseException:
        os.close(descriptor)
        raise
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        return None
    # The file object owns the descriptor from here (it closes it if it fails).
    return open(descriptor, "rb")


def read_file(path: Path, size: int) -> bytes | None:
    """The ``size`` bytes of the regular file at ``path``, read whole; blocking.

    None if it cannot be read as it was loaded: gone, unreadable, no longer
    a regular file (opened without waiting, so safe on the file thread), or
    of another size. The upload that follows says what happened.
    """
    try:
        file = open_regular(path)
        if file is None:
            return None
        with file:
            data = file.read(size + 1)
    except OSError:
        return None
    return data if len(data) == size else None


def _probe_regular(path: Path, read_limit: int) -> Probe | None:
    """A regular file probed (:func:`_probe_open`); None for a FIFO or a device.

    (:func:`open_regular` tells, without waiting on a FIFO for a writer.)
    """
    file = open_regular(path)
    if file is None:
        return None
    with file:
        return _probe_open(file, read_limit)


_SINGLE = (str, bytes, bytearray, memoryview, Document, os.PathLike)

# C0, DEL and C1 controls, a lone surrogate: nothing a file name sent to a
# provider may hold (it goes into a JSON string or a multipart header).
_BAD_NAME = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def document_sources(docs: object, field: str) -> list[DocumentSource]:
    """``docs`` as a list of sources: one source, or a sequence of them.

    Each item is checked when it is loaded (:func:`load_source`); this only
    refuses what is neither (``docs=123``).

    Raises:
        ValidationError: ``docs`` is neither a source nor a sequence of them.
    """
    if isinstance(docs, _SINGLE):
        return [cast("DocumentSource", docs)]
    if isinstance(docs, Mapping) or not isinstance(docs, Iterable):
        raise ValidationError(
            field,
            f"expected a path, bytes, a Document or a list of them, not {type(docs).__name__}",
        )
    return list(docs)


def file_path(value: object, field: str) -> Path:
    """``value`` as a filesystem path, or a :class:`ValidationError` naming ``field``.

    A path is a ``str`` or an ``os.PathLike``; one holding a NUL character is
    refused here rather than by ``open`` (``ValueError: embedded null byte``).
    """
    if not isinstance(value, str | os.PathLike):
        raise ValidationError(field, f"expected a path, not {type(value).__name__}")
    try:
        text = os.fsdecode(os.fspath(value))
    except TypeError:  # an __fspath__ that returns neither str nor bytes
        raise ValidationError(field, f"{type(value).__name__} is not a usable path") from None
    if "\x00" in text:
        raise ValidationError(field, "a path must not contain a NUL character")
    if not text:
        raise ValidationError(field, "the path is empty")
    try:
        os.fsencode(text)
    except UnicodeEncodeError as exc:
        # A lone surrogate that surrogateescape did not make: no file can have that name.
        raise ValidationError(
            field, f"the path holds a character no file name can have, at position {exc.start}"
        ) from None
    return Path(text)


def _shown(path: Path) -> str:
    # A path in a message, cut if absurdly long (a 5 MB "path" makes no message).
    text = str(path)
    return text if len(text) <= 512 else f"{text[:509]}..."


def _check_name(name: object, field: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(field, "the document's name must be a non-empty string")
    found = _BAD_NAME.search(name)
    if found is not None:
        raise ValidationError(
            field,
            f"the document's name has a control character or a byte that is not UTF-8"
            f" at position {found.start()}; pass Document(content, name) with a clean name",
        )
    return name


async def load_source(
    source: DocumentSource,
    *,
    field: str,
    default_name: str,
    read_limit: int = SMALL_FILE_LIMIT,
) -> Blob:
    """Resolve a document source, checking that it exists and is not empty.

    Args:
        source: A path, bytes, or a :class:`Document`.
        field: The parameter's name, for error messages.
        default_name: The file name to use when the source has none (bytes).
        read_limit: A regular file up to this size is read now, whole;
            a larger one is streamed when sent.

    Raises:
        ValidationError: The file is missing, unreadable, empty or not a
            regular file (a FIFO, a device), or the source is of an
            unsupported type.
    """
    name = default_name
    content: object = source
    if isinstance(source, Document):
        name, content = _check_name(source.name, field), source.content
    if isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
        if not data:
            raise ValidationError(field, "the document is empty")
        return Blob(name, len(data), data[:_HEAD_SIZE], data=data)
    if not isinstance(content, str | os.PathLike):
        raise ValidationError(
            field, f"expected a path, bytes or Document, not {type(content).__name__}"
        )
    path = file_path(content, field)
    try:
        probed = await run_in_file_thread(_probe_regular, path, read_limit)
        if probed is None:
            # A FIFO or a device: nothing to send a length for (each
            # says it holds 0 bytes), and a FIFO's read would wait for a writer.
            raise ValidationError(field, f"not a regular file (a FIFO or a device): {_shown(path)}")
        size, head, whole = probed
    except FileNotFoundError:
        raise ValidationError(field, f"no such file: {_shown(path)}") from None
    except IsADirectoryError:
        raise ValidationError(field, f"is a directory, not a file: {_shown(path)}") from None
    except OSError as exc:
        raise ValidationError(field, f"cannot read {_shown(path)}: {exc.strerror}") from None
    if size == 0:
        raise ValidationError(field, f"the document is empty: {_shown(path)}")
    if not isinstance(source, Document):
        # A file name that is not UTF-8 opens fine (surrogateescape) but
        # cannot be sent as the document's name: refused, with the way out.
        name = _check_name(path.name, field)
    if whole is not None:
        return Blob(name, size, head, data=whole)
    return Blob(name, size, head, path=path)


class RequestFiles:
    """The documents of one request, loaded in turn (:func:`load_source`).

    The small files read whole add up to at most :data:`REQUEST_READ_LIMIT`;
    past it, files are streamed when sent, so that a request of a thousand
    small documents holds one piece of them at a time, not all of them.
    Documents given in memory count for nothing: they are the caller's (a
    ``bytearray`` or ``memoryview`` is copied once, whatever the request).
    """

    def __init__(self) -> None:
        self._room = REQUEST_READ_LIMIT

    async def load(self, source: DocumentSource, *, field: str, default_name: str) -> Blob:
        """:func:`load_source`, reading a small file whole only while there is room."""
        blob = await load_source(
            source,
            field=field,
            default_name=default_name,
            read_limit=min(SMALL_FILE_LIMIT, self._room),
        )
        content = source.content if isinstance(source, Document) else source
        if blob.data is not None and not isinstance(content, bytes | bytearray | memoryview):
            self._room -= blob.size
        return blob
