"""Access tokens: a pluggable store and a cache that refreshes ahead of expiry.

Refresh windows (botocore's scheme): a token with less than
``min(300 s, lifetime / 2)`` left is in the *advisory* window, where one
caller refreshes while the others keep using it; with less than
``min(30 s, lifetime / 10)`` left (or none at all) it is in the *mandatory*
window, where every caller waits for a single refresh. N concurrent calls on
a cold cache therefore cause exactly one token request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

import anyio
import attrs

from .errors import SigningError

__all__ = ["AccessToken", "MemoryTokenStore", "TokenCache", "TokenStore"]

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
    convert on the way out).
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


class TokenCache:
    """Hands out a valid token for one set of credentials, refreshing it once at a time.

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
        # Refreshes finished (or failed) so far, and the error of the last one if it
        # failed: callers that queued behind a failed refresh share its error.
        self._refreshes = 0
        self._failure: Exception | None = None

    async def get(self) -> AccessToken:
        """A token that is valid now, refreshed first if needed."""
        token = await self._store.get(self._key)
        if token is not None and not token.in_advisory_window(self._clock()):
            return token
        if token is not None and not token.in_mandatory_window(self._clock()):
            return await self._refresh_in_advance(token)
        seen = self._refreshes
        async with self._lock:
            # Whoever held the lock before us may have refreshed already.
            token = await self._store.get(self._key)
            if token is not None and not token.in_mandatory_window(self._clock()):
                return token
            if self._failure is not None and self._refreshes != seen:
                # The refresh we waited for failed. Trying again, one waiter after
                # the other, would send N token requests (each with its retries)
                # where single flight promises one.
                raise self._failure
            return await self._refresh()

    async def invalidate(self, token: AccessToken) -> None:
        """Forget ``token`` after the provider rejected it, unless it was replaced already."""
        await self._store.discard(self._key, token)

    async def _refresh_in_advance(self, token: AccessToken) -> AccessToken:
        try:
            self._lock.acquire_nowait()
        except anyio.WouldBlock:
            return token  # another caller is refreshing; this token is still good
        try:
            return await self._refresh()
        except SigningError as exc:
            logger.warning("token refresh failed, the current token is still valid: %s", exc)
            return token
        finally:
            self._lock.release()

    async def _refresh(self) -> AccessToken:
        try:
            value, lifetime = await self._fetch()
        except Exception as exc:  # not BaseException: a cancelled caller is no answer
            self._refreshes += 1
            self._failure = exc
            raise
        self._refreshes += 1
        self._failure = None
        token = AccessToken(value, self._clock() + lifetime, lifetime)
        await self._store.set(self._key, token)
        logger.debug("new access token, valid for %.0f s", lifetime)
        return token
