"""The process's file thread: small reads off the event loop, handed back per loop."""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import threading
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio

from signing_async._core import file_thread
from signing_async._core.async_library import in_trio_task
from signing_async._core.file_thread import STUCK_AFTER, run_in_file_thread
from signing_async._core.sources import load_source

T = TypeVar("T")


def test_trio_is_recognised_even_when_it_runs_on_asyncio_s_loop() -> None:
    # trio's guest mode on an asyncio loop is still trio: an asyncio future
    # cannot be awaited there (the bulk engine also yields twice under trio).
    async def in_trio() -> bool:
        return in_trio_task()

    async def guest() -> bool:
        return await as_trio_guest(in_trio)

    assert trio.run(in_trio) is True
    assert asyncio.run(guest()) is True
    assert asyncio.run(in_trio()) is False


async def as_trio_guest(function: Callable[[], Awaitable[T]]) -> T:
    """Run ``function`` in trio's guest mode on the running asyncio loop; its result."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()
    trio.lowlevel.start_guest_run(
        function,
        run_sync_soon_threadsafe=loop.call_soon_threadsafe,
        done_callback=done.set_result,  # the outcome, unwrapped below (an error included)
    )
    outcome = await asyncio.wait_for(done, 60)  # a bound on a hang, not a timing
    result: T = outcome.unwrap()
    return result


def _thread_and_double(number: int) -> tuple[str, int]:
    return threading.current_thread().name, 2 * number


class _HungCall:
    """A file call that blocks, as on a hung network mount, until released."""

    def __init__(self) -> None:
        self.started, self.released = threading.Event(), threading.Event()

    def __call__(self, _: None) -> str:
        self.started.set()
        self.released.wait(120)  # bounded: a test that forgets to release still ends
        return "slow"

    async def wait_started(self) -> None:
        assert await asyncio.to_thread(self.started.wait, 60)


async def test_many_calls_at_once_run_in_one_thread_and_each_gets_its_own_result() -> None:
    results = await asyncio.gather(*(run_in_file_thread(_thread_and_double, n) for n in range(200)))
    assert [doubled for _, doubled in results] == [2 * n for n in range(200)]
    assert {name for name, _ in results} == {"signing_async files"}


def _fail(path: Path) -> bytes:
    return path.read_bytes()


async def test_the_functions_error_is_raised_in_the_caller(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        await run_in_file_thread(_fail, tmp_path / "missing.pdf")
    # Raised without the thread's frames (they would keep its locals alive).
    assert all(entry.name != "_run" for entry in caught.traceback)


async def test_a_caller_that_gives_up_leaves_the_others_their_results() -> None:
    loop = asyncio.get_running_loop()
    problems: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _, context: problems.append(context))
    release = threading.Event()

    def blocked(_: None) -> str:
        release.wait()
        return "late"

    waiting = asyncio.ensure_future(run_in_file_thread(blocked, None))
    queued = asyncio.ensure_future(run_in_file_thread(_thread_and_double, 21))
    await asyncio.sleep(0)
    waiting.cancel()
    release.set()
    # Bounded: a delivery that failed on the cancelled future would leave it unset.
    assert await asyncio.wait_for(queued, 60) == ("signing_async files", 42)
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await run_in_file_thread(_thread_and_double, 1) == ("signing_async files", 2)
    assert problems == []  # no result was set on the cancelled future


def test_two_event_loops_at_once_each_get_their_own_results() -> None:
    gate = threading.Barrier(2, timeout=60)
    found: dict[int, list[int]] = {}

    def loop_in_a_thread(offset: int) -> None:
        async def main() -> list[int]:
            gate.wait()
            calls = (run_in_file_thread(_thread_and_double, offset + n) for n in range(100))
            return [doubled for _, doubled in await asyncio.gather(*calls)]

        found[offset] = asyncio.run(asyncio.wait_for(main(), 60))

    threads = [threading.Thread(target=loop_in_a_thread, args=(offset,)) for offset in (0, 1000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)  # a bound on a hang (results handed to the wrong loop)
    assert found == {offset: [2 * (offset + n) for n in range(100)] for offset in (0, 1000)}


def test_a_small_file_loads_under_trio_and_in_guest_mode(tmp_path: Path) -> None:
    path = tmp_path / "contract.pdf"
    path.write_bytes(b"%PDF-1.7 small")

    async def load() -> bytes | None:
        return (await load_source(path, field="file", default_name="d")).data

    async def guest() -> bytes | None:
        return await as_trio_guest(load)

    assert trio.run(load) == b"%PDF-1.7 small"
    assert asyncio.run(guest()) == b"%PDF-1.7 small"
    assert asyncio.run(load()) == b"%PDF-1.7 small"


def _in_a_forked_child() -> None:
    # The parent's thread is not in the child: a read must not wait for it.
    assert asyncio.run(run_in_file_thread(_thread_and_double, 4)) == ("signing_async files", 8)


# Python 3.12+ warns when a process with threads forks: here that is the point.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_starts_its_own_thread() -> None:
    assert asyncio.run(run_in_file_thread(_thread_and_double, 1))[1] == 2
    assert file_thread._file_thread._thread is not None  # the parent's is running
    child = multiprocessing.get_context("fork").Process(target=_in_a_forked_child)
    child.start()
    child.join(60)  # a bound on a hang, not a timing assertion
    if child.exitcode is None:
        child.kill()
        child.join()
    assert child.exitcode == 0


def _raise(error: BaseException) -> None:
    raise error


class _Odd(BaseException):
    """Not an Exception: it must still reach the caller, and not end the thread."""


@pytest.mark.parametrize(
    ("raised", "seen"), [(StopIteration("done"), RuntimeError), (_Odd("odd"), _Odd)]
)
async def test_any_error_reaches_the_caller_and_the_thread_goes_on(
    raised: BaseException, seen: type[BaseException]
) -> None:
    with pytest.raises(seen):
        await asyncio.wait_for(run_in_file_thread(_raise, raised), 60)
    assert await asyncio.wait_for(run_in_file_thread(_thread_and_double, 3), 60) == (
        "signing_async files",
        6,
    )


async def test_a_thread_that_cannot_start_queues_nothing_and_is_started_next_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh = file_thread._FileThread()
    start = threading.Thread.start
    failures = iter([RuntimeError("can't start new thread")])

    def failing_once(thread: threading.Thread) -> None:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", failing_once)
    with pytest.raises(RuntimeError, match="can't start"):
        fresh.submit(_thread_and_double, (1,))
    assert fresh.take_queued() == []
    assert await asyncio.wait_for(fresh.submit(_thread_and_double, (2,)), 60) == (
        "signing_async files",
        4,
    )


async def test_calls_behind_a_stuck_one_run_in_other_threads() -> None:
    hang = _HungCall()
    try:
        slow = asyncio.ensure_future(run_in_file_thread(hang, None))
        await hang.wait_started()
        behind = asyncio.ensure_future(run_in_file_thread(_thread_and_double, 1))
        await asyncio.sleep(0)  # queued behind the stuck call
        await asyncio.sleep(2 * STUCK_AFTER)  # now it counts as stuck (not a timing assertion)
        later = await asyncio.wait_for(run_in_file_thread(_thread_and_double, 2), 60)
        assert later[1] == 4
        assert later[0] != "signing_async files"
        assert (await asyncio.wait_for(behind, 60))[1] == 2
        assert not slow.done()
    finally:
        hang.released.set()
    assert await asyncio.wait_for(slow, 60) == "slow"
    assert await run_in_file_thread(_thread_and_double, 5) == ("signing_async files", 10)


async def test_calls_behind_a_stuck_one_are_moved_with_no_other_caller_coming() -> None:
    # A task waiting for its read makes no other call: no caller comes to
    # move what is queued. Its loop looks for itself.
    hang = _HungCall()
    try:
        # Both queued before the first starts: the second is queued behind
        # it, not sent straight to a worker thread by a caller finding it stuck.
        slow = asyncio.ensure_future(run_in_file_thread(hang, None))
        behind_it = asyncio.ensure_future(run_in_file_thread(_thread_and_double, 1))
        await asyncio.sleep(0)
        await hang.wait_started()
        behind = await asyncio.wait_for(behind_it, 60)
        assert behind[1] == 2
        assert behind[0] != "signing_async files"
        assert not slow.done()
    finally:
        hang.released.set()
    assert await asyncio.wait_for(slow, 60) == "slow"


def test_a_loop_done_with_is_not_kept_alive() -> None:
    # Its look at the thread is still pending when it stops: the thread
    # must not be what keeps it (or, unclosed, its selector) alive.
    loop = asyncio.new_event_loop()
    assert loop.run_until_complete(run_in_file_thread(_thread_and_double, 2))[1] == 4
    loop.close()
    dropped = weakref.ref(loop)
    del loop
    # Once the thread runs another call, it holds nothing of the last one.
    assert asyncio.run(run_in_file_thread(_thread_and_double, 1))[1] == 2
    gc.collect()
    assert dropped() is None


async def test_calls_finished_before_a_stuck_one_are_handed_back() -> None:
    # Finished calls are handed back when the queue empties: one finished
    # just before a call that hangs must not wait for it.
    gate, hang = threading.Event(), _HungCall()
    try:
        # The gate holds the thread until all three are queued, so the quick
        # call runs with the hanging one still queued behind it.
        gated = asyncio.ensure_future(run_in_file_thread(gate.wait, 60))
        quick = asyncio.ensure_future(run_in_file_thread(_thread_and_double, 3))
        slow = asyncio.ensure_future(run_in_file_thread(hang, None))
        await asyncio.sleep(0)
        gate.set()
        await hang.wait_started()
        # (On a machine slow enough, the gate's own call counts as stuck and
        # the quick one goes to a worker thread: either way, it is answered.)
        assert (await asyncio.wait_for(quick, 60))[1] == 6
        assert await asyncio.wait_for(gated, 60) is True
        assert not slow.done()
    finally:
        gate.set()
        hang.released.set()
    assert await asyncio.wait_for(slow, 60) == "slow"


async def test_a_loop_stops_looking_once_it_has_no_calls_on_the_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Another loop's call hangs on the thread: this loop, whose call is
    # done, has nothing to look after and must not wake up for it.
    looks: list[asyncio.AbstractEventLoop] = []
    look = file_thread._FileThread._look

    def counted(self: file_thread._FileThread, loop: asyncio.AbstractEventLoop) -> None:
        looks.append(loop)
        look(self, loop)

    monkeypatch.setattr(file_thread._FileThread, "_look", counted)
    hang = _HungCall()
    other = threading.Thread(target=lambda: asyncio.run(run_in_file_thread(hang, None)))
    other.start()
    try:
        await hang.wait_started()
        mine = asyncio.get_running_loop()
        assert (await asyncio.wait_for(run_in_file_thread(_thread_and_double, 1), 60))[1] == 2
        await asyncio.sleep(6 * STUCK_AFTER)  # a window for looks, not a timing assertion
        assert looks.count(mine) <= 2  # its first look finds nothing of its own there
    finally:
        hang.released.set()
        await asyncio.to_thread(other.join, 60)
