"""Bounds that per-socket timeouts cannot express: upload progress and whole answers.

A transport's socket timeouts let a transfer run as long as it moves, which
is right for a 2 GB download. Three promises need more, and the core keeps
them itself, so every transport (a custom one included) honours them:

* an upload that makes no progress for ``Timeout.write`` seconds stops with
  :class:`RequestTimeout` (aiohttp has no write timeout of its own);
* an answer read whole (JSON, an error, a token) must arrive whole within
  ``Timeout.read`` seconds of the request being sent: a server that drips
  one byte at a time passes every per-read timeout, never this one;
* an answer read whole is at most ``max_answer_size`` bytes: reading stops
  there, so memory stays bounded whatever a server sends.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import AsyncGenerator

import anyio

from ..transports._base import (
    Request,
    RequestBody,
    Response,
    StreamBody,
    Transport,
    aclose_iterator,
)
from .errors import ConfigurationError, RequestTimeout, ResponseDecodeError
from .timeouts import Timeout

__all__ = [
    "DEFAULT_MAX_ANSWER_SIZE",
    "ERROR_BODY_LIMIT",
    "ExchangeClock",
    "check_answer_size",
    "read_whole",
]

DEFAULT_MAX_ANSWER_SIZE = 16 * 2**20
"""The largest answer read whole, by default: far above any documented answer."""

ERROR_BODY_LIMIT = 64 * 1024
"""How much of an error answer is read: enough for any provider's message.

Past it the body is cut, not refused: the status already says what happened,
and an :class:`APIError` with it helps more than a decoding error would."""

_CHUNK = 1 << 20

_CLOSE_POLL = 0.01
_CLOSE_POLLS = 500
"""How often, and how many times, to look whether a body stopped running elsewhere."""

_SMALL_BODY = 64 * 1024
"""A body this small goes out whole: socket buffers take it, it cannot stall."""


async def _pieces(data: bytes) -> AsyncGenerator[bytes, None]:
    view = memoryview(data)
    for start in range(0, len(view), _CHUNK):
        yield bytes(view[start : start + _CHUNK])


def check_answer_size(value: object) -> int:
    """``value`` if it is a positive number of bytes.

    Raises:
        ConfigurationError: It is not.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"max_answer_size must be a positive number of bytes, not {value!r}"
        )
    return value


class ExchangeClock:
    """The deadlines of a call's attempts, beyond the transport's socket timeouts.

    For each attempt, :meth:`attempt` watches the body and :meth:`send` runs
    the transport under a cancel scope whose deadline moves: ``write``
    seconds after the last progress of the upload, then, once the body is
    handed over, the deadline of the answer (none for a streamed answer,
    which keeps per-read timeouts only). The body generators an attempt
    opened are closed when it fails or is cancelled, not left to the
    garbage collector (trio warns about each one).

    Args:
        whole_answer: The answer will be read whole, so it has a deadline.
    """

    def __init__(self, *, whole_answer: bool) -> None:
        self._whole_answer = whole_answer
        self._timeout = Timeout()
        self._scope = anyio.CancelScope()
        self._watched = False
        self._uploading = False
        self._uploads: list[AsyncGenerator[bytes, None]] = []
        self._answer_deadline = math.inf

    def attempt(self, body: RequestBody, timeout: Timeout) -> RequestBody:
        """Start the clock of a new attempt; return ``body``, watched for progress."""
        self._timeout = timeout
        self._scope = anyio.CancelScope()
        self._uploading = False
        self._uploads = []
        self._answer_deadline = math.inf
        if not isinstance(body, StreamBody):
            if len(body) <= _SMALL_BODY:
                self._watched = False
                return body
            # Large bytes are sent in pieces too, so that their progress shows.
            body = StreamBody(len(body), functools.partial(_pieces, body))
        self._watched = True
        return StreamBody(body.length, functools.partial(self._open, body, self._scope))

    def _open(self, body: StreamBody, scope: anyio.CancelScope) -> AsyncGenerator[bytes, None]:
        upload = self._upload(body, scope)
        self._uploads.append(upload)
        return upload

    async def _upload(
        self, body: StreamBody, scope: anyio.CancelScope
    ) -> AsyncGenerator[bytes, None]:
        chunks = body.open()
        try:
            self._progress(scope)
            async for chunk in chunks:
                yield chunk
                # The transport came back for more: the last piece went out.
                self._progress(scope)
        finally:
            await aclose_iterator(chunks)
        self._sent(scope)

    def _progress(self, scope: anyio.CancelScope) -> None:
        if scope is not self._scope:
            return  # a previous attempt's body, still being written by the transport
        self._uploading = True
        write = self._timeout.write
        if write is not None:
            scope.deadline = anyio.current_time() + write

    def _sent(self, scope: anyio.CancelScope) -> None:
        if scope is not self._scope:
            return
        self._uploading = False
        read = self._timeout.read
        if self._whole_answer and read is not None:
            # The connection may still have to be made (a body sent in one
            # piece is handed over before connecting): that time is allowed on top.
            self._answer_deadline = anyio.current_time() + read + (self._timeout.connect or 0.0)
        scope.deadline = self._answer_deadline

    async def send(self, transport: Transport, request: Request) -> Response:
        """Send ``request`` through ``transport`` under this attempt's deadlines.

        Raises:
            RequestTimeout: The upload stalled, or no answer came in time.
        """
        scope = self._scope
        if not self._watched:
            self._sent(scope)
        try:
            with scope:
                response = await transport.send(request)
        except BaseException:
            await self._close_uploads()
            raise
        if scope.cancelled_caught:
            await self._close_uploads()
            if self._uploading:
                message = f"the upload made no progress for {self._timeout.write} s"
            else:
                message = f"no answer within the read timeout ({self._timeout.read} s)"
            # Part of the request went out: whether the server acted is unknown.
            raise RequestTimeout(message, request_sent=True)
        if self._answer_deadline == math.inf:
            self._sent(scope)  # answered before the body was all taken
        return response

    def whole_answer_deadline(self) -> float:
        """By when an answer read whole from now on must have arrived, on anyio's clock.

        An error answer is read whole even in a streamed call: it gets
        ``read`` seconds from now.
        """
        if self._whole_answer:
            return self._answer_deadline
        read = self._timeout.read
        return math.inf if read is None else anyio.current_time() + read

    async def _close_uploads(self) -> None:
        uploads, self._uploads = self._uploads, []
        with anyio.CancelScope(shield=True):
            for upload in uploads:
                # A body may still be running in a task of the transport's own
                # (aiohttp writes bodies in one, and cancels it): it finishes its
                # step (a file read, say) and stops at a yield, where it can be
                # closed. A step that never ends is left to the garbage collector.
                for _ in range(_CLOSE_POLLS):
                    if not getattr(upload, "ag_running", False):
                        break
                    await anyio.sleep(_CLOSE_POLL)
                with contextlib.suppress(RuntimeError):  # still running: see above
                    await upload.aclose()


async def read_whole(
    response: Response, *, limit: int, deadline: float, truncate: bool = False
) -> bytes:
    """Read an answer whole: at most ``limit`` bytes, by ``deadline`` (anyio's clock).

    The connection is released when the body was read to its end, and
    dropped otherwise: a server sending too much stops at once.

    Args:
        response: The answer, its body unread.
        limit: The most bytes to read.
        deadline: When to give up.
        truncate: Past ``limit``, keep the first ``limit`` bytes instead of
            refusing the answer (an error answer: its status matters most).

    Raises:
        ResponseDecodeError: The answer is (or announces itself) larger than ``limit``.
        RequestTimeout: It did not arrive whole by ``deadline``.
        TransportError: The connection broke.
    """
    declared = response.content_length
    if declared is not None and declared > limit and not truncate:
        with anyio.CancelScope(shield=True):
            await response.aclose()
        raise ResponseDecodeError(
            f"the answer announces {declared} bytes, more than max_answer_size ({limit})"
        )
    with anyio.CancelScope(deadline=deadline) as scope:
        if declared is not None and declared <= limit and hasattr(response.stream, "read"):
            # One read is the fastest way to take a small answer. Only a
            # transport that reads whole bodies offers it (aiohttp), and it stops
            # at the Content-Length (aiohttp refuses one beside chunked
            # encoding; h11, which lets chunked win, goes through the loop below).
            body = await response.read()
            if len(body) <= limit:
                return body
            raise ResponseDecodeError(_too_large(limit))
        return await _read_at_most(response, limit, truncate=truncate)
    assert scope.cancelled_caught
    raise RequestTimeout(
        "the answer did not arrive whole within the read timeout", request_sent=True
    )


async def _read_at_most(response: Response, limit: int, *, truncate: bool) -> bytes:
    parts: list[bytes] = []
    received = 0
    chunks = response.stream.iter_chunks(min(_CHUNK, limit + 1))
    try:
        async for chunk in chunks:
            parts.append(chunk)
            received += len(chunk)
            if received > limit:
                break
    finally:
        # Shielded: a deadline that passed must not skip releasing the connection.
        with anyio.CancelScope(shield=True):
            try:
                await aclose_iterator(chunks)
            finally:
                await response.stream.aclose()
    body = b"".join(parts)
    if received <= limit:
        return body
    if truncate:
        return body[:limit]
    raise ResponseDecodeError(_too_large(limit))


def _too_large(limit: int) -> str:
    return f"the answer is larger than max_answer_size ({limit} bytes)"
