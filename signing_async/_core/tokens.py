"""Access tokens: a pluggable store and a cache that refreshes ahead of expiry.

Refresh windows (botocore's scheme): a token with less than
``min(300 s, lifetime / 2)`` left is in the *advisory* window, where one
caller refreshes while the others keep using it; with less than
``min(30 s, lifetime / 10)`` left (or none at all) it is in the *mandatory*
window, where every caller waits for a single refresh. N concurrent calls on
a cold cache therefore cause exactly one token request.

What a token endpoint grants is not taken on trust:

- A lifetime is clamped into :data:`MIN_LIFETIME` .. :data:`MAX_LIFETIME`
  (1 s .. 1 day): ``expires_in`` of 0 or less would make every call fetch a
  new token, an absurd one (years, infinity) would keep a revoked token
  forever, and a NaN would never expire. A token that dies sooner than the
  SDK thinks costs one 401, a refresh and a replay, which is safe for every
  call. (A lifetime that is missing is the provider's default; one that is
  not a number at all is refused when the answer is decoded.)
- Callers that queued behind a refresh take its outcome, the token or the
  error, whatever the token's lifetime: one token request per refresh.
- :func:`check_token` refuses a token that could not travel in a header
  as it is (empty, not visible ASCII, huge) at the token step, with a
  ``ResponseDecodeError``, instead of a raw error from the HTTP library on
  every later call (a CR/LF in it would even split the header).

A store shared by many processes may also offer ``refresh``
(:class:`SharedTokenStore`): the cache then leaves each refresh to the store,
which runs it in single flight across every process that shares it (one
token request per expiry for a whole fleet). The default in-memory path does
not change.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

import anyio
import attrs

from .errors import ResponseDecodeError, SigningError

__all__ = [
    "MAX_LIFETIME",
    "MIN_LIFETIME",
    "AccessToken",
    "MemoryTokenStore",
    "NewToken",
    "SharedTokenStore",
    "TokenCache",
    "TokenStore",
    "bounded_lifetime",
    "check_token",
]

logger = logging.getLogger("signing_async")

Clock = Callable[[], float]


@attrs.frozen
class AccessToken:
    """A bearer token and when it expires.

    Attributes:
        value: The token itself; never shown in ``repr``.
        expires_at: The expiry, on the ``time.monotonic()`` clock.
        lifetime: The lifetime the server granted, in seconds.
    """

    value: str = attrs.field(repr=False)
    expires_at: float
    lifetime: float

    def remaining(self, now: float) -> float:
        """Seconds left at ``now``."""
        return self.expires_at - now

    def in_mandatory_window(self, now: float) -> bool:
        """Whether callers must wait for a fresh token."""
        return self.remaining(now) < min(30.0, self.lifetime / 10)

    def in_advisory_window(self, now: float) -> bool:
        """Whether a refresh should start (the token is still usable)."""
        return self.remaining(now) < min(300.0, self.lifetime / 2)


@runtime_checkable
class TokenStore(Protocol):
    """Where tokens live, keyed by a digest of the credentials.

    The default keeps them in memory. A shared store (Redis, a file) lets
    several processes use one token; it must keep ``expires_at`` meaningful
    for each reader's monotonic clock (e.g. store the wall-clock expiry and
    convert on the way out). Without more, each process still refreshes on
    its own; a store that also offers ``refresh`` (:class:`SharedTokenStore`)
    makes that one refresh across them all.
    """

    async def get(self, key: str) -> AccessToken | None:
        """The current token under ``key``, if any."""
        ...

    async def set(self, key: str, token: AccessToken) -> None:
        """Make ``token`` the current one under ``key``."""
        ...

    async def discard(self, key: str, token: AccessToken) -> None:
        """Forget ``token``, but only if it is still the current one."""
        ...


NewToken = Callable[[], Awaitable[AccessToken]]
"""Gets a new token from the provider (one token request), as the cache would keep it."""


@runtime_checkable
class SharedTokenStore(TokenStore, Protocol):
    """A :class:`TokenStore` shared by processes that refreshes in single flight across them.

    When its store offers ``refresh``, a :class:`TokenCache` calls it instead
    of fetching a token and ``set``-ting it: the store decides which process
    asks the provider and hands the others that token.
    """

    async def refresh(self, key: str, new_token: NewToken, *, wait: bool) -> AccessToken | None:
        """A fresh token under ``key``, from a peer or from ``new_token()``.

        Args:
            key: The store key.
            new_token: Asks the provider for a token; called by at most one
                process at a time for ``key``, and not at all when a peer's
                token is fresh enough.
            wait: True when the caller has no usable token (none, or one in
                its mandatory window): wait for a peer's refresh, or refresh.
                False when the current token is still good (advisory window):
                return None at once if a peer is refreshing.

        Returns:
            The fresh token; None only when ``wait`` is False and no refresh
            was made here.
        """
        ...


class MemoryTokenStore:
    """The default store: a dict in this process."""

    def __init__(self) -> None:
        self._tokens: dict[str, AccessToken] = {}

    async def get(self, key: str) -> AccessToken | None:
        """The current token under ``key``, if any."""
        return self._tokens.get(key)

    async def set(self, key: str, token: AccessToken) -> None:
        """Make ``token`` the current one under ``key``."""
        self._tokens[key] = token

    async def discard(self, key: str, token: AccessToken) -> None:
        """Forget ``token`` if it is still the current one."""
        if self._tokens.get(key) == token:
            del self._tokens[key]


Fetch = Callable[[], Awaitable[tuple[str, float]]]
"""Asks the provider for a new token: returns its value and lifetime in seconds."""

MIN_LIFETIME = 1.0
"""The shortest lifetime a token is given, whatever the server said (seconds)."""

MAX_LIFETIME = 86400.0
"""The longest lifetime a token is given, whatever the server said (seconds)."""

MAX_TOKEN_LENGTH = 8192
"""The longest token accepted: about what servers take as a whole header block."""

_TOKEN = re.compile(r"[\x21-\x7e]+")
"""Visible ASCII: what a header value carries as it is."""


def bounded_lifetime(seconds: float) -> float:
    """``seconds`` clamped into ``MIN_LIFETIME .. MAX_LIFETIME``; NaN counts as too short."""
    if math.isnan(seconds) or seconds < MIN_LIFETIME:
        return MIN_LIFETIME
    return min(seconds, MAX_LIFETIME)


def check_token(value: str, *, what: str) -> str:
    """Return ``value`` if it can be sent in a header as it is.

    The message never quotes the token, and nothing is chained to the error.

    Args:
        value: The token a server granted.
        what: Names the provider and the operation, for the message.

    Raises:
        ResponseDecodeError: The token is empty, longer than
            :data:`MAX_TOKEN_LENGTH`, or holds anything but visible ASCII
            (spaces, CR/LF and other control characters, non-ASCII letters).
    """
    if not value:
        problem = "is empty"
    elif len(value) > MAX_TOKEN_LENGTH:
        problem = f"is longer than {MAX_TOKEN_LENGTH} characters"
    elif not _TOKEN.fullmatch(value):
        problem = "holds characters other than visible ASCII (spaces, line breaks, non-ASCII)"
    else:
        return value
    raise ResponseDecodeError(f"{what}: the token in the answer {problem}; it was not used")


class TokenCache:
    """Hands out a valid token for one set of credentials, refreshing it once at a time.

    Single flight holds whatever the server grants: callers that waited for
    a refresh share its token (or its error) instead of starting another, and
    the lifetime is clamped (:func:`bounded_lifetime`), so a token that claims
    to expire at once is still used for :data:`MIN_LIFETIME` seconds. (The floor
    is low on purpose: a server's short lifetime, a test sandbox's two
    seconds say, is honoured with its advisory and mandatory windows.)

    Args:
        store: Where the token is kept.
        key: The store key (a digest of the credentials, never the secret).
        fetch: Gets a new token from the provider.
        clock: The clock, ``time.monotonic`` unless a test says otherwise.
    """

    def __init__(
        self, store: TokenStore, key: str, fetch: Fetch, *, clock: Clock = time.monotonic
    ) -> None:
        self._store = store
        self._key = key
        self._fetch = fetch
        self._clock = clock
        self._lock = anyio.Lock()
        # Refreshes finished (or failed) so far, and the outcome of the last one:
        # callers that queued behind a refresh share its token or its error.
        self._refreshes = 0
        self._failure: Exception | None = None
        self._last: AccessToken | None = None
        # A store shared by processes runs each refresh itself, in single flight
        # across them; any other store gets the token set by this cache.
        self._shared = store if isinstance(store, SharedTokenStore) else None

    async def get(self) -> AccessToken:
        """A token that is valid now, refreshed first if needed."""
        # Counted before the store is read: a refresh that ends while a store
        # that awaits (a database, say) answers ran alongside this call, and
        # its outcome is shared, not followed by a refresh of this call's own.
        seen = self._refreshes
        token = await self._store.get(self._key)
        if token is not None and not token.in_advisory_window(self._clock()):
            return token
        if token is not None and not token.in_mandatory_window(self._clock()):
            return await self._refresh_in_advance(token)
        async with self._lock:
            # Whoever held the lock before us may have refreshed already.
            token = await self._store.get(self._key)
            if token is not None and not token.in_mandatory_window(self._clock()):
                return token
            if self._refreshes != seen:
                # The refresh we waited for is over. Trying again, one waiter after
                # the other, would send N token requests (each with its retries)
                # where single flight promises one: share its error, or its token
                # unless that was dropped meanwhile (a 401 invalidated it).
                if self._failure is not None:
                    raise self._failure
                if token is not None and token == self._last:
                    return token
            token = await self._refresh()
            if token is None:  # only a broken SharedTokenStore gets here
                raise RuntimeError(f"{type(self._store).__name__}.refresh(wait=True) gave no token")
            return token

    async def invalidate(self, token: AccessToken) -> None:
        """Forget ``token`` after the provider rejected it, unless it was replaced already."""
        await self._store.discard(self._key, token)

    async def _refresh_in_advance(self, token: AccessToken) -> AccessToken:
        try:
            self._lock.acquire_nowait()
        except anyio.WouldBlock:
            return token  # another caller is refreshing; this token is still good
        try:
            # The caller before may have refreshed while this one read the store.
            current = await self._store.get(self._key)
            if current is not None and not current.in_advisory_window(self._clock()):
                return current
            # None: a peer process is refreshing (shared store); this token is still good.
            return await self._refresh(wait=False) or token
        except SigningError as exc:
            logger.warning("token refresh failed, the current token is still valid: %s", exc)
            return token
        finally:
            self._lock.release()

    async def _refresh(self, *, wait: bool = True) -> AccessToken | None:
        try:
            if self._shared is None:
                token: AccessToken | None = await self._new_token()
            else:
                token = await self._shared.refresh(self._key, self._new_token, wait=wait)
        except Exception as exc:  # not BaseException: a cancelled caller is no answer
            self._refreshes += 1
            self._failure = exc
            raise
        if token is None:
            return None
        self._refreshes += 1
        self._failure = None
        self._last = token
        if self._shared is None:
            await self._store.set(self._key, token)
        return token

    async def _new_token(self) -> AccessToken:
        value, lifetime = await self._fetch()
        granted, lifetime = lifetime, bounded_lifetime(lifetime)
        if lifetime != granted:
            logger.warning(
                "the token endpoint granted a lifetime of %s s; using %.0f s", granted, lifetime
            )
        logger.debug("new access token, valid for %.0f s", lifetime)
        return AccessToken(value, self._clock() + lifetime, lifetime)
