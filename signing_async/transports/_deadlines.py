"""Total deadlines for many requests on one timer (asyncio).

aiohttp's own ``total`` timeout schedules and cancels a timer per request
and wraps every read of the body in a context that looks up the task:
about 5 % of a small request's CPU (7 µs of 140, measured at concurrency
64), paid for a deadline that almost never fires. Here a request writes its
deadline into a set; one timer, set for the earliest deadline, cancels the
task of a request past it. Requests that share a timeout come in deadline
order, so a new one almost never moves the timer.

A deadline binds only while its request is *waiting on the network*
(:meth:`Deadline.wait`): one that passes while the caller runs code of
its own between two reads must not cancel that code; it is reported by the
next read instead, as aiohttp's timer context does.
"""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["Deadline", "DeadlinePassed", "Deadlines"]

T = TypeVar("T")


class DeadlinePassed(Exception):
    """A request's total deadline passed, before or during a wait on the network."""


class Deadline:
    """One request's deadline; :meth:`Deadlines.start` makes it."""

    __slots__ = ("_task", "expired", "when")

    def __init__(self, when: float) -> None:
        self.when = when
        self.expired = False
        self._task: asyncio.Task[object] | None = None  # set while waiting on the network

    async def wait(self, waiting: Coroutine[Any, Any, T]) -> T:
        """Await ``waiting`` (a wait on the network) under this deadline.

        Raises:
            DeadlinePassed: The deadline passed before the wait (``waiting``
                is closed unrun) or during it (it was cancelled).
        """
        if self.expired:
            waiting.close()
            raise DeadlinePassed
        self._task = asyncio.current_task()
        try:
            return await waiting
        except asyncio.CancelledError:
            if not self._own_cancellation():
                raise
        finally:
            self._task = None  # the caller's code, between two waits, is never cancelled
        raise DeadlinePassed

    def expire(self) -> None:
        self.expired = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel("the request's total deadline passed")

    def _own_cancellation(self) -> bool:
        """Whether a ``CancelledError`` just caught is this deadline's own.

        False when someone else cancelled the task too (or instead): that
        cancellation must go on. On Python 3.11+ the deadline's own request
        is withdrawn, so that task groups and outer timeouts count right.
        Python 3.10 cannot tell: an outside cancellation in the same loop
        iteration as the deadline becomes the timeout, as it does with
        aiohttp's own timer there.
        """
        if not self.expired:
            return False
        if sys.version_info >= (3, 11):
            task = asyncio.current_task()
            return task is None or task.uncancel() == 0
        return True


class Deadlines:
    """The total deadlines of one transport's requests, kept by one timer."""

    def __init__(self) -> None:
        self._pending: set[Deadline] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    def start(self, seconds: float) -> Deadline:
        """A deadline ``seconds`` from now, watched until :meth:`finish`."""
        loop = asyncio.get_running_loop()
        deadline = Deadline(loop.time() + seconds)
        self._pending.add(deadline)
        if deadline.when < self._timer_at:
            self._schedule(loop, deadline.when)
        return deadline

    def finish(self, deadline: Deadline) -> None:
        """Stop watching ``deadline`` (its request is over); harmless twice."""
        self._pending.discard(deadline)

    def close(self) -> None:
        """Cancel the timer (the transport is closing) unless a request still needs it.

        A request may still be running on a session the caller owns (which
        closing the transport leaves open): its deadline must still fire.
        """
        if self._timer is not None and not self._pending:
            self._timer.cancel()
            self._timer, self._timer_at = None, math.inf

    def _schedule(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(when, self._fire, loop)
        self._timer_at = when

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer, self._timer_at = None, math.inf
        now = loop.time()
        earliest = math.inf
        for deadline in list(self._pending):
            if deadline.when <= now:
                self._pending.discard(deadline)
                deadline.expire()
            elif deadline.when < earliest:
                earliest = deadline.when
        if earliest < math.inf:
            self._schedule(loop, earliest)
