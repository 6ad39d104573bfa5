"""A transport written from scratch: the whole contract in a few dozen lines.

It sends with a caller-owned ``aiohttp.ClientSession`` and maps failures onto
the SDK's errors; the SDK does auth, retries, error mapping and decoding.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp

import signing_async as sa
from signing_async.transports import Request, Response, StreamBody


class _Body:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(size):
                yield chunk
        except aiohttp.ClientError as exc:  # the connection broke mid-body
            message = str(exc)
        else:
            return
        raise sa.TransportError(message)  # unchained: see send()

    async def aclose(self) -> None:
        self._response.close()  # also fine for an unread body: the connection is dropped


class SessionTransport:
    """Sends with a session the caller owns (and closes)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def send(self, request: Request) -> Response:
        headers, data = dict(request.headers), request.body or None
        if isinstance(request.body, StreamBody):  # replayable: a fresh iterator per attempt
            headers["Content-Length"] = str(request.body.length)
            data = request.body.open()
        timeout = aiohttp.ClientTimeout(  # total: the deadline the SDK sets on a small answer
            sock_connect=request.timeout.connect,
            sock_read=request.timeout.read,
            total=request.timeout.total,
        )
        error: sa.TransportError
        try:
            response = await self._session.request(
                request.method,
                request.url,
                headers=headers,
                data=data,
                timeout=timeout,
                allow_redirects=False,
            )
        except aiohttp.ClientConnectorError as exc:
            error = sa.ConnectError(str(exc))  # never reached the server: safe to retry
        except asyncio.TimeoutError as exc:  # TimeoutError itself from Python 3.11 on
            error = sa.RequestTimeout(str(exc) or "timed out")
        except aiohttp.ClientError as exc:
            error = sa.TransportError(str(exc))  # may have reached it: not replayed
        else:
            return Response(response.status, headers=response.headers, stream=_Body(response))
        # Raised outside the except blocks, so nothing chains aiohttp's error to
        # ours: it holds the request's headers, credentials included.
        raise error

    async def aclose(self) -> None:
        """Nothing to release: the session is the caller's."""
