"""The PostgreSQL journal: one job shared by any number of processes, nothing sent twice.

The promise is the SQLite journal's (:mod:`._journal`), held across
processes and machines:

- A request leaves only after its row's ``in_flight`` mark is committed
  (synchronously: on disk, and on a synchronous standby if there is one).
- Each process that uses a job holds a PostgreSQL *session advisory lock*
  while it lives, keyed by a random owner id that it stamps on the rows it
  claims. The lock dies with the process's connection (``kill -9``, a lost
  machine), so whether the owner of a row is alive is a question PostgreSQL
  answers: ``pg_locks``.
- Claims lock the row (``FOR UPDATE SKIP LOCKED``): processes running the
  same job over the same items split them. A row claimed by a live peer is
  neither sent nor reported by another process (the run yields no outcome
  for it; its owner does, the outcome included). A pending row of a dead
  owner is claimed again and sent; an in-flight row of a dead owner becomes
  ``uncertain``; a finished row of a dead owner is what a rerun finds (skip,
  resend or report, as with SQLite). A process's owner lock lasts as long as
  its run's journal is open.
- Every write goes through the one connection that holds the lock: if it
  breaks, the lock is gone and so is every later write, so no request can
  leave on a claim a peer may already have taken over.

``pg_locks`` is a live view: an owner seen live once in a transaction is
live for all of its decisions, so an owner dying between two statements
cannot leave a row half-decided; an owner not seen live is read again, so a
peer that started meanwhile is not taken for dead (:class:`_Transaction`). Claims,
marks and outcomes are grouped (:mod:`._group`): the writes of workers that
ask together share one transaction; outcomes are committed with
``synchronous_commit = off`` (an outcome lost in a crash makes the item
uncertain, never sent twice), the in-flight marks are not.

A ``failed`` row is sent again by a later run only if its failure was
transient (a 503, a 429, a refused connection, an item that never left);
one the provider refused for what it holds (a 400, a 404, a 409…) is
reported failed again without sending, until a person resolves it
(``signing-async bulk-status --resolve KEY=failed``).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import anyio
import attrs

from ..errors import ConfigurationError, JournalError, ValidationError
from ..validation import text_problem
from ._dsn import safe_dsn, without_passwords
from ._group import GroupCommit
from ._journal import Claim, Entry, Journal
from ._pg_schema import DEFAULT_SCHEMA, OWNER_LOCK_CLASS, live_owners, valid_schema

__all__ = ["PostgresJournal", "check_job", "register_job"]

T = TypeVar("T")

_DEADLOCK_RETRIES = 8

COMMIT_TIMEOUT = 30.0
"""The default ``commit_timeout`` of :class:`PostgresJournal`, in seconds."""

_UNLOCK_WAIT = 2.0
"""Seconds a closing journal waits to release its lock before it just closes."""


@attrs.define
class _Transaction:
    """What the operations of one grouped transaction share.

    The live owners are read when a decision first needs them (most
    transactions, marks and outcomes, never do), and read again for an
    owner the last read did not hold, once per owner: a peer that started
    after the first read has committed rows this transaction now sees, and
    must not be taken for dead (its in-flight item would be sent again).
    An owner seen live stays live for the whole transaction, so one dying
    between two statements cannot leave a row half-decided.
    """

    connection: Any
    _live: frozenset[int] = frozenset()
    _read_since: set[int] = attrs.field(factory=set)  # owners missing from a read, read again

    async def is_live(self, owner: int) -> bool:
        """Whether ``owner``'s process holds its lock (see the class's notes)."""
        if owner not in self._live and owner not in self._read_since:
            # Its lock was taken before any row it stamped: a fresh read shows it if alive.
            self._live |= await live_owners(self.connection)
            self._read_since.add(owner)
        return owner in self._live


class PostgresJournal:
    """A bulk job's journal in PostgreSQL, shared by every process that opens the same job.

    Example:
        >>> journal = PostgresJournal("postgresql://app@db/contracts", job="march-contracts")
        >>> async with client.documents.create_many(items, journal=journal) as outcomes:
        ...     ...

    Any number of processes (on any machines) may run the same job at once:
    they split the items. It needs the ``[fleet]`` extra (psycopg) and runs
    on asyncio.

    Args:
        dsn: The database, as a ``postgresql://`` URI.
        job: The job's name: the rows of one job are one journal.
        schema: The schema holding the tables (created on first use).
        commit_timeout: Seconds a transaction of the journal may take. A
            cancellation does not cut a transaction short (psycopg would
            close the connection, and a mark the server had committed could
            not be undone): it waits for it, this long at most. A
            transaction that takes longer fails the run with
            :class:`~signing_async.JournalError`; its connection is closed,
            so the process's claims go to its peers, and an item whose mark
            it held is reported uncertain, never sent twice. ``math.inf``:
            no limit.

    Attributes:
        owner: This process's owner id while a run is open (else None).
        group: The grouping of writes (its ``commits`` count is a benchmark figure).
    """

    def __init__(
        self,
        dsn: str,
        *,
        job: str,
        schema: str = DEFAULT_SCHEMA,
        commit_timeout: float = COMMIT_TIMEOUT,
    ) -> None:
        check_job(job)
        if isinstance(commit_timeout, bool) or not isinstance(commit_timeout, int | float):
            raise ValidationError("commit_timeout", f"must be a number, not {commit_timeout!r}")
        if not commit_timeout > 0:
            raise ValidationError("commit_timeout", f"must be positive, not {commit_timeout!r}")
        self.commit_timeout = float(commit_timeout)
        self.dsn = dsn
        self.job = job
        self.schema = valid_schema(schema)
        self.owner: int | None = None
        self._connection: Any = None
        self._run = uuid.uuid4().hex
        self._resend = False
        self._resend_refused = False
        # Uncertain keys this run claimed to send again: a release puts them
        # back to uncertain, not to pending. Forgotten at finish.
        self._resent: set[str] = set()
        self.group: GroupCommit[_Transaction] = GroupCommit(self._commit)

    def __repr__(self) -> str:
        return f"PostgresJournal({safe_dsn(self.dsn)!r}, job={self.job!r})"

    # -- lifecycle ---------------------------------------------------------

    async def open_run(self, *, kind: str, resend_uncertain: bool) -> Journal:
        """Connect, take an owner id, register the job's kind; returns the journal itself.

        Raises:
            ConfigurationError: The database cannot be reached, or the job
                belongs to another kind of bulk method.
        """
        from ._pg import connect

        if self._connection is not None:
            raise RuntimeError("this journal is in use by a run already")
        connection = await connect(self.dsn, self.schema)
        try:
            await register_job(connection, self.schema, self.job, kind)
            self.owner = await _take_owner_id(connection)
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        self._run = uuid.uuid4().hex
        self._resend = resend_uncertain
        self._resent = set()
        return self

    async def aclose(self) -> None:
        """Release the owner lock and close the connection. Calling it twice is harmless."""
        import psycopg

        connection, self._connection = self._connection, None
        owner, self.owner = self.owner, None
        if connection is None:
            return
        try:
            # Released now, not once the server notices the closed connection
            # (its process ends a moment later): a run that starts right
            # after this one would take this one's rows for a live peer's.
            # Not worth a long wait: closing releases it too.
            with anyio.move_on_after(min(self.commit_timeout, _UNLOCK_WAIT)):
                if not connection.closed:
                    await connection.execute(
                        "SELECT pg_advisory_unlock(%s, %s)", (OWNER_LOCK_CLASS, owner)
                    )
        except psycopg.Error:
            pass  # the connection is unusable: the lock goes with it
        finally:
            await connection.close()

    # -- the Journal protocol ----------------------------------------------

    def claim(self, key: str, index: int) -> Awaitable[Claim]:
        """Claim ``key`` for this process (queued in call order) and decide what to do with it."""
        return self._queue(lambda tx: self._claim(tx, key, index))

    def mark_in_flight(self, keys: Sequence[str]) -> Awaitable[None]:
        """Record, with a synchronous commit, that the requests for ``keys`` are about to leave."""
        keys = list(keys)
        return self._queue(lambda tx: self._mark_in_flight(tx, keys), durable=True)

    def release(self, claims: Sequence[tuple[str, int]]) -> Awaitable[None]:
        """Undo the in-flight mark of items whose request never left (the run was cancelled).

        ``claims`` are their ``(key, index)``. Each row goes back to pending,
        or to uncertain for an uncertain key this run took to send again;
        its count of sends too. A key this run's item at that index does
        not hold (a duplicate releasing), one never marked, or finished
        since, is left alone. Like every write of this journal, it happens
        while awaited, after any queued before it (a mark whose writer was
        cancelled is still committed, then released).
        """
        claims = list(claims)
        return self._queue(lambda tx: self._release(tx, claims))

    def finish(self, entries: Sequence[Entry]) -> Awaitable[None]:
        """Record outcomes (committed with the next group, without waiting for the disk)."""
        entries = list(entries)
        return self._queue(lambda tx: self._finish(tx, entries))

    def _queue(
        self, operation: Callable[[_Transaction], Awaitable[T]], *, durable: bool = False
    ) -> Awaitable[T]:
        # The operation returns a coroutine, which _commit awaits inside the
        # transaction: the queued result is what that coroutine returns.
        return cast("Awaitable[T]", self.group.submit(operation, durable=durable))

    # -- the transaction ---------------------------------------------------

    async def _commit(
        self, operations: Sequence[Callable[[_Transaction], Any]], durable: bool
    ) -> list[Any]:
        # Not cut short by the cancellation of the writer that leads it: a
        # transaction interrupted half-way leaves the connection unusable
        # (psycopg closes it), and one whose COMMIT the server took before
        # the interruption is a mark nobody hears of, which could not be
        # undone. A database that does not answer in time is an error.
        with anyio.move_on_after(self.commit_timeout, shield=True):
            return await self._transact(operations, durable)
        raise JournalError(self._cannot_write(f"no answer within {self.commit_timeout:g} s"))

    async def _transact(
        self, operations: Sequence[Callable[[_Transaction], Any]], durable: bool
    ) -> list[Any]:
        import psycopg

        connection = self._connection
        if connection is None:
            raise RuntimeError("the journal is closed")
        for attempt in range(_DEADLOCK_RETRIES):
            try:
                async with connection.transaction():
                    if not durable:
                        # Outcomes may wait for the next sync: losing one in a
                        # crash leaves its row in flight (uncertain), never resent.
                        await connection.execute("SET LOCAL synchronous_commit = off")
                    tx = _Transaction(connection)
                    return [await operation(tx) for operation in operations]
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                # Two processes claiming the same keys in opposite orders: the
                # server aborted this transaction; nothing of it happened.
                if attempt == _DEADLOCK_RETRIES - 1:
                    message = self._cannot_write("deadlocked too often")
                    break
            except psycopg.Error as exc:
                message = self._cannot_write(str(exc).strip())
                break
        # Unchained: psycopg's error holds the connection, whose details name the server.
        raise JournalError(message)

    def _cannot_write(self, why: str) -> str:
        why = without_passwords(why, self.dsn)
        return f"cannot write the journal of job {self.job!r} at {safe_dsn(self.dsn)}: {why}"

    async def _claim(self, tx: _Transaction, key: str, index: int) -> Claim:
        s, connection = self.schema, tx.connection
        inserted = await (
            await connection.execute(
                f"INSERT INTO {s}.items (job, key, state, owner, run, item_index)"
                " VALUES (%s, %s, 'pending', %s, %s, %s)"
                " ON CONFLICT (job, key) DO NOTHING RETURNING 1",
                (self.job, key, self.owner, self._run, index),
            )
        ).fetchone()
        if inserted is not None:
            return _SEND
        row = await (
            await connection.execute(
                f"SELECT state, result, error, refused, owner, run, item_index,"
                f" to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"+00:00\"')"
                f" FROM {s}.items WHERE job = %s AND key = %s FOR UPDATE SKIP LOCKED",
                (self.job, key),
            )
        ).fetchone()
        if row is None:
            return _PEER  # a peer's transaction holds the row: it is deciding it now
        state, result, error, refused, owner, run, first_index, since = row
        if run == self._run:
            return Claim("duplicate", state=state, first_index=first_index)
        if owner is not None and owner != self.owner and await tx.is_live(owner):
            # A live peer's run holds it: sends it, or sent and reported it.
            return _PEER
        if state == "succeeded":
            await self._stamp(tx, key, index)
            return Claim("skip", result=result, state=state, since=since)
        if state in ("in_flight", "uncertain"):
            # Taken to send again, the row stays uncertain (owned by this
            # process) until its mark: a run that stops before sending it
            # leaves it for a later run to report, not to send as pending.
            owner = self.owner if self._resend else None
            if state == "in_flight":
                # Its owner is gone (or was an earlier run of this process):
                # the request may have reached the provider.
                error = f"in flight when its process ended (since {since})"
                await connection.execute(
                    f"UPDATE {s}.items SET state = 'uncertain', error = %s, owner = %s,"
                    " run = %s, item_index = %s, updated_at = clock_timestamp()"
                    " WHERE job = %s AND key = %s",
                    (error, owner, self._run, index, self.job, key),
                )
            elif self._resend:
                await connection.execute(
                    f"UPDATE {s}.items SET owner = %s, run = %s, item_index = %s"
                    " WHERE job = %s AND key = %s",
                    (owner, self._run, index, self.job, key),
                )
            else:
                await self._stamp(tx, key, index)
            if self._resend:
                # Added before the commit: should the transaction be retried
                # and decide otherwise, a later release of the key would only
                # leave it uncertain rather than pending.
                self._resent.add(key)
                return Claim("send", state=state, since=since, was_uncertain=True)
            return Claim("uncertain", error=error, state=state, since=since)
        if state == "failed" and refused:
            await self._stamp(tx, key, index)
            return Claim("refused", error=error, state=state, since=since)
        await self._take(tx, key, index)  # pending (its owner gone), or a transient failure
        return Claim("send", error=error, state=state, since=since)

    async def _stamp(self, tx: _Transaction, key: str, index: int) -> None:
        """Mark the row as read by this run, so a second item with the key is a duplicate."""
        await tx.connection.execute(
            f"UPDATE {self.schema}.items SET run = %s, item_index = %s WHERE job = %s AND key = %s",
            (self._run, index, self.job, key),
        )

    async def _take(self, tx: _Transaction, key: str, index: int) -> None:
        await tx.connection.execute(
            f"UPDATE {self.schema}.items SET state = 'pending', owner = %s, run = %s,"
            " item_index = %s, updated_at = clock_timestamp() WHERE job = %s AND key = %s",
            (self.owner, self._run, index, self.job, key),
        )

    async def _mark_in_flight(self, tx: _Transaction, keys: list[str]) -> None:
        cursor = await tx.connection.execute(
            f"UPDATE {self.schema}.items SET state = 'in_flight', attempts = attempts + 1,"
            " updated_at = clock_timestamp()"
            " WHERE job = %s AND key = ANY(%s) AND owner = %s"
            " AND state IN ('pending', 'uncertain')",
            (self.job, keys, self.owner),
        )
        if cursor.rowcount != len(set(keys)):
            # Never expected: a claim is only taken from a dead owner. Refuse
            # to send rather than risk a second copy.
            raise RuntimeError(
                f"the journal no longer holds the claim of {len(set(keys)) - cursor.rowcount}"
                f" of {len(set(keys))} items; they were not sent"
            )

    async def _release(self, tx: _Transaction, claims: list[tuple[str, int]]) -> None:
        async with tx.connection.cursor() as cursor:
            await cursor.executemany(
                f"UPDATE {self.schema}.items SET state = %s, attempts = attempts - 1,"
                " updated_at = clock_timestamp() WHERE job = %s AND key = %s AND owner = %s"
                " AND run = %s AND item_index = %s AND state = 'in_flight'",
                [
                    (
                        "uncertain" if key in self._resent else "pending",
                        self.job, key, self.owner, self._run, index,
                    )
                    for key, index in claims
                ],
            )  # fmt: skip

    async def _finish(self, tx: _Transaction, entries: list[Entry]) -> None:
        self._resent.difference_update(entry.key for entry in entries)
        async with tx.connection.cursor() as cursor:
            await cursor.executemany(
                f"UPDATE {self.schema}.items SET state = %s, result = %s, error = %s,"
                " refused = %s, updated_at = clock_timestamp()"
                " WHERE job = %s AND key = %s AND owner = %s",
                [
                    (e.state, e.result, e.error, e.refused, self.job, e.key, self.owner)
                    for e in entries
                ],
            )


_SEND = Claim("send")
_PEER = Claim("peer")


def check_job(job: object) -> None:
    """Refuse a job name that is not a name PostgreSQL can store.

    Raises:
        ValidationError: ``job`` is not text, is blank, or holds a NUL or a
            lone surrogate.
    """
    if not isinstance(job, str) or not job.strip():
        raise ValidationError("job", "must be a non-empty name")
    problem = text_problem(job)
    if problem is not None:
        raise ValidationError("job", problem)


async def _take_owner_id(connection: Any) -> int:
    """Hold the advisory lock of a fresh random owner id on ``connection``; return the id."""
    for _ in range(100):
        owner = 1 + secrets.randbelow(0x7FFFFFFF)  # never 0: the schema lock's key
        got = await (
            await connection.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (OWNER_LOCK_CLASS, owner)
            )
        ).fetchone()
        if got and got[0]:
            return owner
    raise ConfigurationError("could not take an owner id: 100 random ids were all in use")


async def register_job(
    connection: Any, schema: str, job: str, kind: str, *, provider: str | None = None
) -> None:
    """Record the job's kind (and provider), or check that it matches the one recorded.

    Raises:
        ConfigurationError: The job belongs to another kind of bulk method.
    """
    await connection.execute(
        f"INSERT INTO {schema}.jobs (job, kind, provider) VALUES (%s, %s, %s)"
        " ON CONFLICT (job) DO UPDATE SET provider = coalesce(jobs.provider, EXCLUDED.provider)",
        (job, kind, provider),
    )
    row = await (
        await connection.execute(f"SELECT kind FROM {schema}.jobs WHERE job = %s", (job,))
    ).fetchone()
    if row is not None and row[0] != kind:
        raise ConfigurationError(
            f"the job {job!r} belongs to a {row[0]!r} run, not {kind!r}: use another job name"
        )
