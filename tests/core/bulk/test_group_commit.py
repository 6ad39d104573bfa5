"""Group commit: concurrent journal writes share one transaction, and a mark is on disk first.

The observable is the SQLite file itself: every COMMIT on the journal's
connection is counted with ``set_trace_callback``, and what a ``kill -9``
would leave is read by copying the database and its WAL, as they are on disk
at that moment, and opening the copy with a second connection (SQLite
recovers the committed transactions of the WAL, and only those).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import shutil
import sqlite3
import threading
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from aiohttp import web
from bulk_fake_api import FakeApi

import signing_async as sa
from signing_async._core.bulk import BulkOptions, _journal, run_bulk
from signing_async._core.bulk._group import GroupCommit, ThreadCommit
from signing_async._core.bulk._journal import Entry, SqliteJournal

Serve = Callable[[web.Application], Awaitable[str]]
KIND = "group commit test"


class CommitTrace:
    """Counts the transactions run on a connection, and the ones that marked items in flight."""

    def __init__(self) -> None:
        self.commits = 0
        self.synced_commits = 0
        self.mark_commits = 0
        self.unsynced_mark_commits = 0
        self.synchronous_changes = 0
        self._marking = False
        self._full = False

    def __call__(self, statement: str) -> None:
        text = statement.strip().upper()
        if text.startswith("BEGIN"):
            self._marking = False
        elif "PRAGMA SYNCHRONOUS" in text:
            self.synchronous_changes += 1
            self._full = text.endswith("FULL")
        elif "'IN_FLIGHT'" in text:  # an UPDATE, or an INSERT of a key claimed in flight
            self._marking = True
        elif text == "COMMIT":
            self.commits += 1
            self.synced_commits += self._full
            if self._marking:
                self.mark_commits += 1
                if not self._full:
                    self.unsynced_mark_commits += 1

    def attach(self, db: sqlite3.Connection) -> None:
        db.set_trace_callback(self)


def on_disk(journal: Path, scratch: Path) -> dict[str, str]:
    """The items' states a crash right now would leave: a copy of the files, reopened."""
    folder = scratch / uuid.uuid4().hex
    folder.mkdir()
    for suffix in ("", "-wal"):
        source = journal.with_name(journal.name + suffix)
        if source.exists():
            shutil.copyfile(source, folder / source.name)
    with contextlib.closing(sqlite3.connect(folder / journal.name)) as db:
        states = dict(db.execute("SELECT key, state FROM items").fetchall())
    shutil.rmtree(folder)
    return states


async def test_concurrent_marks_share_a_synced_commit_and_are_on_disk_when_they_return(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.db"
    scratch = tmp_path / "copies"
    scratch.mkdir()
    journal = await SqliteJournal.open(path, kind=KIND, resend_uncertain=False)
    trace = CommitTrace()
    trace.attach(journal._connection)
    keys = [f"k{index}" for index in range(32)]
    try:
        for index, key in enumerate(keys):
            assert (await journal.claim(key, index)).decision == "send"
        seen: dict[str, str] = {}

        async def mark(key: str) -> None:
            await journal.mark_in_flight([key])
            seen[key] = on_disk(path, scratch)[key]

        before = trace.commits
        async with anyio.create_task_group() as group:
            for key in keys:
                group.start_soon(mark, key)
        marks = trace.commits - before
    finally:
        await journal.aclose()

    assert seen == dict.fromkeys(keys, "in_flight")  # each on disk when its call returned
    assert marks == trace.mark_commits
    assert marks <= 2  # the first alone, the 31 that queued behind it together
    assert trace.unsynced_mark_commits == 0  # every commit holding a mark ran with FULL


async def test_outcomes_and_claims_share_commits(tmp_path: Path) -> None:
    journal = await SqliteJournal.open(tmp_path / "j.db", kind=KIND, resend_uncertain=False)
    trace = CommitTrace()
    trace.attach(journal._connection)
    try:
        async with anyio.create_task_group() as group:
            for index in range(20):
                group.start_soon(journal.claim, f"k{index}", index)
        claims = trace.commits
        async with anyio.create_task_group() as group:
            for index in range(20):
                entry = Entry(f"k{index}", "succeeded", result=json.dumps({"n": index}))
                group.start_soon(journal.finish, [entry])
        finishes = trace.commits - claims
    finally:
        await journal.aclose()
    assert claims <= 2
    assert finishes <= 2
    with contextlib.closing(sqlite3.connect(tmp_path / "j.db")) as db:
        rows = dict(db.execute("SELECT key, result FROM items").fetchall())
    assert rows == {f"k{index}": json.dumps({"n": index}) for index in range(20)}


async def test_claims_keep_their_order_within_a_shared_commit(tmp_path: Path) -> None:
    journal = await SqliteJournal.open(tmp_path / "j.db", kind=KIND, resend_uncertain=False)
    try:
        # Queued in this order, awaited in the reverse: the first call wins the key.
        pending = [journal.claim("same", index) for index in range(3)]
        claims = [await claim for claim in reversed(pending)]
    finally:
        await journal.aclose()
    assert [claim.decision for claim in reversed(claims)] == ["send", "duplicate", "duplicate"]
    assert {claim.first_index for claim in claims[:2]} == {0}


def document(index: int, pdf: bytes) -> dict[str, Any]:
    return {
        "file": pdf,
        "title": f"Contract {index}",
        "signers": [{"role": "Client", "name": "Ana", "email": "ana@example.com"}],
        "placeholders": [
            {
                "role": "Client",
                "widgets": [{"type": "signature", "page": 1, "x": 10, "y": 10, "w": 50, "h": 20}],
            }
        ],
        "metadata": {"external_id": f"ext-{index}"},
    }


async def test_a_bulk_run_marks_each_item_on_disk_before_its_request_arrives_in_fewer_commits(
    tmp_path: Path, serve: Serve, monkeypatch: pytest.MonkeyPatch, pdf_bytes: bytes
) -> None:
    count, concurrency = 96, 32
    journal = tmp_path / "documents.db"
    scratch = tmp_path / "copies"
    scratch.mkdir()
    trace = traced_journals(monkeypatch)
    found: dict[str, str | None] = {}

    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        key = body["metadata"]["externalId"]
        # What a kill -9 at this instant would leave for this key.
        found[key] = on_disk(journal, scratch).get(key)
        await anyio.sleep(0.005)  # a provider is not instant: workers overlap
        return web.json_response({"documentId": f"d-{key}", "status": "sent"})

    app = web.Application()
    app.router.add_post("/api/1.0/createdocument", create)
    url = await serve(app)
    config = sa.DanaSignConfig(server_url=url, api_token="t")
    async with sa.SigningClient(danasign=config) as client:
        items = (document(index, pdf_bytes) for index in range(count))
        run = client.documents.create_many(items, concurrency=concurrency, journal=journal)
        async with run as outcomes:
            statuses = [outcome.status async for outcome in outcomes]

    assert statuses == ["succeeded"] * count
    assert found == {f"ext-{index}": "in_flight" for index in range(count)}
    assert trace.unsynced_mark_commits == 0
    # One commit per item per write before; now the marks of items leaving together share one.
    assert 0 < trace.mark_commits < count // 2
    assert trace.commits < 3 * count // 2


def traced_journals(monkeypatch: pytest.MonkeyPatch) -> CommitTrace:
    """Count the commits of every journal the test opens from now on."""
    trace = CommitTrace()
    connect = _journal._connect

    def traced(path: Path, kind: str) -> sqlite3.Connection:
        db = connect(path, kind)
        trace.attach(db)
        return db

    monkeypatch.setattr(_journal, "_connect", traced)
    return trace


async def test_a_worker_claims_its_next_item_in_the_commit_of_its_last_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = traced_journals(monkeypatch)
    api = FakeApi()
    count = 20
    items = [{"key": f"k{index}"} for index in range(count)]
    run = run_bulk(
        items,
        key=lambda item: str(item["key"]),
        send=api.send,
        kind=KIND,
        options=BulkOptions(concurrency=1, journal=tmp_path / "j.db"),
    )
    async with run as outcomes:
        statuses = [outcome.status async for outcome in outcomes]

    assert statuses == ["succeeded"] * count
    assert api.created == dict.fromkeys((item["key"] for item in items), 1)
    # One worker, so nothing else shares a commit: a claim, a mark and an
    # outcome per item would be 3 commits each. The next item's claim, which
    # is also its in-flight mark, rides with the last item's outcome.
    assert trace.mark_commits == count
    assert trace.unsynced_mark_commits == 0
    assert trace.commits <= count + 1
    # Synced commit after synced commit, the setting stays FULL: it changes
    # for the first and once more for the last outcome (never synced), not
    # twice per commit.
    assert trace.synchronous_changes <= 3


async def test_a_rerun_of_a_finished_job_syncs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh journal's claims are also the in-flight marks (synced); a
    # rerun's claims mostly skip, and skipping needs no sync.
    api = FakeApi()
    items = [{"key": f"k{index}"} for index in range(20)]

    async def run(options: BulkOptions) -> list[str]:
        bulk = run_bulk(
            items, key=lambda item: str(item["key"]), send=api.send, kind=KIND, options=options
        )
        async with bulk as outcomes:
            return [outcome.status async for outcome in outcomes]

    options = BulkOptions(concurrency=4, journal=tmp_path / "j.db")
    assert await run(options) == ["succeeded"] * 20
    trace = traced_journals(monkeypatch)
    assert await run(options) == ["skipped"] * 20
    assert api.received == dict.fromkeys((item["key"] for item in items), 1)
    assert trace.commits > 0
    assert trace.synced_commits == 0


async def test_an_outcome_does_not_wait_for_the_next_item_of_an_async_source(
    tmp_path: Path,
) -> None:
    api = FakeApi()
    more = anyio.Event()  # never set: the source has nothing more for now

    async def items() -> AsyncIterator[dict[str, Any]]:
        yield {"key": "k0"}
        await more.wait()
        yield {"key": "k1"}

    run = run_bulk(
        items(),
        key=lambda item: str(item["key"]),
        send=api.send,
        kind=KIND,
        options=BulkOptions(concurrency=1, journal=tmp_path / "j.db"),
    )
    async with run as outcomes:
        with anyio.fail_after(60):  # a bound on a hang, not a measure
            first = await outcomes.__anext__()
        assert (first.key, first.status) == ("k0", "succeeded")
        more.set()
        rest = [outcome.key async for outcome in outcomes]
    assert rest == ["k1"]


class FullDisk:
    """A commit backend that fails every commit while ``full``, and logs what it commits."""

    def __init__(self) -> None:
        self.full = True
        self.log: list[list[str]] = []

    def commit(self, operations: Sequence[Callable[[list[str]], Any]], durable: bool) -> list[Any]:
        if self.full:
            raise OSError("disk full")
        done: list[str] = []
        results = [operation(done) for operation in operations]
        self.log.append(done)
        return results

    async def commit_async(
        self, operations: Sequence[Callable[[list[str]], Any]], durable: bool
    ) -> list[Any]:
        return self.commit(operations, durable)


async def test_a_failed_commit_fails_its_whole_group_and_the_next_one_runs() -> None:
    disk = FullDisk()
    group: GroupCommit[list[str]] = GroupCommit(disk.commit_async)
    errors: list[BaseException] = []

    async def write(name: str) -> None:
        try:
            await group.submit(lambda done: done.append(name))
        except OSError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tasks:
        for name in "abc":
            tasks.start_soon(write, name)
    assert [str(error) for error in errors] == ["disk full"] * 3
    disk.full = False
    assert await group.submit(lambda done: done.append("d") or "result") == "result"
    assert disk.log == [["d"]]


async def test_a_leader_cancelled_mid_commit_hands_its_group_to_the_next_writer() -> None:
    committed: list[list[str]] = []
    entered = anyio.Event()
    slow = True

    async def commit(operations: Sequence[Callable[[None], str]], durable: bool) -> list[str]:
        nonlocal slow
        if slow:
            slow = False
            entered.set()
            await anyio.sleep(30)  # cancelled here: as a rolled-back transaction, nothing kept
        results = [operation(None) for operation in operations]
        committed.append(results)
        return results

    group: GroupCommit[None] = GroupCommit(commit)
    with anyio.CancelScope() as scope:
        leader = group.submit(lambda _: "a", durable=True)

        async def lead() -> None:
            await leader

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(lead)
            await entered.wait()
            follower = group.submit(lambda _: "b")
            scope.cancel()
    assert scope.cancelled_caught
    assert await follower == "b"  # no stray cancellation; "a" committed with it, once
    assert committed == [["a", "b"]]


async def test_the_commit_thread_fails_a_whole_group_and_commits_the_next_one() -> None:
    disk = FullDisk()
    group: ThreadCommit[list[str]] = ThreadCommit(disk.commit)
    try:
        pending = [group.submit(lambda done, name=name: done.append(name)) for name in "abc"]
        for each in pending:
            with pytest.raises(OSError, match="disk full"):
                await each
        disk.full = False
        assert await group.submit(lambda done: done.append("d") or "result") == "result"
    finally:
        await group.aclose()
    assert disk.log == [["d"]]
    assert group.commits == 1


async def test_a_cancelled_writers_operation_is_committed_and_close_drains_the_queue() -> None:
    committed: list[str] = []
    release = threading.Event()

    def commit(operations: Sequence[Callable[[None], str]], durable: bool) -> list[str]:
        release.wait(30)  # a bound on a hang, not a measure
        results = [operation(None) for operation in operations]
        committed.extend(results)
        return results

    group: ThreadCommit[None] = ThreadCommit(commit)
    with anyio.CancelScope() as scope:
        scope.cancel()
        await group.submit(lambda _: "abandoned")  # its writer gives up at once
    assert scope.cancelled_caught
    queued = group.submit(lambda _: "queued")  # awaited only after the close
    release.set()
    await group.aclose()
    assert committed == ["abandoned", "queued"]
    assert await queued == "queued"
    with pytest.raises(RuntimeError, match="closed"):
        group.submit(lambda _: "late")


async def test_a_journal_dropped_unclosed_lets_its_thread_end_and_its_file_go(
    tmp_path: Path,
) -> None:
    path = tmp_path / "dropped.db"
    journal = await SqliteJournal.open(path, kind=KIND, resend_uncertain=False)
    assert (await journal.claim("k", 0)).decision == "send"
    thread = journal.group._thread
    del journal
    gc.collect()
    await anyio.to_thread.run_sync(thread.join, 30)  # a bound on a hang, not a measure
    assert not thread.is_alive()
    # The exclusive lock went with the connection: another run may open the file.
    again = await SqliteJournal.open(path, kind=KIND, resend_uncertain=False)
    try:
        assert (await again.claim("k", 0)).decision == "send"  # pending before: sent again
    finally:
        await again.aclose()


async def test_an_item_pulled_ahead_is_not_sent_once_the_caller_has_left(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    api = FakeApi()
    run = run_bulk(
        [{"key": f"k{index}"} for index in range(10)],
        key=lambda item: str(item["key"]),
        send=api.send,
        kind=KIND,
        options=BulkOptions(concurrency=1, journal=journal),
    )
    async with run as outcomes:
        # Read nothing until k0 and k1 are answered: the worker, with k2 pulled
        # ahead, then waits to hand k1 over (the stream holds one outcome).
        await api.wait_for(lambda: api.completed >= 2)
        for _ in range(20):
            await anyio.lowlevel.checkpoint()
        async for _ in outcomes:
            break

    # What the worker had sent when the caller left is finished; the item it
    # had pulled ahead is not sent (nobody would read its outcome) and stays
    # pending, for the next run.
    assert sorted(api.created) == ["k0", "k1"]
    with contextlib.closing(sqlite3.connect(journal)) as db:
        rows = dict(db.execute("SELECT key, state FROM items").fetchall())
    assert {key: state for key, state in rows.items() if state != "pending"} == {
        "k0": "succeeded",
        "k1": "succeeded",
    }


@pytest.mark.parametrize("journaled", [True, False], ids=["journal", "no-journal"])
@pytest.mark.parametrize("source", ["list", "async"])
async def test_a_caller_leaving_on_the_first_outcome_gets_nothing_more_sent(
    tmp_path: Path, source: str, journaled: bool
) -> None:
    # One worker: the next item can only be sent after the first outcome was
    # handed over, and the caller leaves on seeing it. Whatever that worker
    # had pulled, claimed or marked by then, it must not send it.
    journal = tmp_path / "j.db"
    api = FakeApi()
    items = [{"key": f"k{index}"} for index in range(10)]

    async def generate() -> AsyncIterator[dict[str, str]]:
        for item in items:
            yield item

    run = run_bulk(
        items if source == "list" else generate(),
        key=lambda item: str(item["key"]),
        send=api.send,
        kind=KIND,
        options=BulkOptions(concurrency=1, journal=journal if journaled else None),
    )
    async with run as outcomes:
        first = await anext(aiter(outcomes))

    assert (first.key, first.status) == ("k0", "succeeded")
    assert api.received == {"k0": 1}
    if journaled:
        with contextlib.closing(sqlite3.connect(journal)) as db:
            rows = dict(db.execute("SELECT key, state FROM items").fetchall())
        assert {key: state for key, state in rows.items() if state != "pending"} == {
            "k0": "succeeded"
        }


async def test_a_stopped_run_pulls_nothing_more_from_an_async_source() -> None:
    # Two workers: one waits inside the source for its next item (holding the
    # pull's lock), the other, done with k0, waits for the lock. Once the run
    # is stopped, the second must not pull: the caller's generator stays where it is.
    api = FakeApi()
    gate = anyio.Event()
    yielded: list[str] = []

    async def generate() -> AsyncIterator[dict[str, str]]:
        for index in range(10):
            if index == 1:
                await gate.wait()
            yielded.append(f"k{index}")
            yield {"key": f"k{index}"}

    run = run_bulk(
        generate(),
        key=lambda item: str(item["key"]),
        send=api.send,
        kind=KIND,
        options=BulkOptions(concurrency=2),
    )
    async with run as outcomes:
        first = await anext(aiter(outcomes))
        for _ in range(20):  # the worker done with k0 reaches the lock
            await anyio.lowlevel.checkpoint()
        await run.aclose()
        gate.set()

    assert first.key == "k0"
    assert yielded == ["k0", "k1"]  # k1 was being pulled when the run stopped
    assert api.received == {"k0": 1}


async def test_a_failed_commits_error_kept_by_a_caller_does_not_keep_what_queued_it() -> None:
    class Owner:
        """Stands for the journal whose operations were queued."""

    def commit(operations: Sequence[Callable[[None], Any]], durable: bool) -> list[Any]:
        raise OSError("disk full")

    group: ThreadCommit[None] = ThreadCommit(commit)
    owner = Owner()
    alive = weakref.ref(owner)
    pending = group.submit(lambda _, owner=owner: owner)
    del owner
    gc.disable()  # freed by reference counts alone, as a long-lived error must allow
    try:
        with pytest.raises(OSError, match="disk full") as caught:
            await pending
        kept = caught.value
        assert alive() is None
    finally:
        gc.enable()
        await group.aclose()
    assert str(kept) == "disk full"


def test_a_journal_refuses_writers_from_another_event_loop() -> None:
    async def make() -> ThreadCommit[None]:
        return ThreadCommit(lambda operations, durable: [op(None) for op in operations])

    group = asyncio.run(make())

    async def use() -> None:
        try:
            with pytest.raises(sa.ConfigurationError, match="another event loop"):
                group.submit(lambda _: "never run")
        finally:
            await group.aclose()

    asyncio.run(use())
