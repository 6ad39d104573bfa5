"""A transport on httpx, for trio (through anyio) as well as asyncio.

Installed with the ``[httpx]`` extra; nothing else in the package imports
httpx, so the SDK works without it.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncGenerator, AsyncIterator
from typing import cast

import anyio
from multidict import CIMultiDict

from .._core.errors import ConnectError, RequestTimeout, TransportError
from .._core.timeouts import Timeout
from .._core.transport import Request, Response, StreamBody, aclose_iterator
from .._core.urls import redact_urls
from ._network import Verify, check_proxy, ssl_context

try:
    import httpx
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "HttpxTransport needs httpx: install it with pip install 'signing-async[httpx]'"
    ) from exc

__all__ = ["HttpxTransport"]

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
"""Like the aiohttp transport's pool: 100 connections, all of them kept alive
(httpx keeps only 20 by default, which makes a bulk run reconnect constantly)."""


def _transport_error(exc: Exception) -> TransportError:
    """Translate an httpx failure into the SDK's own, keeping what matters for retries.

    The caller raises it outside its ``except`` block, never chained: every
    httpx error holds its ``request``, headers and credentials included.
    """
    # The library's words may quote the URL whole, query string and all.
    text = redact_urls(str(exc) or type(exc).__name__)
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return RequestTimeout(f"connect timed out: {text}", request_sent=False)
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeout(f"timed out waiting for the server: {text}")
    if isinstance(exc, TimeoutError):
        return RequestTimeout("the total deadline passed")
    if isinstance(exc, httpx.ConnectError):
        return ConnectError(f"could not connect: {text}")
    return TransportError(f"connection failed: {text}")


def _httpx_timeout(timeout: Timeout) -> httpx.Timeout:
    # Waiting for a pooled connection is not bounded, as with aiohttp: under a
    # bulk load it is a queue, not a stall. (The core bounds a stalled upload
    # too, on every transport; httpx's own write timeout only says it sooner.)
    return httpx.Timeout(connect=timeout.connect, read=timeout.read, write=timeout.write, pool=None)


class _RequestBody(httpx.AsyncByteStream):
    """A streamed request body, handed to httpx as the iterator it is.

    Given a plain async iterable, httpx wraps it in an async generator of its
    own, which nothing closes when the request is cancelled (trio warns about
    each such generator the garbage collector finds).
    """

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks

    async def aclose(self) -> None:
        await aclose_iterator(self._chunks)


class _HttpxStream:
    """The body of an httpx response, mapped onto the SDK's errors."""

    __slots__ = ("_deadline", "_response")

    def __init__(self, response: httpx.Response, deadline: float) -> None:
        self._response = response
        self._deadline = deadline

    async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
        # aiter_raw is an async generator; it is closed explicitly, not left to the GC.
        chunks = cast("AsyncGenerator[bytes, None]", self._response.aiter_raw(size))
        error: TransportError | None = None
        try:
            while True:
                # The total deadline is checked around each read, never across a
                # ``yield``: a cancel scope must not stay open while the caller runs.
                with anyio.fail_after(self._deadline - anyio.current_time()):
                    try:
                        chunk = await chunks.__anext__()
                    except StopAsyncIteration:
                        return
                yield chunk
        except (httpx.TransportError, TimeoutError) as exc:
            error = _transport_error(exc)
        finally:
            await chunks.aclose()
        if error is not None:
            raise error

    async def aclose(self) -> None:
        # httpcore returns a fully read connection to the pool and closes one
        # whose body is unread, which is what an early close needs.
        await self._response.aclose()


class HttpxTransport:
    """Sends requests with an :class:`httpx.AsyncClient`; runs on asyncio and trio.

    Needs the ``[httpx]`` extra. The client is created lazily, on the first
    request. A client passed in is used as it is (its proxies, certificates
    and limits) and never closed by the transport. One the transport creates
    honours ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` and
    ``SSL_CERT_FILE`` unless ``trust_env=False``, like :class:`AiohttpTransport`.

    Example:
        >>> transport = HttpxTransport()
        >>> async with SigningClient(danaconnect=config, transport=transport) as client:
        ...     ...

    Args:
        client: An existing client to use; the caller keeps owning it.
        limits: The connection pool of a client the transport creates
            (100 connections, all kept alive, by default). A bulk run with a
            higher ``concurrency`` grows it to match.
        proxy: A proxy URL (``http://user:pass@proxy:3128``) for every request.
        verify: ``True``, a CA bundle's path, or an :class:`ssl.SSLContext`.
        trust_env: Read proxies, ``SSL_CERT_FILE`` and ``.netrc`` from the environment.

    Raises:
        ConfigurationError: A proxy that is not an http(s) URL, ``verify=False``,
            or a CA bundle that cannot be read.
    """

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        limits: httpx.Limits | None = None,
        proxy: str | None = None,
        verify: Verify = True,
        trust_env: bool = True,
    ) -> None:
        self._client = client
        self._owns_client = client is None
        self._limits = limits or DEFAULT_LIMITS
        self._proxy = check_proxy(proxy)
        self._trust_env = trust_env
        # Built now, so a bad bundle is reported when the client is configured.
        self._ssl = ssl_context(verify, trust_env=trust_env) if client is None else None

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                limits=self._limits,
                # Each request carries its own timeouts (see send); retries are the SDK's.
                timeout=None,  # noqa: S113 - overridden on every request
                follow_redirects=False,
                proxy=self._proxy,
                verify=self._ssl or True,
                trust_env=self._trust_env,
            )
        return self._client

    def ensure_connections(self, count: int) -> None:
        """Make room for ``count`` requests in flight at once (a bulk run's concurrency).

        The pool of a client the transport created grows to ``count``. A
        client passed in is the caller's: if its pool is smaller, a
        :class:`RuntimeWarning` says so, and what to change.
        """
        # httpx has no public way to read or change a live client's pool: its
        # httpcore pool is reached through private attributes, where present.
        pool = getattr(getattr(self._client, "_transport", None), "_pool", None)
        if self._owns_client:
            if self._limits.max_connections is not None and count > self._limits.max_connections:
                keep_alive = max(self._limits.max_keepalive_connections or 0, count)
                self._limits = httpx.Limits(
                    max_connections=count,
                    max_keepalive_connections=keep_alive,
                    keepalive_expiry=self._limits.keepalive_expiry,
                )
                if pool is not None and hasattr(pool, "_max_connections"):
                    pool._max_connections = count
                    pool._max_keepalive_connections = keep_alive
            return
        size = getattr(pool, "_max_connections", None)
        if isinstance(size, int) and size < count:
            warnings.warn(
                f"concurrency {count} is more than the {size} connections of the httpx client"
                f" passed to HttpxTransport: at most {size} requests will be in flight."
                f" Create it with httpx.AsyncClient(limits=httpx.Limits(max_connections={count}))"
                ", or lower the concurrency",
                RuntimeWarning,
                stacklevel=2,
            )

    async def send(self, request: Request) -> Response:
        """Send one request; see :class:`~signing_async.transports.Transport`."""
        body = request.body
        # Bodies go out as the bytes given: no compression negotiated behind the
        # core's back, so Content-Length checks and decoding see the real body.
        headers = httpx.Headers({"Accept-Encoding": "identity"})
        headers.update(request.headers)
        streamed: _RequestBody | None = None
        content: bytes | None = None
        if isinstance(body, StreamBody):
            # A known length means a Content-Length body, never chunked encoding.
            headers.setdefault("Content-Length", str(body.length))
            streamed = _RequestBody(body.open())
        else:
            content = body or None
        client = self._get_client()
        outgoing = client.build_request(
            request.method,
            request.url,
            headers=headers,
            content=content,
            timeout=_httpx_timeout(request.timeout),
        )
        if streamed is not None:
            outgoing.stream = streamed
        total = request.timeout.total
        deadline = anyio.current_time() + total if total is not None else float("inf")
        try:
            with anyio.fail_after(total):
                response = await client.send(outgoing, stream=True, follow_redirects=False)
        except BaseException as exc:
            if streamed is not None:
                with anyio.CancelScope(shield=True):
                    await streamed.aclose()  # what the transport opened, it finishes
            if not isinstance(exc, httpx.TransportError | TimeoutError):
                raise
            error = _transport_error(exc)
        else:
            return Response(
                response.status_code,
                headers=CIMultiDict(response.headers.multi_items()),
                stream=_HttpxStream(response, deadline),
            )
        raise error

    async def aclose(self) -> None:
        """Close the client if the transport created it. Calling it twice is harmless."""
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
