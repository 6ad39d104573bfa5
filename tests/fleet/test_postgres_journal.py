"""The PostgreSQL journal: the SQLite journal's promise, shared by processes, on a real server."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import psycopg
import pytest

from signing_async import (
    BulkOutcome,
    BulkProgress,
    ConfigurationError,
    JournalError,
    ValidationError,
)
from signing_async._core.bulk import BulkOptions, BulkRun, _engine, run_bulk
from signing_async._core.bulk._journal import Entry
from signing_async._core.validation import require_text
from signing_async.fleet import PostgresJournal, resolve
from signing_async.transports import Response
from tests.core.bulk.bulk_fake_api import FakeApi

KIND = "fake items"


def start(api: FakeApi, items: Any, **options: Any) -> BulkRun[dict[str, Any]]:
    return run_bulk(
        items,
        key=lambda item: require_text(item.get("key"), "key"),
        send=api.send,
        kind=KIND,
        options=BulkOptions(**options),
    )


async def collect(run: BulkRun[Any]) -> dict[str | None, BulkOutcome[Any]]:
    found: dict[str | None, BulkOutcome[Any]] = {}
    async with run as outcomes:
        async for outcome in outcomes:
            assert outcome.key not in found, "one outcome per key"
            found[outcome.key] = outcome
    return found


def items(count: int) -> list[dict[str, Any]]:
    return [{"key": f"k{index}"} for index in range(count)]


def rows(dsn: str, job: str) -> dict[str, tuple[str, int]]:
    with psycopg.connect(dsn) as connection:
        found = connection.execute(
            "SELECT key, state, attempts FROM signing_async.items WHERE job = %s", (job,)
        ).fetchall()
    return {key: (state, attempts) for key, state, attempts in found}


def statuses(outcomes: dict[str | None, BulkOutcome[Any]]) -> dict[str | None, str]:
    return {key: outcome.status for key, outcome in outcomes.items()}


async def test_a_rerun_skips_what_succeeded_resends_transient_failures_and_reports_the_rest(
    dsn: str,
) -> None:
    api = FakeApi(
        {"k1": ["400"], "k2": ["drop-created"], "k3": ["500-created"], "k4": ["connect"] * 3}
    )
    journal = PostgresJournal(dsn, job="march")

    first = await collect(start(api, items(6), journal=journal))
    assert statuses(first) == {
        "k0": "succeeded",
        "k1": "failed",
        "k2": "uncertain",
        "k3": "uncertain",
        "k4": "failed",
        "k5": "succeeded",
    }
    assert rows(dsn, "march") == {
        "k0": ("succeeded", 1),
        "k1": ("failed", 1),
        "k2": ("uncertain", 1),
        "k3": ("uncertain", 1),
        "k4": ("failed", 1),
        "k5": ("succeeded", 1),
    }

    # The same journal object runs again; a DSN string with the job's name is the same journal.
    second = await collect(start(api, items(6), journal=dsn, job="march"))
    assert statuses(second) == {
        "k0": "skipped",
        "k1": "failed",  # refused by the provider (400): reported again, not resent
        "k2": "uncertain",
        "k3": "uncertain",
        "k4": "succeeded",  # the connection was refused: transient, sent again
        "k5": "skipped",
    }
    assert second["k0"].result == first["k0"].result
    assert "refused it in an earlier run" in str(second["k1"].error)
    assert api.received == {"k0": 1, "k1": 1, "k2": 1, "k3": 1, "k4": 4, "k5": 1}
    assert max(api.created.values()) == 1

    third = await collect(start(api, items(6), journal=journal, on_uncertain="resend"))
    assert {key for key, status in statuses(third).items() if status == "succeeded"} == {"k2", "k3"}


async def test_two_runs_sharing_a_job_split_the_items_and_create_each_once(dsn: str) -> None:
    api = FakeApi()
    api.default_fault = "hold"  # both runs are under way before any answer comes
    count = 40
    results: dict[int, dict[str | None, BulkOutcome[Any]]] = {}
    progress: list[list[BulkProgress]] = [[], []]

    async def run(number: int) -> None:
        journal = PostgresJournal(dsn, job="shared")
        run = start(
            api, items(count), journal=journal, concurrency=4, progress=progress[number].append
        )
        results[number] = await collect(run)

    async with anyio.create_task_group() as group:
        group.start_soon(run, 0)
        group.start_soon(run, 1)
        await api.wait_for(lambda: api.held >= 8)
        await api.release()

    first, second = results[0], results[1]
    sent = [{key for key, o in run.items() if o.status == "succeeded"} for run in (first, second)]
    # Each key was sent by one run only.
    assert not sent[0] & sent[1]
    assert sent[0] | sent[1] == {f"k{index}" for index in range(count)}
    # While a peer lives, what it holds is not reported by the other; once its
    # run is over, what it did is done work (skipped), as for a rerun.
    for key in first.keys() & second.keys():
        assert {first[key].status, second[key].status} == {"succeeded", "skipped"}
    assert max(api.received.values()) == 1
    assert sum(api.created.values()) == count
    # What each run left to the other is counted, not reported.
    for number, seen in enumerate(progress):
        outcomes = results[number]
        left = count - len(outcomes)
        assert seen[-1].done == len(outcomes)
        assert seen[-1].elsewhere == left
    assert rows(dsn, "shared") == {f"k{index}": ("succeeded", 1) for index in range(count)}


async def claim_and_mark(dsn: str, job: str, pending: Sequence[str], sent: Sequence[str]) -> Any:
    """A process that claimed ``pending`` and ``sent``, and marked ``sent`` in flight."""
    journal = PostgresJournal(dsn, job=job)
    opened = await journal.open_run(kind=KIND, resend_uncertain=False)
    for index, key in enumerate([*pending, *sent]):
        assert (await opened.claim(key, index)).decision == "send"
    await opened.mark_in_flight(list(sent))
    return opened


async def test_a_dead_owners_pending_items_are_sent_and_its_in_flight_ones_are_uncertain(
    dsn: str,
) -> None:
    dead = await claim_and_mark(dsn, "job", pending=["k0", "k1"], sent=["k2", "k3"])
    await dead.aclose()  # its connection, and with it its lock, is gone: as after kill -9

    api = FakeApi()
    outcomes = await collect(start(api, items(5), journal=PostgresJournal(dsn, job="job")))
    assert statuses(outcomes) == {
        "k0": "succeeded",
        "k1": "succeeded",
        "k2": "uncertain",
        "k3": "uncertain",
        "k4": "succeeded",
    }
    assert "died before the answer" in str(outcomes["k2"].error)
    assert set(api.received) == {"k0", "k1", "k4"}
    assert rows(dsn, "job")["k2"] == ("uncertain", 1)


async def test_a_live_peers_items_are_neither_sent_nor_reported(dsn: str) -> None:
    peer = await claim_and_mark(dsn, "job", pending=["k0"], sent=["k1"])
    try:
        api = FakeApi()
        seen: list[BulkProgress] = []
        outcomes = await collect(
            start(api, items(3), journal=PostgresJournal(dsn, job="job"), progress=seen.append)
        )
        assert statuses(outcomes) == {"k2": "succeeded"}
        assert set(api.received) == {"k2"}
        assert seen[-1].elsewhere == 2
    finally:
        await peer.aclose()
    # Once the peer is gone, its pending item is sent, its in-flight one is uncertain.
    api = FakeApi()
    outcomes = await collect(start(api, items(3), journal=PostgresJournal(dsn, job="job")))
    assert statuses(outcomes) == {"k0": "succeeded", "k1": "uncertain", "k2": "skipped"}


async def test_a_job_belongs_to_one_kind_of_run(dsn: str) -> None:
    journal = PostgresJournal(dsn, job="job")
    await (await journal.open_run(kind="circuits", resend_uncertain=False)).aclose()
    with pytest.raises(ConfigurationError, match="belongs to a 'circuits' run"):
        await collect(start(FakeApi(), items(1), journal=journal))


async def test_a_dsn_needs_a_job_and_a_job_needs_a_dsn(dsn: str, tmp_path: Any) -> None:
    with pytest.raises(ValidationError, match="job"):
        await collect(start(FakeApi(), items(1), journal=dsn))
    with pytest.raises(ValidationError, match="job"):
        await collect(start(FakeApi(), items(1), journal=tmp_path / "j.db", job="x"))
    with pytest.raises(ValidationError, match="job"):
        PostgresJournal(dsn, job=" ")
    with pytest.raises(ConfigurationError, match="schema"):
        PostgresJournal(dsn, job="x", schema="a; DROP TABLE x")


async def test_an_unreachable_database_is_a_clear_error_without_the_password(
    tmp_path: Any,
) -> None:
    dsn = f"postgresql://app:s3cret-pw@/db?host={tmp_path}"  # no server listens there
    with pytest.raises(ConfigurationError) as caught:
        await collect(start(FakeApi(), items(1), journal=PostgresJournal(dsn, job="j")))
    assert "cannot connect to PostgreSQL" in str(caught.value)
    assert "s3cret-pw" not in str(caught.value)
    assert "s3cret-pw" not in repr(PostgresJournal(dsn, job="j"))


async def test_when_the_journals_connection_dies_no_request_leaves_on_its_claims(dsn: str) -> None:
    """The owner's connection is cut mid-run (a network blip, a failover, an admin):
    its lock is gone, so peers may take its claims; it must not send one more."""
    api = FakeApi()
    api.default_fault = "hold"
    journal = PostgresJournal(dsn, job="cut")
    errors: list[Exception] = []

    async def run() -> None:
        try:
            await collect(start(api, items(30), journal=journal, concurrency=4))
        except Exception as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        await api.wait_for(lambda: api.held >= 4)
        sent_before_cut = sum(api.received.values())
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks"
                " WHERE locktype = 'advisory' AND objid = %s",
                (journal.owner,),
            )
        await api.release()
    # The run stops with the database's error: its outcomes can no longer be recorded.
    (error,) = errors
    assert isinstance(error, JournalError), error
    assert str(error).startswith("cannot write the journal of job 'cut' at postgresql://")
    # Nothing left after the cut: the requests already held finished, no other was sent.
    assert sum(api.received.values()) == sent_before_cut == 4
    # A rerun with a new owner: the 4 in flight are uncertain, the rest sent once.
    api2 = FakeApi()
    rerun = await collect(start(api2, items(30), journal=PostgresJournal(dsn, job="cut")))
    uncertain = {key for key, outcome in rerun.items() if outcome.status == "uncertain"}
    assert uncertain == set(api.received)
    assert set(api2.received) == {f"k{index}" for index in range(30)} - uncertain
    assert max([*api.created.values(), *api2.created.values()]) == 1


async def test_release_undoes_only_this_item_s_unfinished_mark(dsn: str) -> None:
    journal = PostgresJournal(dsn, job="release")
    opened = await journal.open_run(kind=KIND, resend_uncertain=False)
    try:
        for index, key in enumerate(["marked", "other", "claimed", "done"]):
            assert (await opened.claim(key, index)).decision == "send"
        await opened.mark_in_flight(["marked", "other", "done"])
        await opened.finish([Entry("done", "succeeded", result="{}")])
        # "other" is released with another item's index: a duplicate's.
        await journal.release([("marked", 0), ("other", 7), ("claimed", 2), ("done", 3)])
    finally:
        await opened.aclose()
    assert rows(dsn, "release") == {
        "marked": ("pending", 0),
        "other": ("in_flight", 1),
        "claimed": ("pending", 0),
        "done": ("succeeded", 1),
    }


async def cancel_at_k1(
    journal: PostgresJournal,
    api: FakeApi,
    k1_reached: anyio.Event,
    *,
    before: Callable[[], Awaitable[object]] | None = None,
    after: Callable[[], Awaitable[object]] | None = None,
) -> bool:
    """Run k0, k1 and k2 one at a time and cancel the run once ``k1_reached``
    is set; ``before`` and ``after`` the cancellation, while the run is
    still going. Returns whether the run ended cancelled."""
    scope = anyio.CancelScope()

    async def run() -> None:
        with scope:
            await collect(start(api, items(3), journal=journal, concurrency=1))

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        await k1_reached.wait()
        if before is not None:
            await before()
        scope.cancel()
        if after is not None:
            await after()
    return scope.cancelled_caught


async def assert_k1_undone_and_sent_once_by_a_rerun(dsn: str, job: str, api: FakeApi) -> None:
    """k1 never left and its mark was undone: the rerun sends it, and k2, once each."""
    assert dict(api.received) == {"k0": 1}
    assert rows(dsn, job) == {"k0": ("succeeded", 1), "k1": ("pending", 0)}
    rerun = await collect(start(api, items(3), journal=PostgresJournal(dsn, job=job)))
    assert statuses(rerun) == {"k0": "skipped", "k1": "succeeded", "k2": "succeeded"}
    assert dict(api.received) == {"k0": 1, "k1": 1, "k2": 1}


async def test_a_run_cancelled_while_an_item_s_mark_is_written_leaves_it_pending(
    dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # k1's mark is committed, and the run is cancelled before the worker
    # hears so: its request never leaves, and its row goes back to pending,
    # so that a worker of the job sends it rather than report it uncertain.
    k1_marked = anyio.Event()
    mark_in_flight = PostgresJournal.mark_in_flight

    async def mark_then_hang(self: PostgresJournal, keys: Sequence[str]) -> None:
        await mark_in_flight(self, keys)
        if "k1" in keys:
            k1_marked.set()
            await anyio.sleep_forever()

    monkeypatch.setattr(PostgresJournal, "mark_in_flight", mark_then_hang)
    api = FakeApi()
    cancelled = await cancel_at_k1(PostgresJournal(dsn, job="cancel"), api, k1_marked)
    monkeypatch.undo()

    assert cancelled
    await assert_k1_undone_and_sent_once_by_a_rerun(dsn, "cancel", api)


async def claimed_by_a_new_run(dsn: str, job: str, key: str, *, resend_uncertain: bool) -> str:
    """What a new run of ``job`` decides for ``key`` as item 0; the run then ends."""
    journal = PostgresJournal(dsn, job=job)
    opened = await journal.open_run(kind=KIND, resend_uncertain=resend_uncertain)
    try:
        return (await opened.claim(key, 0)).decision
    finally:
        await opened.aclose()


async def test_release_puts_an_uncertain_key_resent_on_request_back_to_uncertain(
    dsn: str,
) -> None:
    # A run resending uncertain items takes k (as pending), marks it, and
    # is cancelled before its request: k may exist at the provider from the
    # first attempt, so it must go back to uncertain, not to pending, or a
    # later run that reports uncertain items would send it.
    first = await PostgresJournal(dsn, job="resent").open_run(kind=KIND, resend_uncertain=False)
    await first.claim("k", 0)
    await first.mark_in_flight(["k"])
    await first.aclose()  # as if the process had died with k in flight

    again = await PostgresJournal(dsn, job="resent").open_run(kind=KIND, resend_uncertain=True)
    try:
        claim = await again.claim("k", 0)
        assert (claim.decision, claim.was_uncertain) == ("send", True)
        assert rows(dsn, "resent") == {"k": ("uncertain", 1)}  # taken, not yet marked
        await again.mark_in_flight(["k"])
        await again.release([("k", 0)])  # type: ignore[attr-defined]
    finally:
        await again.aclose()
    assert rows(dsn, "resent") == {"k": ("uncertain", 1)}

    # Taken to send again, then the run ends before its mark (stopped,
    # cancelled, killed): still uncertain for the next run.
    assert await claimed_by_a_new_run(dsn, "resent", "k", resend_uncertain=True) == "send"
    assert rows(dsn, "resent") == {"k": ("uncertain", 1)}

    assert await claimed_by_a_new_run(dsn, "resent", "k", resend_uncertain=False) == "uncertain"


def _a_commit_waits_for_a_standby(dsn: str, admin: psycopg.Connection[Any]) -> bool:
    """Whether a commit now waits for a synchronous standby (one is made, then let go)."""
    with psycopg.connect(dsn, autocommit=True) as probe:
        pid = probe.info.backend_pid
        # Writes the catalog, so its commit is one that waits for a standby.
        commit = threading.Thread(target=probe.execute, args=("CREATE TEMP TABLE probe ()",))
        commit.start()
        waiting = False
        while commit.is_alive() and not waiting:
            waiting = _held_by_a_standby(admin, pid)
            time.sleep(0.005)
        if waiting:
            # Committed locally already: let go of the wait.
            admin.execute("SELECT pg_cancel_backend(%s)", (pid,))
        commit.join()
    return waiting


def _held_by_a_standby(admin: psycopg.Connection[Any], pid: int) -> bool:
    """Whether the server process ``pid`` waits in its ``COMMIT`` for a synchronous standby."""
    query = "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event = 'SyncRep'"
    return admin.execute(query, (pid,)).fetchone() is not None


async def _wait_for_a_commit_held_by_a_standby(admin: psycopg.Connection[Any], pid: int) -> None:
    """Until the server process ``pid`` waits in its ``COMMIT`` for a synchronous standby."""
    with anyio.fail_after(30):  # a bound on a hang, not a measure
        while not _held_by_a_standby(admin, pid):  # noqa: ASYNC110 - the server's state
            await anyio.sleep(0.01)


async def test_a_mark_whose_commit_the_cancellation_waited_for_is_undone(
    dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # k1's mark is committed on the server, and its COMMIT then waits for a
    # synchronous standby (one that never answers, for now). The run is
    # cancelled meanwhile. Cut short, the transaction would close the
    # connection with k1 in flight on the server: the rerun would report it
    # uncertain. Instead the commit is let through; once it is, the request
    # does not leave, and the mark is undone.
    api = FakeApi()
    mark_in_flight = PostgresJournal.mark_in_flight
    k1_marking = anyio.Event()

    def standby(names: str) -> None:
        """Name the synchronous standbys, and wait until the server has taken the setting."""
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{names}'")
            admin.execute("SELECT pg_reload_conf()")
            # The server's processes take the setting one by one, commits
            # only once its checkpointer has: a commit made on a connection
            # of its own is what shows it (and is then let go).
            for _ in range(3000):  # 30 s at most: a bound on a hang, not a measure
                if names and _a_commit_waits_for_a_standby(dsn, admin):
                    return
                if not names and not _a_commit_waits_for_a_standby(dsn, admin):
                    return
                time.sleep(0.01)
        raise AssertionError("the server never took the setting")

    journal_pid: list[int] = []

    def mark_waiting_for_a_standby(self: PostgresJournal, keys: Sequence[str]) -> Any:
        if "k1" in keys:
            standby("ghost")  # blocks the event loop for a moment: nothing else may run
            journal_pid.append(self._connection.info.backend_pid)
            k1_marking.set()
        return mark_in_flight(self, keys)

    async def let_the_commit_through() -> None:
        standby("")

    monkeypatch.setattr(PostgresJournal, "mark_in_flight", mark_waiting_for_a_standby)
    try:
        with psycopg.connect(dsn, autocommit=True) as admin:
            cancelled = await cancel_at_k1(
                PostgresJournal(dsn, job="standby"),
                api,
                k1_marking,
                # The journal's own COMMIT, not the probe's that was let go.
                before=lambda: _wait_for_a_commit_held_by_a_standby(admin, journal_pid[0]),
                after=let_the_commit_through,
            )
    finally:
        standby("")
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("ALTER SYSTEM RESET synchronous_standby_names")
            admin.execute("SELECT pg_reload_conf()")
    monkeypatch.undo()

    assert cancelled
    await assert_k1_undone_and_sent_once_by_a_rerun(dsn, "standby", api)


async def test_a_cancelled_run_whose_database_stops_answering_still_ends(
    dsn: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # k1's mark is committed, then the database stops answering (its server
    # process is frozen) and the run is cancelled before k1 leaves. Undoing
    # the mark cannot be written: the run ends all the same once the wait
    # is over, says so, and leaves k1 in flight (reported uncertain, never
    # sent twice).
    monkeypatch.setattr(_engine, "RELEASE_TIMEOUT", 0.5)
    api = FakeApi()
    mark_in_flight = PostgresJournal.mark_in_flight
    frozen: list[int] = []
    k1_marked = anyio.Event()

    async def mark_then_freeze(self: PostgresJournal, keys: Sequence[str]) -> None:
        await mark_in_flight(self, keys)
        if "k1" in keys:
            frozen.append(self._connection.info.backend_pid)
            os.kill(frozen[0], signal.SIGSTOP)
            k1_marked.set()
            await anyio.sleep_forever()

    monkeypatch.setattr(PostgresJournal, "mark_in_flight", mark_then_freeze)

    def thaw() -> None:
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):  # it may have ended since
                os.kill(pid, signal.SIGCONT)

    # A shielded wait ignores the test's own cancellation: should the run
    # wait for the frozen server after all (or for longer than the journal's
    # commit_timeout, as with the default 30 s), it is thawed after 20 s, and
    # the assertions below fail instead of the test hanging.
    watchdog = threading.Timer(20, thaw)
    watchdog.start()
    try:
        journal = PostgresJournal(dsn, job="frozen", commit_timeout=0.5)
        cancelled = await cancel_at_k1(journal, api, k1_marked)
    finally:
        watchdog.cancel()
        thaw()

    assert cancelled
    assert dict(api.received) == {"k0": 1}
    assert any("cannot be undone" in record.getMessage() for record in caplog.records)
    assert rows(dsn, "frozen") == {"k0": ("succeeded", 1), "k1": ("in_flight", 1)}


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), "30", True])
def test_a_commit_timeout_that_is_not_a_positive_number_is_refused(timeout: Any) -> None:
    with pytest.raises(ValidationError, match="commit_timeout"):
        PostgresJournal("postgresql://localhost/db", job="j", commit_timeout=timeout)


async def test_an_item_a_live_run_holds_cannot_be_resolved_until_the_run_ends(dsn: str) -> None:
    # Resolved while a live run holds it, its outcome would not be written
    # (a run writes only the rows it owns) and the key could be sent again;
    # a run resending it would stop on a mark that no longer holds.
    first = await PostgresJournal(dsn, job="held").open_run(kind=KIND, resend_uncertain=False)
    for index, key in enumerate(["resent", "marked"]):
        await first.claim(key, index)
    await first.mark_in_flight(["resent", "marked"])
    await first.aclose()  # both left in flight: uncertain for the next run

    live = await PostgresJournal(dsn, job="held").open_run(kind=KIND, resend_uncertain=True)
    try:
        assert (await live.claim("resent", 0)).decision == "send"  # held, still uncertain
        assert (await live.claim("marked", 1)).decision == "send"
        await live.mark_in_flight(["marked"])
        for key in ("resent", "marked"):
            with pytest.raises(ValidationError, match="still going"):
                await resolve(dsn, "held", key, "failed")
        await live.mark_in_flight(["resent"])  # the run goes on, unharmed
        await live.finish([Entry("resent", "succeeded", result="{}")])
    finally:
        await live.aclose()

    await resolve(dsn, "held", "marked", "failed")  # once the run has ended
    assert rows(dsn, "held") == {"resent": ("succeeded", 2), "marked": ("failed", 2)}


async def test_a_closed_journal_lets_go_of_its_items_at_once(dsn: str) -> None:
    # Its lock is released as it closes, not once the server notices the
    # closed connection: a run that starts right after takes its pending
    # items instead of leaving them to a peer that is gone.
    journal = PostgresJournal(dsn, job="next")
    opened = await journal.open_run(kind=KIND, resend_uncertain=False)
    owner = journal.owner
    await opened.claim("k", 0)
    connection = journal._connection
    close = connection.close
    held_at_close: list[object] = []

    async def close_and_look() -> None:
        # Asked just before the connection goes: whatever the server does
        # after a close, the lock must be released by then.
        with psycopg.connect(dsn) as admin:
            held_at_close.append(
                admin.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
                    (owner,),
                ).fetchone()
            )
        await close()

    connection.close = close_and_look
    await opened.aclose()
    assert held_at_close == [(0,)]
    assert await claimed_by_a_new_run(dsn, "next", "k", resend_uncertain=False) == "send"


class _NulRefusal(FakeApi):
    """Refuses k1 with a 400 whose error text holds a NUL (valid JSON: ``\\u0000``)."""

    def _answer(self, key: str, fault: str) -> Response:
        if key == "k1":
            return Response(400, content=b'{"error": "bad\\u0000title"}')
        return super()._answer(key, fault)


async def test_an_error_text_holding_a_nul_is_journaled_and_the_run_goes_on(dsn: str) -> None:
    # PostgreSQL's text cannot hold a NUL, which a server's error words may:
    # recording it must neither stop the run nor leave the refused item in flight.
    api = _NulRefusal()
    journal = PostgresJournal(dsn, job="nul")
    first = await collect(start(api, items(4), journal=journal))
    again = await collect(start(api, items(4), journal=PostgresJournal(dsn, job="nul")))

    assert statuses(first) == {
        "k0": "succeeded",
        "k1": "failed",
        "k2": "succeeded",
        "k3": "succeeded",
    }
    assert rows(dsn, "nul")["k1"] == ("failed", 1)
    # Refused: reported again, not sent again, with the words as recorded.
    assert statuses(again) == {"k0": "skipped", "k1": "failed", "k2": "skipped", "k3": "skipped"}
    assert "bad\\x00title" in str(again["k1"].error)
    assert api.received == {"k0": 1, "k1": 1, "k2": 1, "k3": 1}


async def test_a_peer_that_starts_while_a_claim_transaction_runs_is_not_taken_for_dead(
    dsn: str,
) -> None:
    # T's claim transaction reads the live owners (for a dead run's rows), then
    # waits on another transaction's uncommitted insert. Meanwhile P starts,
    # claims b and sends it. When T goes on to b, P's owner is missing from
    # T's first read: T must read again and leave b to P, not resend it.
    api = FakeApi({"b": ["hold"]})  # P's request for b is held at the provider
    await collect(start(api, [{"key": "a"}, {"key": "a2"}], journal=PostgresJournal(dsn, job="j")))
    blocker = await psycopg.AsyncConnection.connect(dsn)
    await blocker.execute(
        "INSERT INTO signing_async.items (job, key, state) VALUES ('j', 'x', 'pending')"
    )
    found: dict[str, dict[str | None, BulkOutcome[Any]]] = {}
    ended = {"T": anyio.Event(), "P": anyio.Event()}

    async def run(name: str, keys: list[str]) -> None:
        journal = PostgresJournal(dsn, job="j")
        found[name] = await collect(
            start(api, [{"key": key} for key in keys], journal=journal, on_uncertain="resend")
        )
        ended[name].set()

    with anyio.fail_after(60):  # a bound on a hang, not a measure
        async with anyio.create_task_group() as group:
            group.start_soon(run, "T", ["a", "a2", "x", "b"])
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as watch:
                query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                while not (await (await watch.execute(query)).fetchone())[0]:  # noqa: ASYNC110 - the server's state
                    await anyio.sleep(0.02)
            group.start_soon(run, "P", ["b"])
            await api.wait_for(lambda: api.held == 1)  # P's request for b has left
            await blocker.rollback()
            await blocker.close()
            await ended["T"].wait()  # T decides b while P's request is still out
            sent_while_out = api.received["b"]
            await api.release()
            await ended["P"].wait()

    assert sent_while_out == 1
    assert statuses(found["T"]) == {"a": "skipped", "a2": "skipped", "x": "succeeded"}
    assert statuses(found["P"]) == {"b": "succeeded"}
    assert api.created["b"] == 1
    assert rows(dsn, "j")["b"] == ("succeeded", 1)
