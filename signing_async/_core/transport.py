"""What a transport receives and returns: raw requests and raw responses.

A transport only moves bytes. Authentication, retries, error mapping and
decoding all belong to the core session, so a new transport is a few dozen
lines (see :class:`~signing_async.transports.MockTransport`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Protocol, runtime_checkable

import anyio
import attrs
from multidict import CIMultiDict, CIMultiDictProxy

from .numbers import read_count
from .timeouts import Timeout

__all__ = ["Request", "RequestBody", "Response", "ResponseStream", "StreamBody", "Transport"]


@attrs.frozen
class StreamBody:
    """A request body produced piece by piece, with a length known in advance.

    It is *replayable*: every call of ``open()`` starts a fresh iterator over
    the same bytes, so a retried request sends the whole body again.

    Attributes:
        length: The exact number of bytes ``open()`` yields; sent as Content-Length.
        open: A function returning a new async iterator over the body's bytes.
    """

    length: int
    open: Callable[[], AsyncIterator[bytes]] = attrs.field(repr=False)


RequestBody = bytes | StreamBody
"""A request body: plain bytes, or a replayable stream of known length."""


@attrs.frozen
class Request:
    """One HTTP request, ready to go on the wire.

    Attributes:
        method: The HTTP method, upper case.
        url: The absolute URL, query included.
        headers: Header names and values. Never shown in ``repr``: they carry credentials.
        body: The body; empty bytes for none.
        timeout: The deadlines for this request.
    """

    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    body: RequestBody = attrs.field(default=b"", repr=False)
    timeout: Timeout = attrs.field(factory=Timeout)


@runtime_checkable
class ResponseStream(Protocol):
    """The body of a response, read as it arrives."""

    def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
        """Yield the body in chunks of at most ``size`` bytes."""
        ...

    async def aclose(self) -> None:
        """Release the connection, whether or not the body was read to the end."""
        ...


async def aclose_iterator(iterator: AsyncIterator[bytes]) -> None:
    """Finalize a byte iterator that was left before its end, now.

    An async generator abandoned mid-way is otherwise finalized by the garbage
    collector, later, in whatever task is running then; trio warns about
    each one. Iterators without ``aclose`` have nothing to finalize.
    """
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


@runtime_checkable
class WholeBodyStream(ResponseStream, Protocol):
    """A response stream that can also hand over the whole body in one call.

    Optional for transports: :meth:`Response.read` uses it when offered,
    and falls back to :meth:`~ResponseStream.iter_chunks` otherwise.
    """

    async def read(self) -> bytes:
        """The rest of the body, at once, releasing the connection as ``aclose`` would.

        If it raises, :meth:`Response.read` calls ``aclose`` itself.
        """
        ...


class _BytesStream:
    """A response body already in memory."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
        view = memoryview(self._content)
        for start in range(0, len(view), size):
            yield bytes(view[start : start + size])

    async def read(self) -> bytes:
        return self._content

    async def aclose(self) -> None:
        return None


class Response:
    """An HTTP response whose body is a stream.

    Args:
        status: The HTTP status.
        headers: The response headers (looked up case-insensitively).
        content: A body already in memory (what a mock handler usually gives).
        stream: A body to be read from the network; wins over ``content``.
    """

    __slots__ = ("headers", "status", "stream")

    def __init__(
        self,
        status: int,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes = b"",
        stream: ResponseStream | None = None,
    ) -> None:
        self.status = status
        self.headers: CIMultiDictProxy[str] = (
            headers  # already read-only and case-insensitive (aiohttp's): no copy
            if isinstance(headers, CIMultiDictProxy)
            else CIMultiDictProxy(CIMultiDict(headers or {}))
        )
        self.stream: ResponseStream = stream if stream is not None else _BytesStream(content)

    def __repr__(self) -> str:
        return f"<Response {self.status}>"

    @property
    def content_length(self) -> int | None:
        """The Content-Length the server announced, if any."""
        value = self.headers.get("Content-Length")
        if value is None:
            return None
        # Leading zeros are legal (RFC 9110); 19 digits hold any size a file can have.
        return read_count(value.lstrip("0") or "0", max_digits=19)

    async def read(self, limit: int | None = None) -> bytes:
        """Read the whole body (or its first ``limit`` bytes) and release the connection."""
        # Most answers are small JSON: one read beats a chunk iterator. (getattr,
        # not isinstance: a runtime protocol check costs more than the read.)
        read_whole = getattr(self.stream, "read", None) if limit is None else None
        if read_whole is not None:
            try:
                body: bytes = await read_whole()
            except BaseException:
                # Shielded: a cancelled read must still release the connection.
                with anyio.CancelScope(shield=True):
                    await self.stream.aclose()
                raise
            return body  # read() released the connection: no aclose() to await
        parts: list[bytes] = []
        received = 0
        chunks = self.stream.iter_chunks(1 << 20)
        try:
            async for chunk in chunks:
                parts.append(chunk)
                received += len(chunk)
                if limit is not None and received >= limit:
                    break
        finally:
            with anyio.CancelScope(shield=True):
                try:
                    await aclose_iterator(chunks)
                finally:
                    await self.stream.aclose()
        body = b"".join(parts)
        return body if limit is None else body[:limit]

    async def aclose(self) -> None:
        """Release the connection without reading the rest of the body."""
        await self.stream.aclose()


@runtime_checkable
class Transport(Protocol):
    """Sends one request and returns the response with its body unread.

    Implementations raise :class:`~signing_async.ConnectError` when the request
    never reached the server, :class:`~signing_async.RequestTimeout` when a
    deadline passed and :class:`~signing_async.TransportError` for any other
    failure to get an answer, including one while the body is being read.
    They raise these unchained (not ``from`` the HTTP library's error, nor
    inside its ``except`` block): those errors hold the request, credentials
    included.

    ``request.timeout`` is honoured: ``connect`` and ``read`` per socket
    operation, ``total`` for the whole exchange, reading the body included
    (the core gives a small request whose answer it reads whole a ``total``
    of ``connect + read``: that is how a dripping server is cut off).
    """

    async def send(self, request: Request) -> Response:
        """Send ``request``; the caller must ``aclose()`` the response's stream."""
        ...

    async def aclose(self) -> None:
        """Release what the transport owns. Calling it twice is harmless."""
        ...
