"""A token store shared by a fleet: one token request per expiry across every process.

:class:`PostgresTokenStore` keeps the current token of each set of
credentials in the ``tokens`` table, and runs each refresh in single flight
across all the processes that use it (it is a
:class:`~signing_async._core.tokens.SharedTokenStore`, so the client's token
cache leaves refreshes to it). How:

- **No round trip per request.** The cache asks its store for the token on
  every request. This store answers from its own copy in the process until
  the token reaches its mandatory window; only then does it read the table
  (readers of one process share one read). In the advisory window the copy
  is still handed out, and the table is consulted at most once a second, to
  refresh or to take the token a peer refreshed meanwhile.
- **Expiry on the database's clock.** A token is stored with
  ``expires_at = clock_timestamp() + remaining`` and read back as
  ``expires_at - clock_timestamp()``: both instants come from the database
  server, and only the difference reaches a reader, who counts it from the
  moment its query left, on its own ``time.monotonic()`` clock. The machines'
  wall clocks never enter into it, and a reader's expiry is early by at most
  a round trip, never late.
- **One refresh across processes.** The process that refreshes holds a
  PostgreSQL session advisory lock (class
  :data:`~signing_async._core.bulk._pg_schema.TOKEN_LOCK_CLASS`, keyed by the
  schema and the store key) while it asks the provider, then writes the
  token and lets go. A process without a usable token waits for that lock
  (in the database: no polling) and reads the table again before asking for
  a token itself, so the others take the holder's token. In the advisory
  window a process only *tries* the lock: if a peer holds it, the current
  token serves on.
- **A holder that dies.** The lock belongs to the holder's connection: if
  the process is killed mid-request, PostgreSQL drops the connection and the
  lock with it, and the next waiter asks for the token: one extra token
  request, not one per process. A holder that neither finishes nor dies
  (a machine cut off the network, whose connection the server keeps) is
  waited for ``wait`` seconds; then each waiter asks for a token of its own.
- **A database that fails.** Tokens matter more than the single flight: if
  the table cannot be read or written, the store logs a warning and the
  process asks for its own token, as with the in-memory store.

The table holds live bearer tokens: give its schema the access you would
give the credentials. No token, nor the DSN's password, appears in a
message, a log line or a ``repr``. Like the client's, the store's
connections belong to one event loop (asyncio: psycopg's).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import anyio.abc
import attrs

from .._core.bulk._dsn import safe_dsn, without_passwords
from .._core.bulk._pg_schema import DEFAULT_SCHEMA, TOKEN_LOCK_CLASS, valid_schema
from .._core.errors import ConfigurationError
from .._core.tokens import AccessToken, NewToken

__all__ = ["RECHECK", "PostgresTokenStore"]

logger = logging.getLogger("signing_async")

T = TypeVar("T")

RECHECK = 1.0
"""In the advisory window, the shortest time between two looks at the table (seconds)."""


@attrs.define
class _Slot:
    """What the store knows of one store key in this process."""

    lock_id: int
    token: AccessToken | None = None
    connection: Any = None  # reads, writes and the refresh lock of this key
    refreshing: anyio.Lock = attrs.Factory(anyio.Lock)
    reading: anyio.Lock = attrs.Factory(anyio.Lock)
    reads: int = 0  # reads finished: readers that queued behind one share it
    tried_at: float = -math.inf  # the last advisory-window attempt


def lock_id(schema: str, key: str) -> int:
    """The second key of the refresh lock of ``key`` in ``schema`` (a signed 32-bit integer)."""
    digest = hashlib.sha256(f"{schema}\0{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


class PostgresTokenStore(anyio.abc.AsyncResource):
    """A token store in PostgreSQL: one token request per expiry for a whole fleet.

    Example:
        >>> store = PostgresTokenStore("postgresql://app@db/contracts")
        >>> client = sa.SigningClient(danaconnect=config, token_store=store)

    Every process (on any machine) that uses the same database and schema
    shares the tokens; see the module's documentation for how. It needs the
    ``[fleet]`` extra (psycopg) and runs on asyncio. Close it with
    :meth:`aclose` (or ``async with``) when the clients using it are done.

    Args:
        dsn: The database, as a ``postgresql://`` URI.
        schema: The schema holding the ``tokens`` table (created on first use).
        wait: The longest wait, in seconds, for another process's refresh
            before this one asks for a token of its own.
        clock: The monotonic clock tokens' expiries are kept on (the token
            cache's; a test may give another).

    Raises:
        ConfigurationError: psycopg is not installed, or ``schema`` or
            ``wait`` is not valid.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = DEFAULT_SCHEMA,
        wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Here, not at the top: `import signing_async.fleet` stays free of
        # psycopg, and a missing extra is reported by name.
        import psycopg

        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 < wait < math.inf:
            raise ConfigurationError(f"wait must be a positive number of seconds, not {wait!r}")
        self._dsn = dsn
        self._shown = safe_dsn(dsn)
        self.schema = valid_schema(schema)
        self.wait = float(wait)
        self._clock = clock
        self._errors: tuple[type[Exception], ...] = (psycopg.Error, ConfigurationError)
        self._lock_timeout: type[Exception] = psycopg.errors.LockNotAvailable
        self._slots: dict[str, _Slot] = {}

    def __repr__(self) -> str:
        return f"PostgresTokenStore({self._shown!r}, schema={self.schema!r})"

    async def aclose(self) -> None:
        """Close the store's connections. Calling it twice is harmless; a later use reconnects."""
        for slot in self._slots.values():
            await self._drop(slot)

    # -- the TokenStore protocol -------------------------------------------

    async def get(self, key: str) -> AccessToken | None:
        """The token under ``key``: this process's copy while it is usable, else the table's."""
        slot = self._slots.get(key) or self._slot(key)
        token = slot.token
        if token is not None and not token.in_mandatory_window(self._clock()):
            return token
        seen = slot.reads
        async with slot.reading:
            if slot.reads != seen:
                return slot.token  # a read finished while this one queued: share it
            try:
                return self._keep(
                    slot,
                    await self._on_db(slot, "reading the token", lambda c: self._select(c, key)),
                )
            finally:
                slot.reads += 1

    async def set(self, key: str, token: AccessToken) -> None:
        """Make ``token`` the current one under ``key``, for every process."""
        slot = self._slot(key)
        slot.token = token
        await self._on_db(
            slot, "writing the token", lambda connection: self._write(connection, key, token)
        )

    async def discard(self, key: str, token: AccessToken) -> None:
        """Forget the rejected ``token``, in the table too, if it is still the current one."""
        slot = self._slot(key)
        if slot.token is not None and slot.token.value == token.value:
            slot.token = None

        async def delete(connection: Any) -> None:
            await connection.execute(
                f"DELETE FROM {self.schema}.tokens WHERE key = %s AND value = %s",
                (key, token.value),
            )

        await self._on_db(slot, "dropping the rejected token", delete)

    # -- the SharedTokenStore extension --------------------------------------

    async def refresh(self, key: str, new_token: NewToken, *, wait: bool) -> AccessToken | None:
        """A fresh token under ``key``: a peer's if it is fresh, else one from ``new_token()``.

        Args:
            key: The store key.
            new_token: Asks the provider for a token.
            wait: Whether to wait for a peer's refresh (no usable token), or
                give up at once if a peer is refreshing (advisory window).

        Returns:
            The fresh token; None only when ``wait`` is False and nothing
            was refreshed here (a peer holds the lock, or the table was
            consulted less than :data:`RECHECK` seconds ago).
        """
        slot = self._slot(key)
        if wait:
            await slot.refreshing.acquire()
        else:
            if self._clock() < slot.tried_at + RECHECK:
                return None
            try:
                slot.refreshing.acquire_nowait()
            except anyio.WouldBlock:
                return None
        try:
            slot.tried_at = self._clock()
            return await self._refresh(slot, key, new_token, wait=wait)
        finally:
            slot.refreshing.release()

    async def _refresh(
        self, slot: _Slot, key: str, new_token: NewToken, *, wait: bool
    ) -> AccessToken | None:
        locked = await self._on_db(
            slot, "taking the refresh lock", lambda c: self._lock(c, slot, wait)
        )
        if locked is None and not wait:
            return None  # a peer is refreshing, or the table is out of reach: this token serves on
        try:
            token = self._keep(
                slot, await self._on_db(slot, "reading the token", lambda c: self._select(c, key))
            )
            now = self._clock()
            if token is not None and not (
                token.in_mandatory_window(now) if wait else token.in_advisory_window(now)
            ):
                return token  # a peer refreshed it
            token = slot.token = await new_token()
            if locked is not None:
                await self._on_db(slot, "writing the token", lambda c: self._write(c, key, token))
            return token
        finally:
            if locked is not None and slot.connection is locked:
                with anyio.CancelScope(shield=True):  # a cancelled holder must let go too
                    await self._on_db(
                        slot, "releasing the refresh lock", lambda c: self._unlock(c, slot)
                    )

    # -- statements ----------------------------------------------------------

    async def _lock(self, connection: Any, slot: _Slot, wait: bool) -> Any:
        """Take the refresh lock on ``connection``: the connection, or None if not taken."""
        if wait:
            try:
                await connection.execute(
                    "SELECT pg_advisory_lock(%s, %s)", (TOKEN_LOCK_CLASS, slot.lock_id)
                )
            except self._lock_timeout:
                logger.warning(
                    "token store %s: another process has been refreshing the token for %.0f s;"
                    " asking for one here",
                    self._shown,
                    self.wait,
                )
                return None
            return connection
        row = await (
            await connection.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (TOKEN_LOCK_CLASS, slot.lock_id)
            )
        ).fetchone()
        return connection if row and row[0] else None

    async def _unlock(self, connection: Any, slot: _Slot) -> None:
        await connection.execute(
            "SELECT pg_advisory_unlock(%s, %s)", (TOKEN_LOCK_CLASS, slot.lock_id)
        )

    async def _select(self, connection: Any, key: str) -> AccessToken | None:
        sent = self._clock()
        row = await (
            await connection.execute(
                "SELECT value, lifetime, extract(epoch FROM expires_at - clock_timestamp())::float8"
                f" FROM {self.schema}.tokens WHERE key = %s",
                (key,),
            )
        ).fetchone()
        if row is None:
            return None
        value, lifetime, remaining = row
        # What is left, on the database's clock, counted from before the
        # query left: early by at most a round trip, never late.
        return AccessToken(value, sent + remaining, lifetime)

    async def _write(self, connection: Any, key: str, token: AccessToken) -> None:
        # The expiry goes in on the database's clock: what is left of the token now.
        remaining = token.expires_at - self._clock()
        await connection.execute(
            f"INSERT INTO {self.schema}.tokens (key, value, lifetime, expires_at)"
            " VALUES (%s, %s, %s, clock_timestamp() + make_interval(secs => %s))"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
            " lifetime = excluded.lifetime, expires_at = excluded.expires_at",
            (key, token.value, token.lifetime, remaining),
        )

    # -- plumbing ------------------------------------------------------------

    def _slot(self, key: str) -> _Slot:
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot(lock_id(self.schema, key))
        return slot

    @staticmethod
    def _keep(slot: _Slot, token: AccessToken | None) -> AccessToken | None:
        """Make ``token`` (read from the table) this process's copy, and return the copy."""
        if token is not None and slot.token is not None and token.value == slot.token.value:
            return slot.token  # the same token: keep the expiry this process first saw
        slot.token = token
        return token

    async def _on_db(
        self, slot: _Slot, doing: str, operation: Callable[[Any], Awaitable[T]]
    ) -> T | None:
        """Run ``operation`` on the key's connection (opened if needed); None if it fails."""
        try:
            connection = slot.connection
            if connection is None:
                connection = await self._connect()
                slot.connection = connection
            return await operation(connection)
        except self._errors as exc:
            await self._drop(slot)
            logger.warning(
                "token store %s: %s failed (%s); this process goes on without it",
                self._shown,
                doing,
                self._reason(exc),
            )
            return None
        except BaseException:
            # Cancelled mid-statement: the connection's state is unknown.
            # Closing it also lets go of any lock it held.
            await self._drop(slot)
            raise

    async def _connect(self) -> Any:
        from .._core.bulk._pg import connect

        connection = await connect(self._dsn, self.schema)
        try:
            # Bounds the wait for a peer's refresh lock (and nothing else waits on a lock here).
            await connection.execute(f"SET lock_timeout = {round(self.wait * 1000)}")
        except BaseException:
            await connection.close()
            raise
        return connection

    @staticmethod
    async def _drop(slot: _Slot) -> None:
        connection, slot.connection = slot.connection, None
        if connection is not None:
            with anyio.CancelScope(shield=True):
                await connection.close()

    def _reason(self, exc: Exception) -> str:
        """What went wrong, in one line that names no secret."""
        if isinstance(exc, ConfigurationError):
            # From connect(): already without the password; the DSN is said once.
            return str(exc).replace(f" at {self._shown}", "")
        lines = str(exc).strip().splitlines()
        reason = f"{type(exc).__name__}: {lines[-1]}" if lines else type(exc).__name__
        return without_passwords(reason, self._dsn)
