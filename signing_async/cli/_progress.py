"""A bulk run's progress on screen: a rich bar on a terminal, a few plain lines otherwise.

Feed it :class:`~signing_async.BulkProgress` snapshots by passing it as the
``progress=`` callback of any ``*_many`` method::

    with BulkProgressBar("documents", total=len(items), console=out.console) as bar:
        async with client.documents.create_many(items, progress=bar) as outcomes:
            async for outcome in outcomes:
                ...
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from .._core.bulk import BulkProgress

__all__ = ["BulkProgressBar", "describe"]

PLAIN_STEPS = 10
"""Without a terminal, a line each time another 1/PLAIN_STEPS of the total is done."""

PLAIN_EVERY = 100
"""Without a terminal and without a total, a line every this many items."""


class _RateColumn(ProgressColumn):
    """Items finished per second, as rich measures it."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:.1f}/s", style="progress.data.speed")


def describe(label: str, progress: BulkProgress, *, total: int | None, elapsed: float) -> str:
    """One plain line about ``progress``: counts, rate and, with a total, percentage and ETA.

    Example:
        ``documents: 100/1000 done (10%): 97 ok, 2 failed, 1 uncertain; 41.3/s, ETA 22s``

    A run the circuit breaker stopped ends with ``; stopped early`` (and no ETA).
    """
    done = progress.done
    head = f"{label}: {done}/{total} done" if total else f"{label}: {done} done"
    if total:
        head += f" ({100 * done // total}%)"
    ok = progress.succeeded + progress.skipped
    counts = f"{ok} ok, {progress.failed} failed, {progress.uncertain} uncertain"
    line = f"{head}: {counts}"
    if elapsed > 0 and done:
        rate = done / elapsed
        line += f"; {rate:.1f}/s"
        if total and total > done and progress.stopped is None:
            line += f", ETA {round((total - done) / rate)}s"
    if progress.stopped is not None:
        line += "; stopped early"
    return line


class BulkProgressBar:
    """Shows a bulk run's progress; call it with each :class:`BulkProgress`.

    On a terminal it draws a rich progress bar (done / total, failed and
    uncertain counts, rate, ETA). Otherwise it prints a plain line each time
    another tenth of ``total`` is done (every :data:`PLAIN_EVERY` items when
    the total is unknown) and a last one when it closes, so a log of a big
    run stays short.

    Use it as a context manager: the bar is drawn between enter and exit.

    Args:
        label: What is sent (``documents``).
        total: How many items the run has, when known (a manifest's rows).
        console: The rich console to draw on; a new one on stdout by default.
        fancy: Draw the rich bar; by default when ``console`` is a terminal.
        stream: Where plain lines go (stdout by default).
        clock: Seconds, for the rate (``time.monotonic``).
    """

    def __init__(
        self,
        label: str,
        *,
        total: int | None = None,
        console: Console | None = None,
        fancy: bool | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = total if total else None
        self.console = console or Console(highlight=False)
        self.fancy = self.console.is_terminal if fancy is None else fancy
        self.latest = BulkProgress()
        self._stream = stream
        self._clock = clock
        self._started = clock()
        self._printed_done = -1
        self._printed_step = 0
        self._shown: tuple[int, int, int, bool] = (0, 0, 0, False)
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def _plain_step(self, done: int) -> int:
        """Which step of the plain output ``done`` items reach: tenths of the total, or hundreds."""
        if self.total is None:
            return done // PLAIN_EVERY
        return done * PLAIN_STEPS // self.total

    def __enter__(self) -> BulkProgressBar:
        self._started = self._clock()
        if self.fancy:
            progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn() if self.total else TextColumn("{task.completed} done"),
                TextColumn("[red]{task.fields[failed]} failed"),
                TextColumn("[yellow]{task.fields[uncertain]} uncertain"),
                _RateColumn(),
                TimeRemainingColumn(),
                console=self.console,
            )
            self._task = progress.add_task(self.label, total=self.total, failed=0, uncertain=0)
            progress.start()
            self._progress = progress
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop drawing; without a terminal, print the last counts if not printed yet."""
        progress, self._progress = self._progress, None
        if progress is not None:
            progress.stop()
        elif not self.fancy and self.latest.done != self._printed_done:
            self._print()

    def __call__(self, progress: BulkProgress) -> None:
        """Take a new snapshot (the ``progress=`` callback of a bulk method)."""
        self.latest = progress
        stopped = progress.stopped is not None
        shown = (progress.done, progress.failed, progress.uncertain, stopped)
        if shown == self._shown:
            return  # only bytes or in-flight counts moved: nothing to redraw
        newly_stopped = stopped and not self._shown[3]
        self._shown = shown
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task,
                completed=progress.done,
                failed=progress.failed,
                uncertain=progress.uncertain,
                description=f"{self.label} (stopped)" if stopped else self.label,
            )
        elif not self.fancy:
            step = self._plain_step(progress.done)
            if step > self._printed_step or newly_stopped:
                self._printed_step = step
                self._print()

    def _print(self) -> None:
        self._printed_done = self.latest.done
        line = describe(
            self.label, self.latest, total=self.total, elapsed=self._clock() - self._started
        )
        print(line, file=self._stream or sys.stdout, flush=True)
