"""Streaming answers: read in chunks, or written atomically to a file.

``download_to`` checks its target and creates a temporary file beside it
before the request is sent, writes into it, checks the byte count and the
file type, and only then renames it into place: on any failure nothing is
left at the target path, nor a temporary file, and a disk error is raised
as a ``FileWriteError`` (a ``SigningError`` and an ``OSError``) naming the
operation and the target.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import BinaryIO, TypeVar

import anyio
import anyio.to_thread
import attrs

from .errors import FileWriteError, ResponseDecodeError, TransportError, ValidationError
from .sources import CHUNK_SIZE, file_path
from .transport import Response, aclose_iterator

__all__ = [
    "ByteStream",
    "DownloadTarget",
    "DownloadedFile",
    "FileCheck",
    "download_target",
    "temporary_beside",
    "write_atomically",
]

T = TypeVar("T")


@attrs.frozen
class DownloadedFile:
    """A file written by a download.

    Attributes:
        path: Where it is.
        size: Its size in bytes.
        sha256: The hex SHA-256 of its content; empty if the download was
            asked not to compute it (``checksum=False``).
    """

    path: Path
    size: int
    sha256: str


class ByteStream:
    """The body of a download, read as it arrives.

    Attributes:
        content_length: The size the server announced, if it did.
    """

    def __init__(self, response: Response, *, what: str) -> None:
        self._response = response
        self._what = what
        self.content_length = response.content_length

    async def iter_chunks(self, size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        """Yield the body in chunks of at most ``size`` bytes.

        Raises:
            TransportError: The connection broke, or the body ended before
                the announced Content-Length.
        """
        received = 0
        chunks = self._response.stream.iter_chunks(size)
        try:
            async for chunk in chunks:
                received += len(chunk)
                yield chunk
        except TransportError as exc:
            raise type(exc)(
                f"{self._what}: the transfer broke after {received} bytes: {exc}",
                request_sent=exc.request_sent,
            ) from exc
        finally:
            # Left early (the caller stopped, or closed this generator): finish
            # the transport's iterator now, not in the garbage collector.
            await aclose_iterator(chunks)
        if self.content_length is not None and received != self.content_length:
            raise TransportError(
                f"{self._what}: the body ended after {received} of {self.content_length} bytes"
            )

    async def aclose(self) -> None:
        """Release the connection, read to the end or not."""
        await self._response.aclose()


_BATCH = 8 * CHUNK_SIZE
"""Bytes handed to the writer thread at a time: fewer hand-overs, less GIL ping-pong."""


_AHEAD = 1
"""Batches queued for the writer: with the one being filled and the one being
written, at most 24 MiB of a download is in memory at once."""

FileCheck = Callable[[Path], "str | None"]
"""Inspects a complete download; returns what is wrong with it, or None."""


async def _copy(chunks: AsyncIterator[bytes], file: BinaryIO, digest: hashlib._Hash | None) -> int:
    """Write ``chunks`` into ``file`` (hashing them into ``digest``, if any), reading on meanwhile.

    Reading and hashing happen on the event loop, writing in a worker thread,
    so the disk never blocks the loop and the two overlap. Chunks go to the thread
    in batches of about ``_BATCH`` bytes, with at most ``_AHEAD`` batches
    waiting: memory stays bounded whatever the download's size.

    Errors are handed across by hand rather than left to the task group,
    which would wrap them in an exception group: a writing error comes out
    as :class:`_WriteFailed`, a reading one (``TransportError``) as it is.
    """
    send, receive = anyio.create_memory_object_stream[list[bytes]](_AHEAD)
    write_error: Exception | None = None
    read_error: Exception | None = None
    size = 0

    async def write_batches() -> None:
        nonlocal write_error
        try:
            async with receive:
                async for batch in receive:
                    await anyio.to_thread.run_sync(file.writelines, batch)
        except Exception as exc:  # raised by the reading side once both are done
            write_error = exc

    async with anyio.create_task_group() as group:
        group.start_soon(write_batches)
        try:
            async with send:
                batch: list[bytes] = []
                pending = 0
                async for chunk in chunks:
                    size += len(chunk)
                    # Hashed here, not in the writer thread: measured on two cores,
                    # handing the hash to a thread cost more (GIL hand-overs) than
                    # the ~0.6 ms/MiB it takes on the loop; only the disk waits go.
                    if digest is not None:
                        digest.update(chunk)
                    batch.append(chunk)
                    pending += len(chunk)
                    if pending >= _BATCH:
                        await send.send(batch)
                        batch, pending = [], 0
                if batch:
                    await send.send(batch)
        except anyio.BrokenResourceError:
            pass  # the writer stopped on an error, raised below
        except Exception as exc:  # the writer finishes what it has, then this is raised
            read_error = exc
    if isinstance(write_error, OSError):
        raise _WriteFailed(write_error)
    if write_error is not None:
        raise write_error
    if read_error is not None:
        raise read_error
    return size


class _WriteFailed(Exception):
    """An ``OSError`` of the writing side, carried out of :func:`_copy` as itself."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class DownloadTarget:
    """Where a download goes: checked, and its temporary file created, before any request.

    Made by :func:`download_target`. A one-shot URL is not spent on a download
    that could never be written, and every error names the path the caller
    gave, never the temporary file.

    Attributes:
        path: The target path, as the caller gave it.
    """

    def __init__(self, path: Path, temp: Path, file: BinaryIO) -> None:
        self.path = path
        self._temp = temp
        self._file: BinaryIO | None = file
        self._done = False

    async def write(
        self,
        stream: ByteStream,
        *,
        what: str,
        check: FileCheck | None = None,
        checksum: bool = True,
    ) -> DownloadedFile:
        """Write ``stream`` into the temporary file, check it, and rename it into place.

        Args:
            stream: The download.
            what: Names the download in error messages.
            check: Validates the complete file before it is moved into place.
            checksum: Compute the content's SHA-256 while it is written (0.6 to
                0.8 ms of CPU per MiB, measured); without it ``sha256`` is empty.

        Raises:
            TransportError: The transfer broke or came up short.
            ResponseDecodeError: ``check`` rejected the content.
            FileWriteError: The disk refused the file (full, an I/O error).
        """
        file = self._file
        if file is None or self._done:
            raise RuntimeError("a download target is written once")
        digest = hashlib.sha256() if checksum else None
        chunks = stream.iter_chunks(CHUNK_SIZE)
        try:
            try:
                size = await _copy(chunks, file, digest)
            finally:
                try:
                    await aclose_iterator(chunks)
                finally:
                    await self._close()
            if check is not None:
                problem = await self._disk(what, check, self._temp)
                if problem is not None:
                    raise ResponseDecodeError(f"{what}: {problem}")
            await self._disk(what, os.replace, self._temp, self.path)
        except _WriteFailed as failed:
            raise self._error(what, failed.error) from failed.error
        self._done = True
        return DownloadedFile(self.path, size, digest.hexdigest() if digest is not None else "")

    async def discard(self) -> None:
        """Remove the temporary file, unless it was renamed into place. Safe to call twice."""
        # Shielded: in a cancelled scope these would not run at all, leaving the
        # file open (and, on Windows, impossible to delete) and on disk.
        with anyio.CancelScope(shield=True):
            try:
                await self._close()
            except _WriteFailed:
                pass  # the file goes anyway; the error that brought us here is raised
            finally:
                if not self._done:
                    self._done = True
                    await anyio.to_thread.run_sync(_unlink_quietly, self._temp)

    async def _close(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            # Shielded, like discard: the close flushes, and must run even when cancelled.
            with anyio.CancelScope(shield=True):
                try:
                    await anyio.to_thread.run_sync(file.close)
                except OSError as exc:  # the last buffered bytes did not fit
                    raise _WriteFailed(exc) from None

    async def _disk(self, what: str, fn: Callable[..., T], *args: object) -> T:
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        except OSError as exc:
            raise self._error(what, exc) from exc

    def _error(self, what: str, exc: OSError) -> FileWriteError:
        return FileWriteError(
            f"{what}: cannot write {self.path}: {exc.strerror or exc}",
            cause=exc,
            path=str(self.path),
        )


def _reserve(path: Path, field: str) -> DownloadTarget:
    # One trip to a worker thread: the checks, then the temporary file, whose
    # creation is the only honest test that the folder is writable (os.access
    # says yes to root on a read-only mount).
    try:
        return _reserve_checked(path, field)
    except OSError as exc:  # a name too long, a loop of links, an I/O error
        raise ValidationError(field, f"cannot write {path}: {exc.strerror or exc}") from None


def _reserve_checked(path: Path, field: str) -> DownloadTarget:
    if path.is_dir():
        raise ValidationError(field, f"{path} is a folder; give the path of the file to write")
    folder = path.parent
    if not folder.exists():
        raise ValidationError(field, f"the folder of {path} does not exist")
    if not folder.is_dir():
        raise ValidationError(field, f"{folder} is not a folder, so {path} cannot be written")
    temp = temporary_beside(path, ".part")
    return DownloadTarget(path, temp, temp.open("xb"))


_KEPT_OF_NAME = 64
"""Bytes of the target's name kept in its temporary file's name."""


def temporary_beside(path: Path, suffix: str) -> Path:
    """A new hidden name beside ``path`` for the temporary file it is written through.

    The target's name is cut to its first 64 bytes (bytes, not characters:
    an emoji is four), so that the temporary name fits wherever the
    target's does, whatever its length up to the usual limit of 255 bytes.
    """
    kept = path.name[:_KEPT_OF_NAME]
    while len(os.fsencode(kept)) > _KEPT_OF_NAME:
        kept = kept[:-1]
    return path.with_name(f".{kept}.{secrets.token_hex(6)}{suffix}")


@asynccontextmanager
async def download_target(target: object, *, field: str = "path") -> AsyncIterator[DownloadTarget]:
    """Check ``target`` and create its temporary file, before anything is sent.

    Use it around the request; whatever happens inside, nothing is left
    behind but the renamed file after a successful :meth:`DownloadTarget.write`.

    Example:
        >>> async with download_target(path) as target:
        ...     async with session.stream(call) as response:
        ...         return await target.write(ByteStream(response, what=what), what=what)

    Raises:
        ValidationError: ``target`` is not a path, is a folder, or its folder
            does not exist or cannot be written; nothing was sent.
    """
    path = file_path(target, field)
    # Shielded: a cancellation arriving while the file is created would
    # otherwise lose the open file (and leave it on disk).
    with anyio.CancelScope(shield=True):
        prepared = await anyio.to_thread.run_sync(_reserve, path, field)
    try:
        yield prepared
    finally:
        await prepared.discard()


async def write_atomically(
    stream: ByteStream,
    target: str | os.PathLike[str],
    *,
    what: str,
    check: FileCheck | None = None,
    checksum: bool = True,
) -> DownloadedFile:
    """Write ``stream`` to ``target`` through a temporary file and a rename.

    The same as :func:`download_target` and :meth:`DownloadTarget.write`, for
    a stream already open (the target is checked only now).

    Raises:
        ValidationError: ``target`` cannot be written (see :func:`download_target`).
        TransportError: The transfer broke or came up short.
        ResponseDecodeError: ``check`` rejected the content.
        FileWriteError: The disk refused the file.
    """
    async with download_target(target) as prepared:
        return await prepared.write(stream, what=what, check=check, checksum=checksum)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
