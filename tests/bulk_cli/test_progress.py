"""``BulkProgressBar``: plain lines when piped, a rich bar on a terminal."""

from __future__ import annotations

import io

from rich.console import Console

import signing_async as sa
from signing_async.cli._progress import BulkProgressBar, describe


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def feed(bar: BulkProgressBar, clock: Clock, count: int, *, failed_at: int = -1) -> None:
    """Report ``count`` items finishing one by one, a second apart, with bytes in between."""
    failed = 0
    for done in range(1, count + 1):
        failed += done == failed_at
        clock.now += 1
        bar(sa.BulkProgress(done=done - 1, in_flight=1, bytes_sent=done * 10))
        bar(sa.BulkProgress(done=done, succeeded=done - failed, failed=failed))


def test_plain_lines_come_every_tenth_of_the_total_and_once_at_the_end() -> None:
    out, clock = io.StringIO(), Clock()
    with BulkProgressBar("documents", total=45, fancy=False, stream=out, clock=clock) as bar:
        feed(bar, clock, 45, failed_at=3)
    lines = out.getvalue().splitlines()
    assert [line.split(":")[1].split()[0] for line in lines] == [
        "5/45", "9/45", "14/45", "18/45", "23/45", "27/45", "32/45", "36/45", "41/45", "45/45",
    ]  # fmt: skip
    assert lines[0] == "documents: 5/45 done (11%): 4 ok, 1 failed, 0 uncertain; 1.0/s, ETA 40s"
    assert lines[-1] == "documents: 45/45 done (100%): 44 ok, 1 failed, 0 uncertain; 1.0/s"


def test_the_last_counts_are_printed_when_the_run_stops_between_steps() -> None:
    out, clock = io.StringIO(), Clock()
    with BulkProgressBar("circuits", total=1000, fancy=False, stream=out, clock=clock) as bar:
        feed(bar, clock, 123)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # 100, then where it stopped
    assert lines[-1].startswith("circuits: 123/1000 done (12%): 123 ok")


def test_without_a_total_a_line_every_hundred_items() -> None:
    out, clock = io.StringIO(), Clock()
    with BulkProgressBar("contacts", fancy=False, stream=out, clock=clock) as bar:
        feed(bar, clock, 250)
    lines = out.getvalue().splitlines()
    assert [line.split(" done")[0] for line in lines] == [
        "contacts: 100", "contacts: 200", "contacts: 250",
    ]  # fmt: skip


def test_describe_without_elapsed_time_leaves_the_rate_out() -> None:
    progress = sa.BulkProgress(done=2, succeeded=1, skipped=1)
    assert (
        describe("x", progress, total=4, elapsed=0)
        == "x: 2/4 done (50%): 2 ok, 0 failed, 0 uncertain"
    )


def test_on_a_terminal_a_rich_bar_shows_the_counts() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    clock = Clock()
    with BulkProgressBar("documents", total=20, console=console, clock=clock) as bar:
        assert bar.fancy
        feed(bar, clock, 20, failed_at=7)
        bar(sa.BulkProgress(done=20, succeeded=18, failed=1, uncertain=1))
    text = screen.getvalue()
    assert "documents" in text
    assert "20/20" in text
    assert "1 failed" in text
    assert "1 uncertain" in text
    assert bar.latest.uncertain == 1
