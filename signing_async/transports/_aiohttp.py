"""The default transport, on aiohttp."""

from __future__ import annotations

import asyncio
import functools
import warnings
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

import aiohttp
import attrs
from aiohttp.helpers import basicauth_from_netrc, get_env_proxy_for_url, netrc_from_env
from yarl import URL

from .._core.errors import ConfigurationError, ConnectError, RequestTimeout, TransportError
from .._core.timeouts import Timeout
from .._core.transport import Request, Response, StreamBody, aclose_iterator
from .._core.urls import redact_urls
from ._deadlines import Deadline, DeadlinePassed, Deadlines
from ._network import Verify, check_proxy, ssl_context

__all__ = ["AiohttpTransport"]

T = TypeVar("T")

READ_BUFSIZE = 1 << 20
"""aiohttp's default 64 KiB read buffer caps download speed; 1 MiB does not."""

GATHER_LIMIT = 64 * 1024
"""Stream bodies up to this size are gathered into bytes before sending.

aiohttp writes each piece of a streamed body with a system call of its own;
for a small JSON body (a prefix, the Base64, a suffix) those calls cost more
than the rest of the request. Gathered, headers and body go out together.
"""


@functools.lru_cache(maxsize=64)
def _client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    """aiohttp's twin of ``timeout``, without its total (kept by :class:`Deadlines`).

    Built once per value: a client uses a handful.
    """
    return aiohttp.ClientTimeout(total=None, sock_connect=timeout.connect, sock_read=timeout.read)


def _deadline_error() -> RequestTimeout:
    return RequestTimeout("timed out waiting for the server: the total deadline passed")


_NO_CONTENT_TYPE = ("Content-Type",)


def _has_header(headers: dict[str, str], lowered: str) -> bool:
    return any(name.lower() == lowered for name in headers)


async def _gather(body: StreamBody) -> bytes:
    chunks = body.open()
    try:
        return b"".join([chunk async for chunk in chunks])
    finally:
        await aclose_iterator(chunks)  # left early (cancelled): finish it now, not in the GC


def _transport_error(exc: BaseException) -> TransportError:
    """Translate an aiohttp failure into the SDK's own, keeping what matters for retries.

    The caller raises it outside its ``except`` block, never chained: aiohttp's
    errors can hold the request (a ``ClientResponseError``'s ``request_info``
    carries its headers, credentials included).
    """
    # The library's words may quote the URL whole, query string and all.
    text = redact_urls(str(exc) or type(exc).__name__)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return RequestTimeout(f"connect timed out: {text}", request_sent=False)
    if isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return RequestTimeout(f"timed out waiting for the server: {text}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ConnectError(f"could not connect: {text}")
    return TransportError(f"connection failed: {text}")


@attrs.frozen
class _Route:
    """What the environment says about one origin: its proxy, and .netrc credentials."""

    proxy: URL | None = None
    proxy_headers: dict[str, str] | None = None
    authorization: str | None = None


_DIRECT = _Route()


def _origin(url: str) -> str:
    """``scheme://host:port`` of an absolute URL, cheaply (the key of the route memo)."""
    start = url.find("//") + 2
    end = url.find("/", start)
    return url if end < 0 else url[:end]


def _env_route(origin: str) -> _Route:
    """Read the environment as aiohttp's ``trust_env`` does (it reads files: run in a thread)."""
    url = URL(origin)
    try:
        proxy, proxy_auth = get_env_proxy_for_url(url)
    except LookupError:  # no proxy for this scheme, or NO_PROXY names the host
        proxy, proxy_auth = None, None
    try:
        auth = basicauth_from_netrc(netrc_from_env(), url.host or "")
    except LookupError:  # no .netrc, or no entry for the host
        auth = None
    if proxy is None and auth is None:
        return _DIRECT
    # Sent as headers: aiohttp 3.14 deprecates its auth= and proxy_auth= arguments.
    return _Route(
        proxy,
        {"Proxy-Authorization": proxy_auth.encode()} if proxy_auth is not None else None,
        auth.encode() if auth is not None else None,
    )


class _AiohttpStream:
    """The body of an aiohttp response, mapped onto the SDK's errors.

    With a total deadline, each wait for the body is under it (the timer
    cancels only those waits), and the deadline is let go once the body is
    read or closed.
    """

    __slots__ = ("_deadline", "_deadlines", "_response")

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        deadlines: Deadlines,
        deadline: Deadline | None,
    ) -> None:
        self._response = response
        self._deadlines = deadlines
        self._deadline = deadline

    def _finish(self) -> None:
        if self._deadline is not None:
            self._deadlines.finish(self._deadline)

    async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
        # The pieces as the socket delivered them (readchunk), not joined into
        # ``size``-byte chunks (iter_chunked): joining copies every byte once
        # more, measured at a tenth of a download's CPU time. Only a piece
        # larger than ``size`` is cut.
        content = self._response.content
        if content.at_eof():
            # No body (204, 304, HEAD): aiohttp's shared empty reader, whose
            # readchunk() says "chunk boundary" forever once anyone has read it.
            self._finish()
            return
        # Let aiohttp buffer ``size`` bytes before it pauses the socket, as
        # iter_chunked(size) would (the method is missing from older aiohttp).
        set_read_chunk_size = getattr(content, "set_read_chunk_size", None)
        if set_read_chunk_size is not None:
            set_read_chunk_size(size)
        error: TransportError | None = None
        try:
            while True:
                chunk, end_of_http_chunk = await self._wait(content.readchunk())
                if not chunk:
                    if end_of_http_chunk and not content.at_eof():
                        continue  # a chunked body's boundary, not its end
                    return
                if len(chunk) <= size:
                    yield chunk
                else:
                    for start in range(0, len(chunk), size):
                        yield chunk[start : start + size]
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            error = _transport_error(exc)
        finally:
            self._finish()
        if error is not None:
            raise error

    async def read(self) -> bytes:
        try:
            body = await self._wait(self._response.read())
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            error = _transport_error(exc)
        else:
            self._response.release()  # read to the end: back to the pool
            return body
        finally:
            self._finish()
        raise error

    async def _wait(self, waiting: Coroutine[Any, Any, T]) -> T:
        """Await a read of the body under the total deadline, if there is one."""
        if self._deadline is None:
            return await waiting
        try:
            return await self._deadline.wait(waiting)
        except DeadlinePassed:
            pass
        # Drop the connection, the answer half read.
        self._finish()
        self._response.close()
        raise _deadline_error()

    async def aclose(self) -> None:
        self._finish()
        if self._response.content.at_eof():
            self._response.release()
        else:
            # An unread body cannot be handed back to the pool: drop the connection.
            self._response.close()


class AiohttpTransport:
    """Sends requests with an :class:`aiohttp.ClientSession` (asyncio only).

    The session is created lazily, on the first request, inside the running
    event loop (aiohttp ties a session to its loop). A session passed in is
    used as it is and never closed by the transport.

    Proxies and certificates (for a session the transport creates): the
    environment's ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` are honoured
    unless ``trust_env=False``; ``proxy=`` sends every request through one
    proxy; ``verify=`` names a CA bundle or gives an :class:`ssl.SSLContext`
    (by default the system's certificates, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``).

    Example:
        >>> AiohttpTransport(proxy="http://proxy.corp:3128", verify="/etc/corp-ca.pem")

    Args:
        session: An existing session to use; the caller keeps owning it (and
            its proxy and certificate settings).
        limit: The connection pool size when the transport creates the session
            (100, aiohttp's default): at most this many requests in flight at
            once. A bulk run with a higher ``concurrency`` grows it to match.
        read_bufsize: The read buffer of a session the transport creates.
        proxy: A proxy URL (``http://user:pass@proxy:3128``) for every request.
        verify: ``True``, a CA bundle's path, or an :class:`ssl.SSLContext`.
        trust_env: Read proxies, ``SSL_CERT_FILE`` and ``.netrc`` from the environment
            (proxies and ``.netrc`` once per origin, at its first request).

    Raises:
        ConfigurationError: A proxy that is not an http(s) URL, ``verify=False``,
            or a CA bundle that cannot be read.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        limit: int = 100,
        read_bufsize: int = READ_BUFSIZE,
        proxy: str | None = None,
        verify: Verify = True,
        trust_env: bool = True,
    ) -> None:
        self._session = session
        self._owns_session = session is None
        self._limit = limit
        self._read_bufsize = read_bufsize
        self._proxy = check_proxy(proxy)
        self._trust_env = trust_env
        # Built now, so a bad bundle is reported when the client is configured.
        self._ssl = ssl_context(verify, trust_env=trust_env) if session is None else None
        # The environment's proxy and .netrc, read once per origin: aiohttp's
        # own trust_env reads them (two files) in two worker threads for every
        # request, which costs more CPU than the rest of a small request.
        self._routes: dict[str, _Route] = {}
        # The last Timeout seen and aiohttp's twin: nearly every request of a
        # client carries the same one, and an identity check beats hashing it.
        self._timeout: Timeout | None = None
        self._client_timeout = aiohttp.ClientTimeout()
        self._deadlines = Deadlines()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                # Under trio, aiohttp would only say "no running event loop".
                raise ConfigurationError(
                    "AiohttpTransport runs on asyncio only; under trio pass "
                    "transport=HttpxTransport() (pip install 'signing-async[httpx]')"
                ) from None
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit, ssl=self._ssl or True),
                proxy=self._proxy,
                # The environment is read by the transport, once per origin (_route).
                trust_env=False,
                read_bufsize=self._read_bufsize,
                auto_decompress=False,
                # The SDK decides what to retry and how to time out; aiohttp should not.
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    def ensure_connections(self, count: int) -> None:
        """Make room for ``count`` requests in flight at once (a bulk run's concurrency).

        The pool of a session the transport created grows to ``count``. A
        session passed in is the caller's: if its pool is smaller, a
        :class:`RuntimeWarning` says so, and what to change.
        """
        if self._owns_session:
            if self._limit and count > self._limit:  # 0 is no limit at all
                self._limit = count
                if self._session is not None:
                    # aiohttp has no setter; its connector reads the limit on every
                    # acquire, so raising it lets the new requests open connections.
                    self._session.connector._limit = count  # type: ignore[union-attr]
            return
        assert self._session is not None
        connector = self._session.connector
        limits = [] if connector is None else [connector.limit, connector.limit_per_host]
        pool = min((limit for limit in limits if limit), default=0)
        if pool and pool < count:
            warnings.warn(
                f"concurrency {count} is more than the {pool} connections of the aiohttp"
                f" session passed to AiohttpTransport: at most {pool} requests will be in"
                f" flight. Create the session with aiohttp.TCPConnector(limit={count})"
                " (and limit_per_host=0), or lower the concurrency",
                RuntimeWarning,
                stacklevel=2,
            )

    async def _route(self, url: str) -> _Route:
        if not self._trust_env or self._proxy is not None or not self._owns_session:
            return _DIRECT  # no environment, one proxy for all, or the caller's session decides
        origin = _origin(url)
        route = self._routes.get(origin)
        if route is None:
            route = self._routes[origin] = await asyncio.to_thread(_env_route, origin)
        return route

    async def send(self, request: Request) -> Response:
        """Send one request; see :class:`~signing_async.transports.Transport`."""
        session = self._get_session()  # first: under trio it says what to use instead
        route = await self._route(request.url)
        timeout = request.timeout
        if timeout is not self._timeout:
            self._timeout, self._client_timeout = timeout, _client_timeout(timeout)
        # Taken now: a concurrent request may replace the memo while this one
        # gathers its body below.
        client_timeout = self._client_timeout
        body = request.body
        # Bodies come back as the server sent them (the session does not
        # decompress), so no compressed answer may be negotiated behind the
        # core's back: Content-Length checks and decoding need the real bytes.
        headers = {"Accept-Encoding": "identity", **request.headers}
        if route.authorization is not None and not _has_header(headers, "authorization"):
            # .netrc credentials, only where the SDK set no Authorization of its own.
            headers["Authorization"] = route.authorization
        data: bytes | AsyncIterator[bytes] | None
        if isinstance(body, StreamBody):
            # aiohttp sends an async iterator chunked unless told its length.
            headers.setdefault("Content-Length", str(body.length))
            data = await _gather(body) if body.length <= GATHER_LIMIT else body.open()
        else:
            data = body or None
        # aiohttp labels a body without a Content-Type application/octet-stream;
        # the transport only moves bytes, so it must not. (Asked for only when it
        # matters: skip_auto_headers costs as much as a tenth of a small request.)
        skip = (
            _NO_CONTENT_TYPE
            if data is not None
            and "Content-Type" not in headers  # the usual spelling, checked first
            and not _has_header(headers, "content-type")
            else ()
        )
        deadline = None if timeout.total is None else self._deadlines.start(timeout.total)
        answered = False
        try:
            requesting = session.request(
                request.method,
                request.url,
                headers=headers,
                data=data,
                timeout=client_timeout,
                allow_redirects=False,
                skip_auto_headers=skip or None,
                proxy=route.proxy,
                proxy_headers=route.proxy_headers,
            )
            response = await (requesting if deadline is None else deadline.wait(requesting))
            answered = True  # the deadline now watches the body (_AiohttpStream)
        except DeadlinePassed:
            error: TransportError = _deadline_error()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            error = _transport_error(exc)
        finally:
            # Whatever ended the wait (an outside cancellation, any error), a
            # deadline left behind would later cancel the caller's other code.
            if deadline is not None and not answered:
                self._deadlines.finish(deadline)
        if not answered:
            raise error
        stream = _AiohttpStream(response, self._deadlines, deadline)
        return Response(response.status, headers=response.headers, stream=stream)

    async def aclose(self) -> None:
        """Close the session if the transport created it. Calling it twice is harmless.

        A session passed in stays in use: forgetting it would make the next
        request create a session of the transport's own that nobody closes.
        """
        self._deadlines.close()
        if self._owns_session and self._session is not None:
            session, self._session = self._session, None
            await session.close()
