"""Small file reads off the event loop, on one thread the process shares.

A document given as a path is probed (its size, its first bytes, and the
whole of a small file) outside the event loop: the loop must never wait on
a disk. Through anyio's worker threads, a bulk run with 64 documents in
flight paid 0.3 ms of CPU per trip, more than the rest of a small request:
dozens of threads contended for the GIL (15 context switches per trip).
Here one thread reads whatever is queued, back to back, and hands each
event loop its finished reads in one callback.

On asyncio only. A task that trio schedules (also trio's guest mode and
trio-asyncio, which run on an asyncio loop) uses anyio's threads as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread

__all__ = ["in_trio_task", "run_in_file_thread"]

A = TypeVar("A")
T = TypeVar("T")

_Job = tuple[Callable[[Any], Any], Any, asyncio.AbstractEventLoop, "asyncio.Future[Any]"]
"""What to call, on what, and where its result goes."""

_Done = tuple["asyncio.Future[Any]", Any, BaseException | None]
"""A future, and the result or the error to give it."""


def in_trio_task() -> bool:
    """Whether trio schedules the running task (also when it runs inside asyncio's loop).

    trio-asyncio and trio's guest mode run trio on an asyncio loop: asking
    asyncio for its running loop would answer, and wrongly say asyncio.
    """
    trio = sys.modules.get("trio")
    if trio is None:
        return False
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True


class _FileThread:
    """The thread, started at first use, and what is queued for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued = threading.Condition(self._lock)
        self._jobs: list[_Job] = []
        self._thread: threading.Thread | None = None

    def submit(self, function: Callable[[A], T], argument: A) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            self._jobs.append((function, argument, loop, future))
            if self._thread is None:
                # A daemon: it only reads, so it may be stopped anywhere at exit.
                self._thread = threading.Thread(
                    target=self._run, name="signing_async files", daemon=True
                )
                self._thread.start()
            self._queued.notify()
        return future

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._jobs:
                    self._queued.wait()
                jobs, self._jobs = self._jobs, []
            done: dict[asyncio.AbstractEventLoop, list[_Done]] = {}
            for function, argument, loop, future in jobs:
                try:
                    result: _Done = (future, function(argument), None)
                except Exception as exc:
                    # Without this thread's frames: the error is raised in the loop's task.
                    result = (future, None, exc.with_traceback(None))
                done.setdefault(loop, []).append(result)
            del jobs
            for loop, results in done.items():
                with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                    loop.call_soon_threadsafe(_deliver, results)
            del done


def _deliver(results: list[_Done]) -> None:
    for future, value, error in results:
        if future.cancelled():  # its task gave up waiting
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


os.register_at_fork(after_in_child=_forget_after_fork)


async def run_in_file_thread(function: Callable[[A], T], argument: A) -> T:
    """``function(argument)`` off the event loop: a short, blocking file operation.

    On asyncio, in the process's file thread, which runs such calls one after
    another (so ``function`` must not wait long: open, stat, a read of a
    small file); under trio, in one of anyio's worker threads.

    Raises:
        Exception: What ``function`` raised.
    """
    if in_trio_task():
        return await anyio.to_thread.run_sync(function, argument)
    return await _file_thread.submit(function, argument)
