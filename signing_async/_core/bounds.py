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

import asyncio
import contextlib
import functools
import math
from collections.abc import AsyncGenerator

import anyio
import attrs

from .errors import ConfigurationError, RequestTimeout, ResponseDecodeError, TransportError
from .settings import MAX_SECONDS
from .timeouts import Timeout
from .transport import (
    Request,
    RequestBody,
    Response,
    StreamBody,
    Transport,
    aclose_iterator,
)
from .validation import shown

__all__ = [
    "DEFAULT_MAX_ANSWER_SIZE",
    "ERROR_BODY_LIMIT",
    "AnswerTooLarge",
    "ExchangeClock",
    "check_answer_size",
    "read_bounded",
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
            f"max_answer_size must be a positive number of bytes, not {shown(value)}"
        )
    return value


class ExchangeClock:
    """The deadlines of a call's attempts, beyond the transport's socket timeouts.

    For each attempt, :meth:`attempt` watches the body and :meth:`send` runs
    the transport. An answer read whole is read within the attempt, so a
    slow or endless one fails its attempt (and is retried where the retry
    policy allows it); a streamed answer (a download) has no deadline on the
    whole and keeps per-read timeouts only.

    A small request (most calls) needs no clock of the core's: the deadline
    of its answer is the transport's ``total`` timeout, ``connect + read``
    (or less, if ``total`` says so), which both transports keep with the
    timers they run anyway. An upload is watched by a cancel scope whose
    deadline moves: ``write`` seconds after the last progress, then, once
    the body is handed over, the deadline of the answer. The body generators
    an attempt opened are closed when it fails or is cancelled, not left to
    the garbage collector (trio warns about each).

    Args:
        answer_limit: For an answer read whole, its largest size in bytes;
            None for a streamed answer.
        what: Names the call in messages (``"DANAsign get template 7"``).
    """

    def __init__(self, *, answer_limit: int | None = None, what: str = "") -> None:
        self._answer_limit = answer_limit
        self._what = what
        self._timeout = _DEFAULT_TIMEOUT
        self.request_timeout = _DEFAULT_TIMEOUT
        self._scope: anyio.CancelScope | None = None
        self._watched = False
        self._uploading = False
        self._uploads: list[AsyncGenerator[bytes, None]] = []
        self._answer_deadline = math.inf

    def attempt(self, body: RequestBody, timeout: Timeout) -> RequestBody:
        """Start the clock of a new attempt; return ``body``, watched for progress.

        ``request_timeout`` is then the timeout to hand the transport.
        """
        self._timeout = self.request_timeout = timeout
        self._uploading = False
        self._uploads = []
        self._answer_deadline = math.inf
        if not isinstance(body, StreamBody):
            if len(body) <= _SMALL_BODY:
                self._watched = False
                if self._answer_limit is not None:
                    self.request_timeout = _whole_answer_timeout(timeout)
                return body
            # Large bytes are sent in pieces too, so that their progress shows.
            body = StreamBody(len(body), functools.partial(_pieces, body))
        self._watched = True
        self._scope = anyio.CancelScope()
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
            scope.deadline = _now() + write

    def _sent(self, scope: anyio.CancelScope) -> None:
        if scope is not self._scope:
            return
        self._uploading = False
        read = self._timeout.read
        if self._answer_limit is not None and read is not None:
            # The connection may still have to be made (a body sent in one
            # piece is handed over before connecting): that time is allowed on top.
            self._answer_deadline = _now() + read + (self._timeout.connect or 0.0)
        scope.deadline = self._answer_deadline

    async def send(self, transport: Transport, request: Request) -> Response:
        """Send ``request`` through ``transport`` under this attempt's deadlines.

        An answer read whole comes back read, its body in memory; a streamed
        one comes back unread.

        Raises:
            RequestTimeout: The upload stalled, or no whole answer came in time.
            ResponseDecodeError: A successful answer larger than the limit.
            TransportError: The transport failed, the answer's body included.
        """
        if not self._watched:
            response = await transport.send(request)
            if self._answer_limit is not None:
                response = await self._read(response, self._answer_limit)
            return response
        scope = self._scope
        assert scope is not None, "attempt() first"
        try:
            with scope:
                response = await transport.send(request)
                if self._answer_limit is not None:
                    if self._answer_deadline == math.inf:
                        self._sent(scope)  # answered before the body was all taken
                    response = await self._read(response, self._answer_limit)
        except BaseException:
            await self._close_uploads()
            raise
        if scope.cancelled_caught:
            await self._close_uploads()
            if self._uploading:
                message = f"the upload made no progress for {self._timeout.write} s"
            else:
                message = f"no whole answer within the read timeout ({self._timeout.read} s)"
            # Part of the request went out: whether the server acted is unknown.
            raise RequestTimeout(message, request_sent=True)
        return response

    async def _read(self, response: Response, limit: int) -> Response:
        if 200 <= response.status < 300:
            try:
                body = await read_bounded(response, limit)
            except AnswerTooLarge as exc:
                raise ResponseDecodeError(f"{self._what}: {exc}") from None
        else:
            try:
                body = await read_bounded(response, min(ERROR_BODY_LIMIT, limit), truncate=True)
            except TransportError:
                body = b""  # the status still says what happened
        return Response(response.status, headers=response.headers, content=body)

    async def error_body(self, response: Response) -> bytes:
        """The body of an error answer, at most :data:`ERROR_BODY_LIMIT` bytes of it.

        An answer read whole is in memory already; a streamed call's error
        answer is read now, and must arrive within ``read`` seconds.

        Raises:
            TransportError: The connection broke, or the deadline passed.
        """
        if self._answer_limit is not None:
            return await response.read()
        read = self._timeout.read
        with anyio.move_on_after(read) as scope:
            return await read_bounded(response, ERROR_BODY_LIMIT, truncate=True)
        assert scope.cancelled_caught
        raise RequestTimeout("no whole error answer within the read timeout")

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


_DEFAULT_TIMEOUT = Timeout()


@functools.lru_cache(maxsize=64)
def _whole_answer_timeout(timeout: Timeout) -> Timeout:
    """``timeout`` with a total of at most ``connect + read``: the answer's deadline.

    Cached, so a client's calls hand their transport one same object (the
    aiohttp transport recognises it by identity).
    """
    if timeout.read is None:
        return timeout
    # Within what a Timeout may hold: read and connect may each be at the limit.
    total = min(timeout.read + (timeout.connect or 0.0), MAX_SECONDS)
    if timeout.total is not None and timeout.total <= total:
        return timeout
    return attrs.evolve(timeout, total=total)


def _now() -> float:
    """anyio's clock, read the cheap way on asyncio (it is the loop's own)."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return anyio.current_time()  # trio


class AnswerTooLarge(ValueError):
    """An answer is larger than the limit it is read under."""


async def read_bounded(response: Response, limit: int, *, truncate: bool = False) -> bytes:
    """Read an answer whole, at most ``limit`` bytes of it.

    The connection is released when the body was read to its end, and
    dropped otherwise: a server sending too much is cut off at once.

    Args:
        response: The answer, its body unread.
        limit: The most bytes to read.
        truncate: Past ``limit``, keep the first ``limit`` bytes instead of
            refusing the answer (an error answer: its status matters most).

    Raises:
        AnswerTooLarge: The answer is (or announces itself) larger than ``limit``.
        TransportError: The connection broke.
    """
    declared = response.content_length
    if declared is not None and declared > limit and not truncate:
        with anyio.CancelScope(shield=True):
            await response.aclose()
        raise AnswerTooLarge(
            f"the answer announces {declared} bytes, more than max_answer_size ({limit})"
        )
    if declared is not None and declared <= limit and hasattr(response.stream, "read"):
        # One read is the fastest way to take a small answer. Only a transport
        # that reads whole bodies offers it (aiohttp), and it stops at the
        # Content-Length (aiohttp refuses one beside chunked encoding; h11,
        # which lets chunked win, goes through the loop below).
        body = await response.read()
        if len(body) <= limit:
            return body
        raise AnswerTooLarge(_too_large(limit))
    # One byte more than the limit tells "larger" from "exactly the limit";
    # Response.read stops there and releases the connection, even when cancelled.
    body = await response.read(limit + 1)
    if len(body) <= limit:
        return body
    if truncate:
        return body[:limit]
    raise AnswerTooLarge(_too_large(limit))


def _too_large(limit: int) -> str:
    return f"the answer is larger than max_answer_size ({limit} bytes)"
