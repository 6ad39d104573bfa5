"""The bulk engine, driven through a real CoreSession on a MockTransport."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
import trio
from bulk_fake_api import FakeApi

from signing_async import (
    BadRequestError,
    BulkOutcome,
    BulkProgress,
    ConfigurationError,
    ConnectError,
    InvalidItem,
    MockTransport,
    Response,
    ResponseDecodeError,
    RetryPolicy,
    ServerError,
    Timeout,
    TransportError,
    ValidationError,
)
from signing_async._core.bulk import (
    BulkOptions,
    BulkRun,
    _group,
    _journal,
    run_bulk,
    run_bulk_batches,
)
from signing_async._core.bulk._journal import Claim, Entry
from signing_async._core.error_mapping import ErrorMapper
from signing_async._core.observe import current_observer
from signing_async._core.session import Call, CoreSession
from signing_async._core.validation import require_text
from signing_async.transports._mock import RecordedRequest

Item = dict[str, Any]
MODES = ["stream", "rounds"]


def key_of(item: Item) -> str:
    return require_text(item.get("key"), "key")


def make_items(count: int, start: int = 0) -> list[Item]:
    return [{"key": f"k{index}"} for index in range(start, start + count)]


def start(api: FakeApi, items: Any, **options: Any) -> BulkRun[dict[str, Any]]:
    return run_bulk(
        items, key=key_of, send=api.send, kind="fake items", options=BulkOptions(**options)
    )


async def collect(run: BulkRun[Any], mode: str = "stream") -> list[BulkOutcome[Any]]:
    got: list[BulkOutcome[Any]] = []
    await consume(run, got, mode)
    return got


async def consume(run: BulkRun[Any], got: list[BulkOutcome[Any]], mode: str = "stream") -> None:
    """Append the run's outcomes to ``got`` as they come (kept if the run raises)."""
    if mode == "stream":
        async with run as outcomes:
            async for outcome in outcomes:
                got.append(outcome)
    else:
        async for outcome in run:
            got.append(outcome)


def by_key(outcomes: Sequence[BulkOutcome[Any]]) -> dict[str | None, BulkOutcome[Any]]:
    found = {outcome.key: outcome for outcome in outcomes}
    assert len(found) == len(outcomes), "one outcome per key"
    return found


def journal_rows(path: Path) -> dict[str, tuple[str, int]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT key, state, attempts FROM items").fetchall()
    return {key: (state, attempts) for key, state, attempts in rows}


def check_invariants(api: FakeApi, outcomes: Sequence[BulkOutcome[Any]], count: int) -> None:
    """No key created twice; created and unconfirmed means uncertain; failed means not created."""
    assert sorted(outcome.index for outcome in outcomes) == list(range(count))
    for outcome in outcomes:
        created = api.created[outcome.key] if outcome.key else 0
        assert created <= 1, outcome
        if outcome.status == "succeeded":
            assert created == 1
            assert outcome.result == {"id": f"obj-{outcome.key}", "key": outcome.key}
        elif outcome.status == "failed":
            assert created == 0, outcome
        if created and outcome.status not in ("succeeded", "skipped"):
            assert outcome.status == "uncertain", outcome


@pytest.mark.parametrize("mode", MODES)
async def test_every_item_gets_one_outcome_and_a_failure_stops_nothing(mode: str) -> None:
    api = FakeApi(
        {
            "k1": ["400"],
            "k2": ["503", "503", "503"],
            "k3": ["503"],
            "k4": ["500-created"],
            "k5": ["connect", "connect", "connect"],
            "k6": ["drop-created"],
            "k7": ["drop"],
            "k8": ["garbage-created"],
        }
    )
    items = make_items(11)
    items[9]["invalid"] = True

    outcomes = await collect(start(api, items, concurrency=3), mode)

    check_invariants(api, outcomes, 11)
    found = by_key(outcomes)
    statuses = {key: outcome.status for key, outcome in found.items()}
    assert statuses == {
        "k0": "succeeded",
        "k1": "failed",
        "k2": "failed",
        "k3": "succeeded",
        "k4": "uncertain",
        "k5": "failed",
        "k6": "uncertain",
        "k7": "uncertain",
        "k8": "uncertain",
        "k9": "failed",
        "k10": "succeeded",
    }
    assert isinstance(found["k1"].error, BadRequestError)
    assert isinstance(found["k2"].error, ServerError)
    assert found["k2"].error.status == 503
    assert isinstance(found["k4"].error, ServerError)
    assert isinstance(found["k5"].error, ConnectError)
    assert isinstance(found["k8"].error, ResponseDecodeError)
    assert isinstance(found["k9"].error, ValidationError)
    assert api.received["k9"] == 0  # rejected before sending
    assert api.received["k3"] == 2  # the session retried the 503
    assert [o.ok for o in outcomes].count(True) == 3


async def test_at_most_concurrency_requests_in_flight_and_the_pipe_stays_full() -> None:
    api = FakeApi()
    # Every request waits until `concurrency` requests are in flight (or all that remain):
    # the run only finishes if the engine keeps the pipe full, and the maximum seen is exact.
    api.fill_to, api.total = 4, 25
    with anyio.fail_after(30):  # a hang guard, not a speed check
        outcomes = await collect(start(api, make_items(25), concurrency=4))
    assert len(outcomes) == 25
    assert all(outcome.status == "succeeded" for outcome in outcomes)
    assert api.max_in_flight == 4


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_items_are_pulled_lazily(kind: str) -> None:
    api = FakeApi({f"k{index}": ["hold"] for index in range(3)})
    pulled = 0

    def generate() -> Iterator[Item]:
        nonlocal pulled
        for item in make_items(40):
            pulled += 1
            yield item

    async def generate_async() -> AsyncIterator[Item]:
        for item in generate():
            yield item

    source = generate() if kind == "sync" else generate_async()
    outcomes: list[BulkOutcome[Any]] = []

    async def consume() -> None:
        outcomes.extend(await collect(start(api, source, concurrency=3)))

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(consume)
        await api.wait_for(lambda: api.held == 3)
        assert pulled == 3  # three workers, three items: nothing read ahead
        await api.release()
    assert pulled == 40
    assert len(outcomes) == 40


@pytest.mark.parametrize("journaled", [False, True])
async def test_a_duplicate_key_fails_and_is_never_sent(tmp_path: Path, journaled: bool) -> None:
    api = FakeApi()
    items = [{"key": key} for key in ("k0", "k1", "k0", "k2", "k1")]
    journal = tmp_path / "run.db" if journaled else None

    outcomes = await collect(start(api, items, concurrency=2, journal=journal))

    assert [o.status for o in sorted(outcomes, key=lambda o: o.index)] == [
        "succeeded",
        "succeeded",
        "failed",
        "succeeded",
        "failed",
    ]
    duplicate = next(o for o in outcomes if o.index == 2)
    assert isinstance(duplicate.error, ValidationError)
    assert "'k0' was already used by item 0 of this run" in str(duplicate.error)
    assert api.received == {"k0": 1, "k1": 1, "k2": 1}


async def test_unreadable_items_and_missing_keys_fail_alone(tmp_path: Path) -> None:
    api = FakeApi()
    items: list[Any] = [
        InvalidItem("jobs.jsonl line 1", "not valid JSON: Expecting value (column 1)"),
        {"nokey": "x"},
        {"key": "k2"},
    ]
    outcomes = sorted(await collect(start(api, items)), key=lambda o: o.index)

    assert [o.status for o in outcomes] == ["failed", "failed", "succeeded"]
    assert str(outcomes[0].error) == "jobs.jsonl line 1: not valid JSON: Expecting value (column 1)"
    assert outcomes[1].key is None
    assert str(outcomes[1].error) == "key: must be a non-empty string"
    assert sum(api.received.values()) == 1


async def test_a_key_is_optional_without_a_journal_and_required_with_one(tmp_path: Path) -> None:
    api = FakeApi()
    items = make_items(2)

    free = await collect(run_bulk(items, key=lambda item: None, send=api.send))
    assert [o.status for o in free] == ["succeeded", "succeeded"]

    journaled = await collect(
        run_bulk(
            items,
            key=lambda item: None,
            send=api.send,
            options=BulkOptions(journal=tmp_path / "j.db"),
        )
    )
    assert [o.status for o in journaled] == ["failed", "failed"]
    assert "needs its key when a journal is used" in str(journaled[0].error)
    assert sum(api.received.values()) == 2


async def test_a_journal_rerun_skips_resends_and_reports_uncertain(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    api = FakeApi({"k1": ["400"], "k2": ["drop-created"], "k3": ["500-created"]})
    items = make_items(6)
    items[4]["invalid"] = True

    first = by_key(await collect(start(api, items, journal=journal)))
    assert {k: o.status for k, o in first.items()} == {
        "k0": "succeeded",
        "k1": "failed",
        "k2": "uncertain",
        "k3": "uncertain",
        "k4": "failed",
        "k5": "succeeded",
    }
    assert journal_rows(journal) == {
        "k0": ("succeeded", 1),
        "k1": ("failed", 1),
        "k2": ("uncertain", 1),
        "k3": ("uncertain", 1),
        "k4": ("failed", 0),  # never sent
        "k5": ("succeeded", 1),
    }

    items[4]["invalid"] = False  # the bad row was fixed
    second = by_key(await collect(start(api, items, journal=journal), "rounds"))
    assert {k: o.status for k, o in second.items()} == {
        "k0": "skipped",
        "k1": "failed",  # refused by the provider (400): reported again, not resent
        "k2": "uncertain",
        "k3": "uncertain",
        "k4": "succeeded",  # it never left: a rerun sends it
        "k5": "skipped",
    }
    assert second["k0"].result == first["k0"].result  # decoded from the journal
    assert second["k0"].ok
    assert isinstance(second["k1"].error, ValidationError)
    assert "refused it in an earlier run" in str(second["k1"].error)
    assert "HTTP 400" in str(second["k1"].error)
    assert isinstance(second["k2"].error, TransportError)
    assert "on_uncertain='resend'" in str(second["k2"].error)
    assert api.received == {"k0": 1, "k1": 1, "k2": 1, "k3": 1, "k4": 1, "k5": 1}

    third = by_key(await collect(start(api, items, journal=journal, on_uncertain="resend")))
    assert {k for k, o in third.items() if o.status == "succeeded"} == {"k2", "k3"}
    assert {k for k, o in third.items() if o.status == "skipped"} == {"k0", "k4", "k5"}
    assert third["k1"].status == "failed"
    assert api.created["k2"] == 2  # asked for: resend sends again what may exist

    fourth = by_key(await collect(start(api, items, journal=journal)))
    assert {k for k, o in fourth.items() if o.status == "skipped"} == {"k0", "k2", "k3", "k4", "k5"}
    assert sum(api.received.values()) == 8  # 5, then k4, then k2 and k3


async def test_a_resent_uncertain_item_that_fails_stays_uncertain(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    api = FakeApi({"k0": ["drop-created", "400"]})
    await collect(start(api, make_items(1), journal=journal))

    (again,) = await collect(start(api, make_items(1), journal=journal, on_uncertain="resend"))

    # The first attempt may have created it; a refusal of the second does not undo that.
    assert again.status == "uncertain"
    assert isinstance(again.error, BadRequestError)
    assert journal_rows(journal) == {"k0": ("uncertain", 2)}


async def test_a_cancelled_run_leaves_in_flight_rows_that_rerun_as_uncertain(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "run.db"
    api = FakeApi({f"k{index}": ["hold"] for index in range(3)})
    items = make_items(10)

    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(collect, start(api, items, concurrency=3, journal=journal))
            await api.wait_for(lambda: api.held == 3)
            scope.cancel()
    assert scope.cancelled_caught
    assert journal_rows(journal) == {f"k{index}": ("in_flight", 1) for index in range(3)}

    await api.release()
    rerun = by_key(await collect(start(api, items, concurrency=3, journal=journal)))
    assert {k for k, o in rerun.items() if o.status == "uncertain"} == {"k0", "k1", "k2"}
    assert {k for k, o in rerun.items() if o.status == "succeeded"} == {
        f"k{index}" for index in range(3, 10)
    }
    assert all(api.received[key] == 1 for key in rerun)


async def test_an_item_claimed_but_not_yet_sent_is_sent_on_rerun(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    api = FakeApi({"k0": ["hold"]})
    preparing = anyio.Event()

    async def slow_to_prepare(item: Item) -> dict[str, Any]:
        if item["key"] == "k1":
            preparing.set()
            await anyio.sleep_forever()  # still reading its documents when the run dies
        return await api.send(item)

    items = make_items(2)
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as task_group:
            run = run_bulk(
                items,
                key=key_of,
                send=slow_to_prepare,
                options=BulkOptions(concurrency=2, journal=journal),
                kind="fake items",
            )
            task_group.start_soon(collect, run)
            await api.wait_for(lambda: api.held == 1)
            await preparing.wait()
            scope.cancel()
    assert journal_rows(journal) == {"k0": ("in_flight", 1), "k1": ("pending", 0)}

    await api.release()
    rerun = by_key(await collect(start(api, items, journal=journal)))
    assert rerun["k0"].status == "uncertain"
    assert rerun["k1"].status == "succeeded"  # pending: certainly never sent


async def test_breaking_out_of_a_bare_async_for_leaves_nothing_running(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    api = FakeApi()
    pulled = 0
    # The test runner's own tasks, this test's included: anything more is left over.
    tasks_before = asyncio.all_tasks()

    def generate() -> Iterator[Item]:
        nonlocal pulled
        for item in make_items(20):
            pulled += 1
            yield item

    run = start(api, generate(), concurrency=4, journal=journal)
    async for outcome in run:
        assert outcome.status == "succeeded"
        break
    del run
    # anyio's worker thread hands back a call's result before it drops its own
    # reference to the call (here the journal's bound method): one more call
    # on that worker, the most recently idle one, makes sure it has.
    await anyio.to_thread.run_sync(lambda: None)
    gc.collect()  # a bare loop left with break releases the journal when the run is collected

    assert api.in_flight == 0
    assert asyncio.all_tasks() == tasks_before
    assert pulled == 4  # one round of four
    assert journal_rows(journal) == {f"k{index}": ("succeeded", 1) for index in range(4)}
    for _ in range(3):
        await anyio.lowlevel.checkpoint()  # the loop is healthy: no stray cancellation arrives

    rest = await collect(start(api, make_items(20), journal=journal))
    assert sum(outcome.status == "skipped" for outcome in rest) == 4
    assert all(count == 1 for count in api.received.values())


async def test_aclosing_a_bare_run_releases_the_journal_at_once(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    api = FakeApi()
    run = start(api, make_items(10), concurrency=2, journal=journal)
    async with contextlib.aclosing(run):
        async for _ in run:
            break
    # Still referenced, yet closed: a second run may use the journal.
    again = await collect(start(api, make_items(10), journal=journal))
    assert sum(outcome.status == "skipped" for outcome in again) == 2
    assert [o async for o in run] == []


async def test_leaving_async_with_early_finishes_what_was_sent(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    api = FakeApi()
    pulled = 0
    tasks_before = asyncio.all_tasks()  # the test runner's, this test's included

    def generate() -> Iterator[Item]:
        nonlocal pulled
        for item in make_items(50):
            pulled += 1
            yield item

    async with start(api, generate(), concurrency=4, journal=journal) as outcomes:
        async for _ in outcomes:
            break

    assert api.in_flight == 0
    assert asyncio.all_tasks() == tasks_before
    assert pulled <= 1 + 4 + 4  # consumed, buffered, in the workers' hands
    rows = journal_rows(journal)
    assert len(rows) == pulled
    # What was sent finished; an item a worker had pulled ahead, not sent
    # when the caller left, stays pending (it was never in flight).
    assert {key for key, row in rows.items() if row == ("succeeded", 1)} == set(api.received)
    assert {row for key, row in rows.items() if key not in api.received} <= {("pending", 0)}


async def test_an_exception_in_the_loop_cancels_the_run_and_keeps_the_journal_true(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "run.db"
    api = FakeApi({"k5": ["hold"], "k6": ["hold"]})
    tasks_before = asyncio.all_tasks()  # the test runner's, this test's included

    async def buggy_consumer() -> None:
        async with start(api, make_items(30), concurrency=3, journal=journal) as outcomes:
            async for _ in outcomes:
                if api.held == 2:
                    raise KeyError("consumer bug")

    with pytest.raises(KeyError):
        await buggy_consumer()

    assert asyncio.all_tasks() == tasks_before
    rows = journal_rows(journal)
    assert rows["k5"] == ("in_flight", 1)
    assert rows["k6"] == ("in_flight", 1)
    assert {state for state, _ in rows.values()} <= {"pending", "in_flight", "succeeded"}

    await api.release()
    rerun = by_key(await collect(start(api, make_items(30), journal=journal)))
    assert {k for k, o in rerun.items() if o.status == "uncertain"} == {"k5", "k6"}
    assert all(o.ok for k, o in rerun.items() if k not in ("k5", "k6"))
    assert all(count == 1 for count in api.received.values())


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("journal_state", ["new", "used"])
@pytest.mark.parametrize("canceller", ["loop", "progress"])
def test_a_run_cancelled_on_an_outcome_sends_nothing_more_and_leaves_nothing_in_flight(
    tmp_path: Path, backend: str, journal_state: str, canceller: str
) -> None:
    # The next item is claimed in the commit of the outcome that leads the
    # caller to cancel (in a new journal, also marked in flight): nothing
    # may have left, so nothing may be left in flight for the rerun to
    # report uncertain. The caller cancels from its loop, or from the
    # progress callback; a used journal claims without marking. Ten times
    # over: trio runs the tasks that are ready in a random order.

    async def once(journal: Path) -> None:
        api = FakeApi({})
        if journal_state == "used":
            await collect(start(api, [{"key": "earlier"}], journal=journal))
        with anyio.CancelScope() as scope:

            def cancel_after_the_first(progress: BulkProgress) -> None:
                if progress.done == 1:
                    scope.cancel()

            progress = cancel_after_the_first if canceller == "progress" else None
            run = start(api, make_items(5), concurrency=1, journal=journal, progress=progress)
            async with run as outcomes:
                async for _ in outcomes:
                    if canceller == "loop":
                        scope.cancel()
        assert scope.cancelled_caught
        rows = journal_rows(journal)
        assert rows["k0"] == ("succeeded", 1)
        assert {rows[f"k{i}"][0] for i in range(1, 5) if f"k{i}" in rows} <= {"pending"}, rows

        rerun = by_key(await collect(start(api, make_items(5), journal=journal)))
        assert rerun["k0"].status == "skipped"
        assert all(rerun[f"k{index}"].status == "succeeded" for index in range(1, 5))
        assert {key: api.received[key] for key in rerun} == dict.fromkeys(rerun, 1)

    async def main() -> None:
        for attempt in range(10):
            await once(tmp_path / f"run-{attempt}.db")

    anyio.run(main, backend=backend)


async def test_an_answer_whose_record_a_cancellation_cut_short_is_counted_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The run is cancelled while the commit holding k0's outcome runs: the
    # worker stops waiting for it (the journal commits it as it closes), and
    # the counts still say k0 is done, not in flight (the CLI tells the user
    # what the next run will report from them).
    loop = asyncio.get_running_loop()
    scope = anyio.CancelScope()
    connect = _journal._connect

    def connect_slowly(path: Path, kind: str) -> sqlite3.Connection:
        db = connect(path, kind)

        def traced(statement: str) -> None:
            if statement.startswith("UPDATE items SET state") and ", result = " in statement:
                loop.call_soon_threadsafe(scope.cancel)
                time.sleep(0.2)  # an outcome's commit, still running when the cancellation lands

        db.set_trace_callback(traced)
        return db

    monkeypatch.setattr(_journal, "_connect", connect_slowly)
    api = FakeApi({})
    seen: list[BulkProgress] = []
    journal = tmp_path / "run.db"
    with scope:
        run = start(api, make_items(3), concurrency=1, journal=journal, progress=seen.append)
        await collect(run)

    assert scope.cancelled_caught
    assert dict(api.received) == {"k0": 1}
    assert (seen[-1].done, seen[-1].succeeded, seen[-1].in_flight) == (1, 1, 0)
    assert journal_rows(journal)["k0"] == ("succeeded", 1)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("unit", ["item", "batch"])
def test_a_run_cancelled_while_a_mark_is_written_leaves_its_items_pending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str, unit: str
) -> None:
    # In a used journal (or in batches) items are claimed, then marked in
    # flight just before their request. The run is cancelled while the
    # second request's mark is being committed: the commit lands all the
    # same, but the request never leaves, so the mark is undone, and the
    # rerun sends those items instead of reporting them uncertain.
    journal = tmp_path / "run.db"
    size = 2 if unit == "batch" else 1
    left: list[str] = []
    cancelled = threading.Event()
    connect = _journal._connect
    first = [key_of(item) for item in make_items(size)]
    second = [key_of(item) for item in make_items(size, start=size)]
    marked: list[str] = []

    async def send_batch(items: Sequence[Item]) -> Sequence[dict[str, Any]]:
        observer = current_observer()
        assert observer is not None
        await observer.sending()
        left.extend(key_of(item) for item in items)
        return [{"id": key_of(item)} for item in items]

    def start_run(items: list[Item], **options: Any) -> BulkRun[dict[str, Any]]:
        return run_bulk_batches(
            items,
            key=key_of,
            send_batch=send_batch,
            batch_size=size,
            kind="fake items",
            options=BulkOptions(**options),
        )

    async def main() -> None:
        if unit == "item":
            await collect(start_run([{"key": "earlier"}], journal=journal))
            left.clear()
        call_soon = _group._call_soon(_group._running_loop())
        scope = anyio.CancelScope()

        def cancel() -> None:
            scope.cancel()  # the worker awaiting the mark is cancelled at once
            cancelled.set()

        def connect_tracing(path: Path, kind: str) -> sqlite3.Connection:
            db = connect(path, kind)

            def traced(statement: str) -> None:
                # SQLite gives the statement with its values.
                if statement.startswith("UPDATE items SET state = 'in_flight'"):
                    marked.append(statement.rpartition("WHERE key = ")[2].strip("'"))
                    if marked[-1] == second[-1]:  # the second request's mark, in its commit
                        call_soon(cancel)
                        cancelled.wait()

            db.set_trace_callback(traced)
            return db

        monkeypatch.setattr(_journal, "_connect", connect_tracing)
        with scope:
            await collect(start_run(make_items(3 * size), concurrency=1, journal=journal))
        monkeypatch.undo()
        assert scope.cancelled_caught

        assert marked == first + second
        assert left == first  # the second request never left
        rows = journal_rows(journal)
        assert {key: rows[key] for key in first} == dict.fromkeys(first, ("succeeded", 1))
        assert {key: rows[key] for key in second} == dict.fromkeys(second, ("pending", 0))
        left.clear()
        rerun = by_key(await collect(start_run(make_items(3 * size), journal=journal)))
        assert {key for key, outcome in rerun.items() if outcome.status == "skipped"} == set(first)
        assert sorted(left) == sorted(key_of(item) for item in make_items(2 * size, start=size))

    anyio.run(main, backend=backend)


class _AwaitedJournal:
    """A journal with release and claim_sending whose writes happen only while awaited.

    k1's mark is written, then its wait hangs until the run is cancelled.
    """

    fresh = True

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.marked: set[str] = set()
        self.k1_marked = anyio.Event()

    async def open_run(self, *, kind: str, resend_uncertain: bool) -> Any:
        return self

    async def claim(self, key: str, index: int) -> Claim:
        self.calls.append("claim")
        return Claim("send")

    async def claim_sending(self, key: str, index: int) -> Claim:
        self.calls.append("claim_sending")
        return Claim("send")

    async def mark_in_flight(self, keys: Sequence[str]) -> None:
        self.calls.append("mark_in_flight")
        self.marked.update(keys)
        if "k1" in keys:
            self.k1_marked.set()
            await anyio.sleep_forever()

    async def release(self, claims: Sequence[tuple[str, int]]) -> None:
        self.calls.append("release")
        await anyio.lowlevel.checkpoint()  # a write that takes a round trip
        self.marked.difference_update(key for key, index in claims if (key, index) == ("k1", 1))

    async def finish(self, entries: Sequence[Entry]) -> None:
        self.calls.append("finish")
        self.marked.difference_update(entry.key for entry in entries)

    async def aclose(self) -> None:
        pass


async def test_a_journal_writing_only_when_awaited_has_its_release_awaited() -> None:
    # Without commits_unawaited, a release queued and left unawaited would
    # never be written. The engine marks such a journal's items just before
    # their request (never at the claim, whose undoing could not wait), and
    # a run cancelled during k1's mark awaits k1's release, shielded.
    journal = _AwaitedJournal()
    api = FakeApi({})
    scope = anyio.CancelScope()

    async def consumer() -> None:
        with scope:
            await collect(start(api, make_items(3), concurrency=1, journal=journal))

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(consumer)
        await journal.k1_marked.wait()
        scope.cancel()

    assert scope.cancelled_caught
    assert dict(api.received) == {"k0": 1}
    assert "claim_sending" not in journal.calls
    assert journal.calls.count("release") == 1
    assert journal.marked == set()  # k0 finished, k1 released


class _WaiterLedJournal:
    """A journal that writes an outcome only while someone awaits it (as PostgreSQL's does)."""

    def __init__(self) -> None:
        self.waiting = anyio.Event()  # a worker awaits its outcome's write
        self.gate = anyio.Event()  # the write may go through
        self.written: dict[str, str] = {}

    async def open_run(self, *, kind: str, resend_uncertain: bool) -> _WaiterLedJournal:
        return self

    async def claim(self, key: str, index: int) -> Claim:
        return Claim("send")

    async def mark_in_flight(self, keys: Sequence[str]) -> None:
        pass

    async def finish(self, entries: Sequence[Entry]) -> None:
        self.waiting.set()
        await self.gate.wait()
        self.written.update((entry.key, entry.state) for entry in entries)

    async def aclose(self) -> None:
        pass


async def test_a_cancelled_worker_waits_for_a_journal_that_writes_only_when_awaited() -> None:
    # Without commits_unawaited, the outcome's write is awaited shielded: an
    # answer received is recorded even though the run is being cancelled.
    journal = _WaiterLedJournal()
    api = FakeApi({})
    scope = anyio.CancelScope()

    async def consumer() -> None:
        with scope:
            async with start(api, make_items(3), concurrency=1, journal=journal) as outcomes:
                async for _ in outcomes:
                    pass

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(consumer)
        await journal.waiting.wait()
        scope.cancel()
        for _ in range(20):  # the cancellation reaches the worker, which keeps waiting
            await anyio.lowlevel.checkpoint()
        assert journal.written == {}
        journal.gate.set()

    assert scope.cancelled_caught
    assert journal.written == {"k0": "succeeded"}
    assert dict(api.received) == {"k0": 1}


@pytest.mark.parametrize("mode", MODES)
async def test_progress_counts_every_change(mode: str) -> None:
    api = FakeApi({"k1": ["400"], "k2": ["drop-created"]})
    seen: list[BulkProgress] = []
    items = [{"key": f"k{index}", "size": 1000 * index} for index in range(8)]

    outcomes = await collect(start(api, items, concurrency=3, progress=seen.append), mode)

    last = seen[-1]
    assert last == BulkProgress(
        done=8,
        succeeded=6,
        failed=1,
        skipped=0,
        uncertain=1,
        in_flight=0,
        bytes_sent=sum(len(request.content) for request in api.transport.requests),
    )
    assert last.bytes_sent > 28_000
    assert len(outcomes) == 8
    assert all(0 <= p.in_flight <= 3 for p in seen)
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    assert max(p.in_flight for p in seen) >= 1


async def test_a_failing_progress_callback_stops_the_run_and_is_raised() -> None:
    api = FakeApi()
    got: list[BulkOutcome[Any]] = []

    def broken(progress: BulkProgress) -> None:
        if progress.done == 2:
            raise ZeroDivisionError("display bug")

    with pytest.raises(ZeroDivisionError):
        await consume(start(api, make_items(100), concurrency=2, progress=broken), got)
    assert 2 <= len(got) < 100
    assert sum(api.received.values()) == len(got)  # whatever was sent was reported


@pytest.mark.parametrize("mode", MODES)
async def test_an_input_error_is_raised_after_the_outcomes_of_what_was_read(mode: str) -> None:
    api = FakeApi()

    def generate() -> Iterator[Item]:
        yield from make_items(3)
        raise OSError("manifest unreadable")

    got: list[BulkOutcome[Any]] = []
    run = start(api, generate(), concurrency=2)
    with pytest.raises(OSError, match="manifest unreadable"):
        await consume(run, got, mode)
    assert sorted(o.key for o in got if o.key) == ["k0", "k1", "k2"]


async def test_a_journal_of_another_job_or_in_use_is_refused(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    api = FakeApi()
    await collect(start(api, make_items(1), journal=journal))

    other = run_bulk(
        make_items(1), key=key_of, send=api.send, options=BulkOptions(journal=journal), kind="other"
    )
    with pytest.raises(ConfigurationError, match="belongs to a 'fake items' job"):
        await collect(other)

    async with start(api, make_items(1), journal=journal):
        with pytest.raises(ConfigurationError, match="in use by another run"):
            await collect(start(api, make_items(1), journal=journal))

    not_a_journal = tmp_path / "notes.db"
    not_a_journal.write_text("hello, this is not SQLite\n" * 100)
    with pytest.raises(ConfigurationError, match="not a journal"):
        await collect(start(api, make_items(1), journal=not_a_journal))


async def test_the_journal_is_in_wal_mode(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    await collect(start(FakeApi(), make_items(2), journal=journal))
    with contextlib.closing(sqlite3.connect(journal)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        (stored,) = db.execute("SELECT result FROM items WHERE key = 'k1'").fetchone()
    assert json.loads(stored) == {"id": "obj-k1", "key": "k1"}


@pytest.mark.parametrize(
    ("field", "items", "options"),
    [
        ("concurrency", [], {"concurrency": 0}),
        ("concurrency", [], {"concurrency": True}),
        ("concurrency", [], {"concurrency": 10**7}),  # a task and a connection each
        ("concurrency", [], {"concurrency": -(10**5000)}),  # past int()'s digits, in a message
        ("on_uncertain", [], {"on_uncertain": "maybe"}),
        ("on_uncertain", [], {"on_uncertain": [[[["resend"]]]]}),
        # Found only after a request had left, as a TypeError:
        ("progress", [{"key": "k0"}], {"progress": 5}),
        ("items", None, {}),
        ("items", 5, {}),
        ("items", "abc", {}),  # one item per character: never what was meant
        ("items", b"abc", {}),
    ],
)
def test_bad_options_are_refused_before_anything_is_sent(
    field: str, items: Any, options: dict[str, Any]
) -> None:
    async def never(item: Item) -> None:
        raise AssertionError("nothing may be sent")

    with pytest.raises(ValidationError) as caught:
        run_bulk(items, key=key_of, send=never, options=BulkOptions(**options))
    assert caught.value.field == field


async def test_batches_are_journaled_together(tmp_path: Path) -> None:
    journal = tmp_path / "batches.db"
    batches: list[list[str]] = []

    def handle(request: RecordedRequest) -> Response:
        keys = json.loads(request.content)
        batches.append(keys)
        if "k4" in keys:
            raise TransportError("connection lost after sending", request_sent=True)
        return Response(200, content=json.dumps([{"ok": key} for key in keys]).encode())

    session = CoreSession(MockTransport(handle), retry=RetryPolicy(), timeout=Timeout())

    async def send_batch(items: Sequence[Item]) -> Sequence[dict[str, Any] | Exception]:
        keys = [item["key"] for item in items]
        call = Call(
            "Fake", "batch", "POST", "https://api.test/batch", ErrorMapper("Fake"),
            body=json.dumps(keys).encode(),
        )  # fmt: skip
        answers: list[dict[str, Any]] = await session.json(call)
        return [
            BadRequestError("refused", status=400, provider="Fake") if key == "k1" else answer
            for key, answer in zip(keys, answers, strict=True)
        ]

    run = run_bulk_batches(
        make_items(7), key=key_of, send_batch=send_batch, batch_size=3,
        options=BulkOptions(concurrency=1, journal=journal),
    )  # fmt: skip
    outcomes = by_key(await collect(run))

    assert batches == [["k0", "k1", "k2"], ["k3", "k4", "k5"], ["k6"]]
    assert {k: o.status for k, o in outcomes.items()} == {
        "k0": "succeeded",
        "k1": "failed",
        "k2": "succeeded",
        "k3": "uncertain",
        "k4": "uncertain",
        "k5": "uncertain",
        "k6": "succeeded",
    }
    assert outcomes["k2"].result == {"ok": "k2"}
    assert journal_rows(journal)["k5"] == ("uncertain", 1)


def test_the_engine_runs_on_trio(tmp_path: Path) -> None:
    journal = tmp_path / "trio.db"

    async def main() -> list[BulkOutcome[Any]]:
        api = FakeApi({"k2": ["drop-created"]})
        return await collect(start(api, make_items(6), concurrency=2, journal=journal))

    outcomes = trio.run(main)
    assert sorted(o.status for o in outcomes) == ["succeeded"] * 5 + ["uncertain"]
    assert journal_rows(journal)["k2"] == ("uncertain", 1)


async def test_an_iterable_of_the_old_sequence_protocol_is_taken() -> None:
    # __getitem__ alone is iterable to iter(), and was taken before options were checked.
    class Rows:
        def __getitem__(self, index: int) -> Item:
            if index >= 3:
                raise IndexError(index)
            return {"key": f"k{index}"}

    api = FakeApi()
    outcomes = await collect(start(api, Rows()))
    assert sorted(o.key for o in outcomes if o.ok) == ["k0", "k1", "k2"]


async def test_an_iterable_is_iterated_once_not_also_to_check_it() -> None:
    # Its __iter__ may start a query: checking the input must not start a second.
    class Query:
        started = 0

        def __iter__(self) -> Iterator[Item]:
            Query.started += 1
            return iter(make_items(2))

    outcomes = await collect(start(FakeApi(), Query()))
    assert len(outcomes) == 2
    assert Query.started == 1
