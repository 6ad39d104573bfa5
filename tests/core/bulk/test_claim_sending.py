"""A claim that is also the in-flight mark (one durable commit), and undoing it.

An item sent one per request is claimed and marked in flight in one commit.
If its request then never leaves (the run is cancelled, or stopped, first),
the mark is undone: the row goes back to what a plain claim would have left,
so a rerun sends it (or, for an uncertain key resent on request, reports it
uncertain still), and nothing is created twice.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest
from bulk_fake_api import FakeApi

from signing_async._core.bulk import BulkOptions, run_bulk
from signing_async._core.bulk._journal import Entry, SqliteJournal
from signing_async._core.errors import JournalError
from signing_async._core.observe import current_observer

KIND = "claim sending test"


def rows_on_disk(journal: Path, scratch: Path) -> dict[str, tuple[str, int, str]]:
    """The rows a crash right now would leave: the files copied as they are, reopened."""
    folder = scratch / uuid.uuid4().hex
    folder.mkdir(parents=True)
    for suffix in ("", "-wal"):
        source = journal.with_name(journal.name + suffix)
        if source.exists():
            shutil.copyfile(source, folder / source.name)
    with contextlib.closing(sqlite3.connect(folder / journal.name)) as db:
        rows = db.execute("SELECT key, state, attempts, updated_at FROM items").fetchall()
    shutil.rmtree(folder)
    return {key: (state, attempts, since) for key, state, attempts, since in rows}


async def test_a_new_key_claimed_for_sending_is_in_flight_on_disk_and_release_undoes_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    journal = await SqliteJournal.open(path, kind=KIND, resend_uncertain=False)
    try:
        claim = await journal.claim_sending("k", 0)
        assert claim.decision == "send"
        state, attempts, _ = rows_on_disk(path, tmp_path / "copies")["k"]
        assert (state, attempts) == ("in_flight", 1)
        await journal.release([("k", 0)])
        state, attempts, _ = rows_on_disk(path, tmp_path / "copies")["k"]
        assert (state, attempts) == ("pending", 0)
    finally:
        await journal.aclose()


async def test_release_undoes_only_this_item_s_unfinished_mark(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    journal = await SqliteJournal.open(path, kind=KIND, resend_uncertain=False)
    try:
        await journal.claim_sending("done", 0)
        await journal.finish([Entry("done", "succeeded", result="{}")])
        await journal.claim("claimed", 1)  # never marked
        await journal.claim("plain", 2)
        await journal.mark_in_flight(["plain"])  # marked just before its request
        await journal.claim("other", 3)
        await journal.mark_in_flight(["other"])  # released below by another item's index
        await journal.release([("done", 0), ("claimed", 1), ("plain", 2), ("other", 7)])
        await journal.release([("unknown", 4)])
    finally:
        await journal.aclose()
    rows = rows_on_disk(path, tmp_path / "copies")
    assert {key: row[:2] for key, row in rows.items()} == {
        "done": ("succeeded", 1),
        "claimed": ("pending", 0),
        "plain": ("pending", 0),
        "other": ("in_flight", 1),
    }


async def test_release_of_a_mark_whose_commit_failed_changes_nothing(tmp_path: Path) -> None:
    # The mark's transaction is rolled back (a write after it in the same
    # commit fails): the row is still pending with no send counted, and a
    # release must not take one more away.
    path = tmp_path / "j.db"
    journal = await SqliteJournal.open(path, kind=KIND, resend_uncertain=False)
    busy, go = threading.Event(), threading.Event()

    def hold(db: sqlite3.Connection) -> None:
        busy.set()
        go.wait()

    def fail(db: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    try:
        await journal.claim("k", 0)
        holding = journal.group.submit(hold)
        await anyio.to_thread.run_sync(busy.wait)
        # Queued together while the thread is busy: one transaction.
        mark = journal.mark_in_flight(["k"])
        failing = journal.group.submit(fail)
        go.set()
        await holding
        with pytest.raises(JournalError):
            await mark
        with pytest.raises(JournalError):
            await failing
        assert rows_on_disk(path, tmp_path / "copies")["k"][:2] == ("pending", 0)
        await journal.release([("k", 0)])
    finally:
        await journal.aclose()
    assert rows_on_disk(path, tmp_path / "copies")["k"][:2] == ("pending", 0)


async def test_release_puts_an_uncertain_key_resent_on_request_back_as_it_was(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    first = await SqliteJournal.open(path, kind=KIND, resend_uncertain=False)
    await first.claim("k", 0)
    await first.mark_in_flight(["k"])  # then the run died: the key is uncertain
    await first.aclose()
    before = rows_on_disk(path, tmp_path / "copies")["k"]

    again = await SqliteJournal.open(path, kind=KIND, resend_uncertain=True)
    try:
        claim = await again.claim_sending("k", 0)
        assert (claim.decision, claim.was_uncertain) == ("send", True)
        assert rows_on_disk(path, tmp_path / "copies")["k"][:2] == ("in_flight", 2)
        await again.release([("k", 0)])
    finally:
        await again.aclose()
    # Not pending: a later run without on_uncertain="resend" must not send it.
    assert rows_on_disk(path, tmp_path / "copies")["k"] == before

    report = await SqliteJournal.open(path, kind=KIND, resend_uncertain=False)
    try:
        assert (await report.claim("k", 0)).decision == "uncertain"
    finally:
        await report.aclose()


async def test_a_run_cancelled_before_a_marked_item_leaves_puts_it_back_to_pending(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    api = FakeApi()
    waiting = anyio.Event()
    never = anyio.Event()

    async def send(item: dict[str, Any]) -> dict[str, Any]:
        if item["key"] == "k1":
            # Work of its own before the request (a token, say) that outlasts the run.
            waiting.set()
            await never.wait()
        return await api.send(item)

    items = [{"key": "k0"}, {"key": "k1"}]
    run = run_bulk(
        items,
        key=lambda item: str(item["key"]),
        send=send,
        kind=KIND,
        options=BulkOptions(concurrency=2, journal=path),
    )
    seen: list[tuple[str | None, str]] = []

    async def buggy_consumer() -> None:
        async with run as outcomes:
            first = await outcomes.__anext__()
            seen.append((first.key, first.status))
            with anyio.fail_after(30):  # a bound on a hang, not a measure
                await waiting.wait()
            # k1 is claimed, so marked in flight, and has not left: a bug in the
            # caller's loop cancels the run now.
            raise KeyError("the caller's bug")

    with pytest.raises(KeyError):
        await buggy_consumer()
    assert seen == [("k0", "succeeded")]
    assert api.received == {"k0": 1}
    rows = rows_on_disk(path, tmp_path / "copies")
    assert {key: row[:2] for key, row in rows.items()} == {
        "k0": ("succeeded", 1),
        "k1": ("pending", 0),
    }


async def test_an_item_taken_while_the_caller_is_behind_is_not_left_marked(
    tmp_path: Path,
) -> None:
    # One worker, a buffer of one outcome, and a caller that reads nothing
    # for now: after k0 and k1 the worker holds k2 and waits for the caller.
    # Marked at its claim, k2 would sit in flight though unsent, and a run
    # killed now would report it uncertain; its mark is undone instead.
    path = tmp_path / "j.db"
    api = FakeApi()
    items = [{"key": f"k{index}"} for index in range(3)]
    run = run_bulk(
        items,
        key=lambda item: str(item["key"]),
        send=api.send,
        kind=KIND,
        options=BulkOptions(concurrency=1, journal=path),
    )

    def k2_on_disk() -> tuple[str, int] | None:
        row = rows_on_disk(path, tmp_path / "copies").get("k2")  # not claimed yet: None
        return None if row is None else row[:2]

    async with run as outcomes:
        with anyio.fail_after(30):  # a bound on a hang, not a measure
            await api.wait_for(lambda: api.completed == 2)
            # The journal's thread writes the file: nothing to wait on but the file.
            while k2_on_disk() != ("pending", 0):  # noqa: ASYNC110
                await anyio.sleep(0.01)
        assert api.received == {"k0": 1, "k1": 1}  # k2 has not left
        statuses = {outcome.key: outcome.status async for outcome in outcomes}
    assert statuses == {"k0": "succeeded", "k1": "succeeded", "k2": "succeeded"}
    assert api.received == {"k0": 1, "k1": 1, "k2": 1}


async def test_a_duplicate_let_go_never_undoes_the_mark_of_the_item_in_flight(
    tmp_path: Path,
) -> None:
    # K's request is out (and never answered); a second item with the key K,
    # pulled ahead by the other worker, is let go when the caller's loop
    # raises. Its release must not put the first K's row back to pending: a
    # rerun would then send K a second time.
    path = tmp_path / "j.db"
    left: list[str] = []

    async def send(item: str) -> dict[str, str]:
        observer = current_observer()
        assert observer is not None
        await observer.sending()
        left.append(item)
        if item == "K":
            await anyio.sleep_forever()
        return {"ok": item}

    run = run_bulk(
        ["K", "A", "K"],
        key=lambda item: item,
        send=send,
        kind=KIND,
        options=BulkOptions(concurrency=2, journal=path),
    )

    async def buggy_consumer() -> None:
        async with run as outcomes:
            async for _ in outcomes:
                raise KeyError("the caller's bug")

    with pytest.raises(KeyError):
        await buggy_consumer()
    assert sorted(left) == ["A", "K"]
    rows = rows_on_disk(path, tmp_path / "copies")
    assert rows["K"][:2] == ("in_flight", 1)  # it may exist: a rerun reports it uncertain


async def test_a_value_sqlite_refuses_is_a_journal_error_and_writes_nothing(
    tmp_path: Path,
) -> None:
    # An error text that is not valid Unicode reached SQLite as a raw
    # UnicodeEncodeError, which stopped a run unnamed; it is the journal's error.
    path = tmp_path / "j.db"
    journal = await SqliteJournal.open(path, kind=KIND, resend_uncertain=False)
    try:
        assert (await journal.claim("k", 0)).decision == "send"
        with pytest.raises(JournalError, match=f"cannot write the journal {path}"):
            await journal.finish([Entry("k", "failed", error="lost at \ud800")])
        await journal.finish([Entry("k", "failed", error="lost")])
    finally:
        await journal.aclose()
    assert rows_on_disk(path, tmp_path / "copies")["k"][0] == "failed"
