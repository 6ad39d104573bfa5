"""Group commit: the journal writes of many items, one transaction.

A bulk run at concurrency 64 asks its journal for three small writes per
item (claim, in flight, outcome). Committed one by one, the in-flight marks
cost one disk sync each, and the run can go no faster than the disk syncs.
:class:`GroupCommit` queues the writes instead and commits, in one
transaction, everything that was queued while the previous commit ran: N
items whose requests are about to leave pay one sync, not N.

How it works, without a background task (so it needs no task group and runs
on asyncio and trio alike): operations queue into the open *batch*. The
first writer to wait on a batch leads it: it waits until no commit is
running, then commits every batch queued so far in one transaction. The
other writers of the batch sleep until their batch is committed: one
commit wakes only its own writers, and one leader (never the whole crowd)
waits for the commit before it. Operations commit in the order they were
queued, and :meth:`GroupCommit.submit` queues at the moment it is called
(not when its result is awaited), so a caller can fix an operation's place
in the order under a lock and wait for it after releasing the lock.

The backend is a single function, ``commit(operations, durable)``, that runs
the operations in one transaction and returns their results; ``durable``
says whether the commit must reach the disk before it returns (it is true
when any queued operation asked for it). The SQLite journal runs it in a
worker thread; a journal on an async database driver (PostgreSQL) would run
its transaction directly. Nothing here knows the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import anyio

__all__ = ["Commit", "GroupCommit"]

C = TypeVar("C")
T = TypeVar("T")

Operation = Callable[[C], Any]
"""One write: called with the backend's connection inside the shared transaction."""

Commit = Callable[[Sequence[Callable[[C], Any]], bool], Awaitable[Sequence[Any]]]
"""Runs operations in one transaction (synced to disk when asked); returns their results."""


class _Batch(Generic[C]):
    """The operations of one transaction, and what became of them."""

    __slots__ = ("done", "durable", "error", "led", "operations", "results", "wake")

    def __init__(self) -> None:
        self.operations: list[Callable[[C], Any]] = []
        self.durable = False
        self.done = False
        self.results: Sequence[Any] = ()
        self.error: Exception | None = None
        self.led = False  # one of its writers has taken the lead
        self.wake = anyio.Event()  # set when committed, or when its leader gave up

    def finish(self) -> None:
        self.done = True
        self.wake.set()

    def abandon(self) -> None:
        """Its leader left before committing it: wake the writers, one leads instead."""
        self.led = False
        wake, self.wake = self.wake, anyio.Event()
        wake.set()


class GroupCommit(Generic[C]):
    """Queues journal writes and commits each group of them in one transaction.

    Args:
        commit: The backend: runs a group's operations in one transaction,
            synced to disk when its second argument is true, and returns one
            result per operation. If it raises an ``Exception``, every
            operation of the group fails with it.

    Attributes:
        commits: How many transactions were committed (a figure for tests
            and benchmarks: with N writers at once, far fewer than N).
    """

    def __init__(self, commit: Commit[C]) -> None:
        self._commit = commit
        # Batches not committed yet, oldest first; new operations join the last.
        self._queued: list[_Batch[C]] = [_Batch()]
        self._running = False
        self._idle = anyio.Event()
        self.commits = 0

    def submit(self, operation: Callable[[C], T], *, durable: bool = False) -> Awaitable[T]:
        """Queue ``operation`` now; await the result to have it committed.

        Args:
            operation: Called with the connection inside the transaction.
            durable: The commit must be on disk before the result is given
                (a mark that must survive a power cut); otherwise it commits
                with the others, synced by the next durable commit.

        Returns:
            An awaitable of the operation's result, given once its
            transaction committed. Its place in the order is fixed now.

        Raises (when awaited):
            Exception: What the backend raised for the operation's group.
        """
        batch = self._queued[-1]
        position = len(batch.operations)
        batch.operations.append(operation)
        batch.durable = batch.durable or durable
        return self._result(batch, position)

    async def _result(self, batch: _Batch[C], position: int) -> Any:
        while not batch.done:
            if batch.led:
                await batch.wake.wait()
                continue
            batch.led = True
            try:
                while self._running:
                    await self._idle.wait()
                if not batch.done:  # a leader before this one may have taken it along
                    await self._lead()
            except BaseException:
                if not batch.done:
                    batch.abandon()
                raise
        if batch.error is not None:
            raise batch.error
        return batch.results[position]

    async def _lead(self) -> None:
        """Commit everything queued so far, as one transaction."""
        batches, self._queued = self._queued, [_Batch()]
        operations = [operation for batch in batches for operation in batch.operations]
        durable = any(batch.durable for batch in batches)
        self._running = True
        try:
            results = await self._commit(operations, durable)
            if len(results) != len(operations):
                raise RuntimeError(f"{len(results)} results for {len(operations)} operations")
            self.commits += 1
        except Exception as exc:
            for batch in batches:
                batch.error = exc
                batch.finish()
        except BaseException:
            # Cancelled (or worse) before the backend finished: the group goes
            # back to the head of the queue, for the next writer to commit, so
            # that no other writer is handed an exception that is not its own.
            self._queued[:0] = batches
            for batch in batches:
                batch.abandon()
            raise
        else:
            start = 0
            for batch in batches:
                end = start + len(batch.operations)
                batch.results = results[start:end]
                batch.finish()
                start = end
        finally:
            self._running = False
            idle, self._idle = self._idle, anyio.Event()
            idle.set()
