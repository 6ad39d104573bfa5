"""File reads off the event loop, on one thread the process shares.

A document given as a path is probed (its size, its first bytes, and the
whole of a small file), and streamed if it is up to 512 KiB, outside the
event loop: the loop must never wait on a disk. Through anyio's worker
threads, a bulk run with 64 documents in flight paid 0.3 ms of CPU per trip,
more than the rest of a small request: dozens of threads contended for the
GIL (15 context switches per trip). Here one thread runs whatever is queued,
back to back, and hands each event loop its finished calls in one callback.

One thread also means that one slow call delays the others. Once a call has
been running for longer than :data:`STUCK_AFTER` (a hung network mount, a
file fetched as it is read), the calls queued behind it move to anyio's
worker threads, and the calls finished before it are handed back: the next
caller does it, and so does each loop with calls on the thread, which looks
every :data:`STUCK_AFTER` seconds (a task waiting for its call makes no
other); so within twice that. Otherwise finished calls are handed back
whenever the queue is empty: handing them back every millisecond as well
cost a fifth of the throughput of a bulk run of small files.

On asyncio only. A task that trio schedules (also trio's guest mode and
trio-asyncio, which run on an asyncio loop) uses anyio's threads as before.
Context variables are not carried into the thread (no call here reads them).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread

from .async_library import in_trio_task

__all__ = ["STUCK_AFTER", "run_in_file_thread"]

T = TypeVar("T")

STUCK_AFTER = 0.05
"""Seconds after which a call on the file thread counts as stuck.

A probe of a local file takes tens of microseconds, a read of 512 KiB from
the page cache a few tens more and from a spinning disk a few
milliseconds; a call still running after this long waits on something slow,
and the others should not.
"""

_Job = tuple[Callable[..., Any], tuple[Any, ...], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]
"""What to call, with what, and where its result goes."""

_Done = tuple["asyncio.Future[Any]", Any, BaseException | None]
"""A future, and the result or the error to give it."""


class _FileThread:
    """The thread, started at first use, and the calls queued for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued = threading.Condition(self._lock)
        self._jobs: collections.deque[_Job] = collections.deque()
        self._thread: threading.Thread | None = None
        # When the call running now began (monotonic), or None between calls,
        # and the loop of the call taken last (until it is kept finished, see
        # _next). Written by the thread, read by the event loops: swapped whole.
        self._call_began: float | None = None
        self._call_loop: asyncio.AbstractEventLoop | None = None
        # The loops that will look whether the thread is stuck (see _watch);
        # weak, so that a loop dropped without closing it is not kept alive.
        self._watching: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
        # Finished calls not handed back yet, by loop: kept here, under the
        # lock, so that a loop can take them while the thread is stuck.
        self._done: dict[asyncio.AbstractEventLoop, list[_Done]] = {}

    def stuck(self) -> bool:
        """Whether the call running now has run longer than :data:`STUCK_AFTER`."""
        began = self._call_began
        return began is not None and time.monotonic() - began > STUCK_AFTER

    def submit(self, function: Callable[..., T], args: tuple[Any, ...]) -> asyncio.Future[T]:
        """Queue ``function(*args)``; its future is set on the running loop.

        Raises:
            RuntimeError: The thread could not be started (nothing was queued).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._thread is None:
                # A daemon: it only reads, so it may be stopped anywhere at exit.
                thread = threading.Thread(target=self._run, name="signing_async files", daemon=True)
                thread.start()
                self._thread = thread
            self._jobs.append((function, args, loop, future))
            self._queued.notify()
        if loop not in self._watching:
            self._watch(loop)
        return future

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Have ``loop`` look every :data:`STUCK_AFTER` seconds whether the
        thread is stuck, while it has calls there.

        Calls queued behind a stuck one are moved by the next caller; without
        one (every task waits for a call it queued), by this look. Only the
        loop's own thread adds or removes it.
        """
        self._watching.add(loop)
        loop.call_later(STUCK_AFTER, self._look, loop)

    def _look(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.stuck():
            self.unblock()
        with self._lock:
            waiting = (
                self._call_loop is loop
                or loop in self._done
                or any(queued is loop for _, _, queued, _ in self._jobs)
            )
        if waiting:
            loop.call_later(STUCK_AFTER, self._look, loop)
        else:
            self._watching.discard(loop)

    def unblock(self) -> None:
        """Free what waits on a stuck call: the calls queued behind it go to
        anyio's threads, and the calls finished before it to their loops."""
        with self._lock:
            done, self._done = self._done, {}
        _hand_back(done)
        for job in self.take_queued():
            _rescue(job)

    def take_queued(self) -> list[_Job]:
        """The calls queued and not started yet, taken from the thread."""
        with self._lock:
            jobs = list(self._jobs)
            self._jobs.clear()
        return jobs

    def _next(self, finished: tuple[asyncio.AbstractEventLoop, _Done] | None) -> _Job | None:
        """Keep the call just finished (if any) to hand back, and take the next one.

        One step under the lock, so that a loop's look always finds its call
        somewhere: queued, running (``_call_loop``) or finished.
        """
        with self._lock:
            if finished is not None:
                loop, result = finished
                self._done.setdefault(loop, []).append(result)
            job = self._jobs.popleft() if self._jobs else None
            self._call_loop = None if job is None else job[2]
            return job

    def _run(self) -> None:
        finished: tuple[asyncio.AbstractEventLoop, _Done] | None = None
        while True:
            job = self._next(finished)
            finished = None
            if job is None:
                with self._lock:
                    done, self._done = self._done, {}
                _hand_back(done)
                del done  # not held while waiting: the results may hold the caller's data
                with self._lock:
                    while not self._jobs:
                        self._queued.wait()
                continue
            function, args, loop, future = job
            self._call_began = time.monotonic()
            try:
                result: _Done = (future, function(*args), None)
            except BaseException as exc:  # every error is the caller's, none ends the thread
                result = (future, None, _raisable(exc))
            finally:
                self._call_began = None
            finished = (loop, result)
            # Not held while waiting for the next call: they may hold the
            # caller's data, or keep alive a loop its owner dropped.
            del job, function, args, loop, future, result


def _raisable(error: BaseException) -> BaseException:
    """``error`` as a future can hold it, without this thread's frames."""
    if isinstance(error, StopIteration):  # a future refuses it (it would end a coroutine)
        replaced = RuntimeError(f"the file call raised StopIteration: {error}")
        replaced.__cause__ = error.with_traceback(None)
        return replaced
    return error.with_traceback(None)


def _hand_back(done: dict[asyncio.AbstractEventLoop, list[_Done]]) -> None:
    for loop, results in done.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            loop.call_soon_threadsafe(_deliver, results)


_rescued: set[asyncio.Task[None]] = set()
"""Tasks running calls taken from a stuck thread (a task nobody holds may be collected)."""


def _rescue(job: _Job) -> None:
    """Run a call queued behind a stuck one in anyio's threads, from its own loop."""
    function, args, loop, future = job

    async def on_a_worker_thread() -> None:
        try:
            value = await anyio.to_thread.run_sync(function, *args)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:  # handed to the caller, as the thread would
            _deliver([(future, None, _raisable(exc))])
        else:
            _deliver([(future, value, None)])

    def start() -> None:
        if not future.done():
            task = loop.create_task(on_a_worker_thread())
            _rescued.add(task)
            task.add_done_callback(_rescued.discard)

    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
        loop.call_soon_threadsafe(start)


def _deliver(results: list[_Done]) -> None:
    for future, value, error in results:
        if future.done():  # its task gave up waiting (cancelled)
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


_file_thread = _FileThread()


def _forget_after_fork() -> None:
    # A forked child has the parent's queue but not its thread: start afresh.
    global _file_thread
    _file_thread = _FileThread()


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_forget_after_fork)


async def run_in_file_thread(function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` off the event loop: a short, blocking file operation.

    On asyncio, in the process's file thread, which runs such calls one
    after another (``function`` should not wait long: open, stat, a read of
    at most 512 KiB), or in anyio's worker threads while a call there is
    stuck; under trio, in anyio's worker threads.

    Raises:
        BaseException: What ``function`` raised (a ``StopIteration`` as a
            ``RuntimeError``, which a future can hold).
    """
    if in_trio_task():
        return await anyio.to_thread.run_sync(function, *args)
    if _file_thread.stuck():
        _file_thread.unblock()
        return await anyio.to_thread.run_sync(function, *args)
    return await _file_thread.submit(function, args)
