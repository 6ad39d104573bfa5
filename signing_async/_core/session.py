"""The core session: one per client, shared by every provider.

It owns the transport, the retry policy, the timeouts and the token caches,
and runs each API call through the same loop: authenticate, send, map the
error, and decide whether a retry is safe. Nothing here knows a provider by
name; providers describe each call with a :class:`Call`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
import attrs

from .auth import NO_AUTH, Auth
from .bounds import DEFAULT_MAX_ANSWER_SIZE, ExchangeClock, check_answer_size
from .error_mapping import ErrorMapper
from .errors import (
    APIError,
    ConfigurationError,
    ResponseDecodeError,
    SigningError,
    TransportError,
    ValidationError,
)
from .json_codec import loads
from .observe import current_observer, metered
from .retry import IDEMPOTENT_METHODS, RetryPolicy, next_step, retry_after_seconds
from .timeouts import Timeout
from .tokens import Fetch, MemoryTokenStore, TokenCache, TokenStore
from .transport import Request, RequestBody, Response, StreamBody, Transport
from .urls import redact_url

__all__ = ["Call", "CoreSession"]

logger = logging.getLogger("signing_async")


# Not frozen: a frozen attrs class sets each of these twelve fields through
# object.__setattr__, which made building a Call a noticeable part of a small
# request. Nothing changes a Call once built; the session only reads it.
@attrs.define
class Call:
    """One API operation, as a provider describes it to the session.

    Attributes:
        provider: The provider's display name, for messages.
        operation: What is being done, for messages (``create document 42``).
        method: The HTTP method.
        url: The absolute URL.
        errors: How the provider's error answers map to exceptions.
        headers: Headers besides the credentials.
        body: The request body.
        auth: The provider's auth strategy.
        timeout: Overrides the client's timeouts for this call.
        retry: Overrides the client's retry policy for this call.
        idempotent: Whether replaying the call after it may have reached the
            server is harmless; by default true for GET, HEAD, OPTIONS, PUT, DELETE.
        secret_answer: The answer carries credentials (a token endpoint's): an
            error about it never quotes it.
        max_answer_size: Overrides the client's cap on an answer read whole.
    """

    provider: str
    operation: str
    method: str
    url: str
    errors: ErrorMapper
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    body: RequestBody = attrs.field(default=b"", repr=False)
    auth: Auth = attrs.field(default=NO_AUTH, repr=False)
    timeout: Timeout | None = None
    retry: RetryPolicy | None = None
    idempotent: bool | None = None
    secret_answer: bool = False
    max_answer_size: int | None = None

    def __attrs_post_init__(self) -> None:
        # Every public method passes its ``timeout=`` argument through here:
        # one check instead of one per method, before anything is sent.
        if self.timeout is not None and not isinstance(self.timeout, Timeout):
            raise ValidationError(
                "timeout", f"expected a Timeout or None, not {type(self.timeout).__name__}"
            )

    @property
    def is_idempotent(self) -> bool:
        """Whether the call may be replayed after it may have reached the server."""
        if self.idempotent is not None:
            return self.idempotent
        return self.method in IDEMPOTENT_METHODS


def _not_json(call: Call) -> str:
    return f"{call.provider} {call.operation}: the answer is not JSON"


def _running_loop() -> object:
    """The event loop running now: asyncio's, or trio's run (anyio's other backend)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        trio = sys.modules.get("trio")
        return None if trio is None else trio.lowlevel.current_trio_token()


def _loggable(url: str) -> str:
    # No query string (where a careless API puts secrets), no user:password@.
    return redact_url(url)


class CoreSession:
    """Sends :class:`Call` s with auth, retries, timeouts and error mapping.

    Args:
        transport: The transport; the session closes it on :meth:`aclose`.
        retry: The default retry policy.
        timeout: The default timeouts.
        token_store: Where OAuth tokens are cached.
        max_answer_size: The default cap, in bytes, on an answer read whole.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        retry: RetryPolicy,
        timeout: Timeout,
        token_store: TokenStore | None = None,
        base_headers: Mapping[str, str] | None = None,
        max_answer_size: int = DEFAULT_MAX_ANSWER_SIZE,
    ) -> None:
        self.transport = transport
        self.retry = retry
        self.timeout = timeout
        self.token_store: TokenStore = token_store or MemoryTokenStore()
        self.base_headers = dict(base_headers or {})
        self._token_caches: dict[str, TokenCache] = {}
        self._closed = False
        self.max_answer_size = check_answer_size(max_answer_size)
        self._loop: object = None

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    def token_cache(self, credentials: tuple[str, ...], fetch: Fetch) -> TokenCache:
        """The one token cache for a set of credentials.

        The store key is a digest, so no secret ever reaches the store's keys.
        """
        key = hashlib.sha256("\0".join(credentials).encode()).hexdigest()
        cache = self._token_caches.get(key)
        if cache is None:
            cache = self._token_caches[key] = TokenCache(self.token_store, key, fetch)
        return cache

    async def aclose(self) -> None:
        """Close the transport. Later calls raise.

        Raises:
            ConfigurationError: Called from another event loop than the
                session's (its connections cannot be closed from there).
        """
        if not self._closed:
            if self._loop is not None:
                self._check_loop()
            self._closed = True
            await self.transport.aclose()

    def _check_loop(self) -> None:
        # A connection pool, and the locks of the token caches, belong to the
        # loop they were made in: from another one they fail in obscure ways
        # ("Event loop is closed") or, worse, hang.
        loop = _running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise ConfigurationError(
                "this client was first used in another event loop; a client (its "
                "connections, its token cache) belongs to one event loop: create a "
                "SigningClient inside each loop (each asyncio.run) that uses one"
            )

    @asynccontextmanager
    async def stream(self, call: Call) -> AsyncIterator[Response]:
        """Perform ``call`` and yield its successful response, body unread.

        Raises:
            APIError: The provider answered with an error (after any retries).
            TransportError: No answer (after any retries).
        """
        response = await self.send(call)
        try:
            yield response
        finally:
            await response.aclose()

    async def json(self, call: Call) -> Any:
        """Perform ``call`` and decode its JSON answer.

        The answer is read whole, bounded in size (``max_answer_size``) and in
        time (it must arrive whole within the read timeout).

        Raises:
            ResponseDecodeError: The answer is not JSON, or is too large.
            RequestTimeout: The answer did not arrive whole in time.
        """
        clock = ExchangeClock(
            answer_limit=call.max_answer_size or self.max_answer_size,
            what=f"{call.provider} {call.operation}",
        )
        response = await self.send(call, clock=clock)
        body = await response.read()  # read by the clock already, within its bounds
        try:
            return loads(body)
        except ValueError as exc:
            if not body or body.isspace():
                return None  # no answer is not a wrong answer
            if not call.secret_answer:
                snippet = body[:120].decode("utf-8", "replace")
                raise ResponseDecodeError(f"{_not_json(call)}: {snippet!r}") from exc
        # Raised outside the except block, so that no chained error holds the
        # answer either (a JSONDecodeError keeps the whole text in .doc).
        raise ResponseDecodeError(_not_json(call))

    async def send(self, call: Call, *, clock: ExchangeClock | None = None) -> Response:
        """Perform ``call`` and return its successful response, body unread.

        The caller must close the response (``read()`` does, ``aclose()`` too).
        ``clock`` keeps the deadlines beyond socket timeouts; by default the
        answer is taken to be streamed (no deadline on the whole of it).
        """
        if self._closed:
            raise SigningError("the client is closed; create a new SigningClient")
        self._check_loop()
        if clock is None:
            clock = ExchangeClock()
        policy = call.retry or self.retry
        timeout = call.timeout or self.timeout
        idempotent = call.is_idempotent
        retries = 0
        renewed = False
        attempt = 0
        # Asked once per call: building log arguments nobody reads costs a
        # small request a few percent.
        debug = logger.isEnabledFor(logging.DEBUG)
        while True:
            attempt += 1
            used, request = await self._request(call, clock, timeout, idempotent)
            started = time.monotonic() if debug else 0.0
            try:
                response = await clock.send(self.transport, request)
            except TransportError as exc:
                if debug:
                    logger.debug(
                        "%s %s: attempt %d %s %s failed after %.3f s: %s",
                        call.provider, call.operation, attempt, call.method,
                        _loggable(call.url), time.monotonic() - started, exc,
                    )  # fmt: skip
                step = next_step(
                    policy, exc, idempotent=idempotent, retries=retries, renewed=renewed
                )
                if step.action == "raise":
                    raise type(exc)(
                        f"{call.provider} {call.operation}: {exc}", request_sent=exc.request_sent
                    ) from exc
                await anyio.sleep(step.delay)
                retries += 1
                continue
            if debug:
                logger.debug(
                    "%s %s: attempt %d %s %s -> %d in %.3f s",
                    call.provider, call.operation, attempt, call.method,
                    _loggable(call.url), response.status, time.monotonic() - started,
                )  # fmt: skip
            if 200 <= response.status < 300:
                return response
            error = await self._error(call, response, clock)
            retry_after = retry_after_seconds(response.headers)
            step = next_step(
                policy, error, idempotent=idempotent, retries=retries, renewed=renewed,
                retry_after=retry_after,
            )  # fmt: skip
            if step.action == "renew":
                renewed = True
                if await call.auth.renew(used):
                    continue
                step = next_step(
                    policy, error, idempotent=idempotent, retries=retries, renewed=True,
                    retry_after=retry_after,
                )  # fmt: skip
            if step.action == "raise":
                raise error
            await anyio.sleep(step.delay)
            retries += 1

    async def _request(
        self, call: Call, clock: ExchangeClock, limits: Timeout, idempotent: bool
    ) -> tuple[object, Request]:
        """One attempt's request: headers, credentials, body; and the credentials used."""
        headers = {**self.base_headers, **call.headers}
        used = await call.auth.apply(headers)
        if isinstance(call.body, StreamBody):
            headers["Content-Length"] = str(call.body.length)
        body = call.body
        observer = current_observer()
        if observer is not None:
            if not idempotent:
                # Last moment before the request may reach the server: a
                # journal records "in flight" here, after auth, never earlier.
                await observer.sending()
            body = metered(body, observer)
        body = clock.attempt(body, limits)
        return used, Request(call.method, call.url, headers, body, clock.request_timeout)

    async def _error(self, call: Call, response: Response, clock: ExchangeClock) -> APIError:
        try:
            body = await clock.error_body(response)
        except TransportError:
            body = b""  # the status still says what happened
        return call.errors.error(call.operation, response.status, response.headers, body)
