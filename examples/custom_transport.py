"""A transport written from scratch: the whole contract in about 30 lines.

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
            raise sa.TransportError(str(exc)) from exc

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
        timeout = aiohttp.ClientTimeout(
            sock_connect=request.timeout.connect, sock_read=request.timeout.read
        )
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
            raise sa.ConnectError(str(exc)) from exc  # never reached the server: safe to retry
        except asyncio.TimeoutError as exc:  # TimeoutError itself from Python 3.11 on
            raise sa.RequestTimeout(str(exc)) from exc
        except aiohttp.ClientError as exc:
            raise sa.TransportError(str(exc)) from exc  # may have reached it: not replayed
        return Response(response.status, headers=response.headers, stream=_Body(response))

    async def aclose(self) -> None:
        """Nothing to release: the session is the caller's."""
