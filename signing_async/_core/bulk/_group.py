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
when any queued operation asked for it). A journal on an async database
driver (PostgreSQL) runs its transaction directly. Nothing here knows the
database.

:class:`ThreadCommit` is the same queue for a blocking backend (SQLite): a
thread of its own commits batch after batch, back to back, and hands each
batch's results to the event loop as it goes. Led from the event loop
instead, every commit would wait for the loop to come round three times
(to take the thread's answer, to wake the next leader, to hand the thread
the next batch): on a busy loop that is most of a commit's time, and
commits, one at a time, would bound the run.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import anyio

from ..errors import ConfigurationError

__all__ = ["Commit", "GroupCommit", "ThreadCommit"]

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

    def add(self, operation: Callable[[C], Any], durable: bool) -> int:
        """Queue ``operation`` in this batch; returns its position."""
        self.operations.append(operation)
        self.durable = self.durable or durable
        return len(self.operations) - 1

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
        return self._result(batch, batch.add(operation, durable))

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
            _deliver(batches, (), exc)
        except BaseException:
            # Cancelled (or worse) before the backend finished: the group goes
            # back to the head of the queue, for the next writer to commit, so
            # that no other writer is handed an exception that is not its own.
            self._queued[:0] = batches
            for batch in batches:
                batch.abandon()
            raise
        else:
            _deliver(batches, results, None)
        finally:
            self._running = False
            idle, self._idle = self._idle, anyio.Event()
            idle.set()


SyncCommit = Callable[[Sequence[Callable[[C], Any]], bool], Sequence[Any]]
"""Runs operations in one transaction, blocking (synced when asked); returns their results."""

CallSoon = Callable[[Callable[[], object]], object]
"""Schedules a callback on the event loop from another thread."""


def _running_loop() -> object:
    """The running event loop: asyncio's loop, or trio's token for it."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # not asyncio: anyio's other backend
        import trio

        return trio.lowlevel.current_trio_token()


def _call_soon(loop: object) -> CallSoon:
    """``loop``'s thread-safe way to be handed a callback."""
    if isinstance(loop, asyncio.AbstractEventLoop):
        return loop.call_soon_threadsafe
    run_sync_soon: CallSoon = getattr(loop, "run_sync_soon")  # noqa: B009 - trio's, untyped here
    return run_sync_soon


class ThreadCommit(Generic[C]):
    """:class:`GroupCommit`'s queue, committed by a thread of its own.

    Operations queue into the open batch, as with :class:`GroupCommit`;
    the thread takes every batch queued so far, commits them in one
    transaction, gives each writer its result through the event loop, and
    takes the next batches at once. A writer that is cancelled while it
    waits leaves its operation to be committed all the same.

    Create it inside the event loop that will use it (it takes that loop's
    thread-safe callback). :meth:`aclose` commits what is queued and stops
    the thread; :meth:`stop` does the same without waiting, and may be
    called from a finalizer. The thread holds no reference to whoever owns
    the queue, so an owner dropped without being closed is collected, and
    its finalizer can stop the thread.

    Args:
        commit: The backend, called in the thread: runs a group's operations
            in one transaction, synced to disk when its second argument is
            true, and returns one result per operation. If it raises an
            ``Exception``, every operation of the group fails with it.
        name: The thread's name, for a debugger or ``py-spy``.
        on_exit: Called in the thread as it ends (it may close the
            connection, whose one user the thread was).

    Attributes:
        commits: How many transactions were committed.
    """

    def __init__(
        self,
        commit: SyncCommit[C],
        *,
        name: str = "journal",
        on_exit: Callable[[], object] | None = None,
    ) -> None:
        self._commit = commit
        self._on_exit = on_exit
        self._loop = _running_loop()
        self._call_soon = _call_soon(self._loop)
        # Reentrant: a garbage collection may run stop() in a thread that holds it.
        self._lock = threading.RLock()
        self._work = threading.Condition(self._lock)
        self._queued: list[_Batch[C]] = []  # not yet taken by the thread, oldest first
        self._closing = False
        self.commits = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, operation: Callable[[C], T], *, durable: bool = False) -> Awaitable[T]:
        """Queue ``operation`` now; await the result to have it committed.

        As :meth:`GroupCommit.submit`: the order is fixed at the call.

        Raises:
            ConfigurationError: Called from another event loop than the one
                the queue was made in (its results could not reach this one).
            RuntimeError: The queue is closed.
        """
        if _running_loop() is not self._loop:
            # Its results could only reach the loop it was made in.
            raise ConfigurationError(
                "this bulk run's journal was opened in another event loop; a run"
                " belongs to the event loop (the asyncio.run) that started it"
            )
        with self._lock:
            if self._closing:
                raise RuntimeError("the journal is closed")
            if not self._queued:
                # Made here, on the event loop: its wake-up event belongs to the loop.
                self._queued.append(_Batch())
                self._work.notify()
            batch = self._queued[-1]
            position = batch.add(operation, durable)
        return self._result(batch, position)

    async def _result(self, batch: _Batch[C], position: int) -> Any:
        if not batch.done:
            # A batch committed already (a claim queued with the outcome just
            # awaited) is read at once: anyio's wait on a set event would go
            # round the event loop first.
            await batch.wake.wait()
        if batch.error is not None:
            raise batch.error
        return batch.results[position]

    def stop(self) -> None:
        """Commit what is queued, then let the thread end; does not wait for it."""
        with self._lock:
            self._closing = True
            self._work.notify()

    async def aclose(self) -> None:
        """Commit what is queued, then stop the thread. Calling it twice is harmless."""
        self.stop()
        await anyio.to_thread.run_sync(self._thread.join)

    def _run(self) -> None:
        """The thread: commit what is queued, batch after batch, until stopped."""
        try:
            while True:
                batches = self._take()
                if batches is None:
                    return
                delivered = self._commit_and_deliver(batches)
                # Not held while waiting: the operations may hold their owner.
                del batches
                if not delivered:
                    return
        finally:
            with self._lock:
                # Whatever ended the thread, nothing more is taken: later
                # writers hear that the journal is closed instead of waiting.
                self._closing = True
                self._queued.clear()
            if self._on_exit is not None:
                self._on_exit()

    def _take(self) -> list[_Batch[C]] | None:
        """Every batch queued so far, once there is one; None once stopped and drained."""
        with self._lock:
            while not self._queued and not self._closing:
                self._work.wait()
            batches, self._queued = self._queued, []
        return batches or None

    def _commit_and_deliver(self, batches: list[_Batch[C]]) -> bool:
        """Commit ``batches`` in one transaction; False if the event loop is gone."""
        operations = [operation for batch in batches for operation in batch.operations]
        durable = any(batch.durable for batch in batches)
        results: Sequence[Any] = ()
        error: Exception | None = None
        try:
            results = self._commit(operations, durable)
            if len(results) != len(operations):
                raise RuntimeError(f"{len(results)} results for {len(operations)} operations")
            self.commits += 1
        except Exception as exc:
            # Without the thread's frames, which hold the operations (and
            # through them whoever queued them): the error may be kept long.
            error = exc.with_traceback(None)
        try:
            self._call_soon(functools.partial(_deliver, batches, results, error))
        except RuntimeError:
            return False  # the event loop is closed: nobody is waiting any more
        return True


def _deliver(batches: list[_Batch[C]], results: Sequence[Any], error: Exception | None) -> None:
    """Hand each batch its results (or the group's error) and wake its writers (on the loop)."""
    start = 0
    for batch in batches:
        end = start + len(batch.operations)
        batch.operations = []  # done with: a waiter's frame keeps the batch, not what it ran
        if error is not None:
            batch.error = error
        else:
            batch.results = results[start:end]
        batch.finish()
        start = end
