"""The bulk engine: many items, a bounded number in flight, one outcome each.

A provider wires a bulk method in a few lines: a *key* function (the
item's natural key), a *send* function (the single-item call), and how to
store its result in the journal (JSON text both ways). The engine knows no
provider; it guarantees:

- items are pulled lazily, one when a worker is free: never more than about
  ``concurrency`` items ahead of the work;
- at most ``concurrency`` requests in flight (``concurrency`` workers);
- one outcome per item, yielded as items finish; one failure never stops
  the others;
- with a journal, nothing created twice across runs (see :mod:`._journal`);
- a key seen twice in one run: the second item fails, unsent;
- a systemic failure (credentials refused, the server unreachable) stops
  the run (see :mod:`._breaker`): the items not sent stay pending.

This module is the workers' shared state and their loop; the object a caller
iterates, :class:`BulkRun`, and the functions that start a run are in
:mod:`._run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterable, Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any, Generic, Literal, TypeVar

import anyio
import attrs
from anyio.lowlevel import checkpoint, checkpoint_if_cancelled

from ..async_library import in_trio_task
from ..errors import TransportError, ValidationError
from ..observe import observe_sends
from ..validation import require_in_range, shown
from ._breaker import DEFAULT_CONNECT_FAILURES, Breaker, BulkStopped
from ._items import InvalidItem, ItemSource
from ._journal import Claim, Entry, Journal, JournalOption, open_journal
from ._outcome import BulkOutcome
from ._progress import BulkProgress
from ._verdict import Verdict, describe, refused, verdict

__all__ = ["Engine", "OnUncertain"]

logger = logging.getLogger("signing_async")

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)
R = TypeVar("R")
V = TypeVar("V")

OnUncertain = Literal["report", "resend"]
"""What a rerun does with items a previous run left in flight or uncertain."""

ROUND_INSTANT_LIMIT = 64
"""In rounds, how many unsent outcomes (skips, duplicates) one worker gathers at most."""

Emit = Callable[[BulkOutcome[R]], Awaitable[None]]

PROGRESS_BYTES = 1 << 20
"""Body bytes reported to the progress callback at a time: a big upload moves
the display every MiB, a small body is reported with its outcome, never one
callback per chunk."""


MAX_CONCURRENCY = 10_000
"""The most requests a run keeps in flight: a worker task and a connection
each, and past a few thousand no server answers faster for more."""


RELEASE_TIMEOUT = 30.0
"""Seconds a cancelled run waits for the undoing of marks made for requests
that never left, from a journal that writes only while awaited (a journal
that will not cut its own transaction short, PostgreSQL's, may keep it
waiting until that transaction's own limit)."""


def _iterable(items: object) -> bool:
    """Whether ``items`` can be iterated, async or not (``__getitem__`` alone will do)."""
    if isinstance(items, Iterable | AsyncIterable):
        return True  # not iterated here: an __iter__ may start a query, say
    try:
        iter(items)  # type: ignore[call-overload]  # what is being found out
    except TypeError:
        return False
    return True


@attrs.define
class _Job(Generic[T]):
    """An item claimed for sending."""

    index: int
    key: str | None
    item: T
    was_uncertain: bool = False
    marked: bool = False  # in flight in the journal since its claim (claim_sending)


class _Observer:
    """Watches the requests of one unit of work (one item, or one batch)."""

    def __init__(self, engine: Engine[Any, Any], jobs: list[_Job[Any]]) -> None:
        self._engine = engine
        # Keys marked in flight at their claim need no mark of their own here.
        self._claims = [
            (job.key, job.index) for job in jobs if job.key is not None and not job.marked
        ]
        self._size = len(jobs)
        self.marking: list[tuple[str, int]] = []  # the claims whose mark was asked for
        self.announced = False
        self.journal_error: Exception | None = None
        self.unreported = 0  # body bytes sent, not yet told to the progress callback

    async def sending(self) -> None:
        if self.announced:
            return  # a retry of the same request: in flight already
        if self._engine.stopping:
            # The run stopped while this unit waited (for its turn, a claim, a
            # token): the caller left, the breaker tripped or the journal
            # failed. It must not leave: its items stay pending for the next run.
            raise _Held("the run stopped before this request was sent")
        if self._claims:
            # Asked for, the mark may land even if this wait is cancelled.
            self.marking = self._claims
            try:
                await self._engine.journal.mark_in_flight([key for key, _ in self._claims])
            except Exception as exc:  # not written: rolled back
                self.journal_error = exc
                raise
            # A cancellation that waited for the mark's commit (a journal that
            # does not cut a transaction short) stops the request here, and
            # the mark is undone.
            await checkpoint_if_cancelled()
        self.announced = True
        self._engine.count(in_flight=self._size)

    def sent(self, size: int) -> None:
        self.unreported += size
        if self.unreported >= PROGRESS_BYTES:
            self._engine.count(bytes_sent=self.unreported)
            self.unreported = 0


class _Held(Exception):
    """Keeps a request from leaving once the run has stopped."""


class Engine(Generic[T, R]):
    """The state of one bulk run, shared by its workers."""

    def __init__(
        self,
        items: Iterable[T] | AsyncIterable[T],
        *,
        key: Callable[[T], str | None],
        send_batch: Callable[[Sequence[T]], Awaitable[Sequence[R | Exception]]],
        batch_size: int,
        concurrency: int,
        journal: JournalOption,
        on_uncertain: OnUncertain,
        progress: Callable[[BulkProgress], object] | None,
        encode_result: Callable[[R], str],
        decode_result: Callable[[str], R],
        kind: str,
        stop_after_connect_failures: int | None = DEFAULT_CONNECT_FAILURES,
        transport: object = None,
        job: str | None = None,
    ) -> None:
        require_in_range(concurrency, 1, MAX_CONCURRENCY, "concurrency")
        require_in_range(batch_size, 1, MAX_CONCURRENCY, "batch_size")
        if not isinstance(on_uncertain, str) or on_uncertain not in ("report", "resend"):
            raise ValidationError(
                "on_uncertain", f"must be 'report' or 'resend', not {shown(on_uncertain)}"
            )
        if progress is not None and not callable(progress):
            raise ValidationError("progress", f"must be a function or None, not {shown(progress)}")
        if isinstance(items, str | bytes | bytearray | memoryview) or not _iterable(items):
            # A string is iterable, one item per character: never what was meant.
            raise ValidationError(
                "items", f"must be an iterable or async iterable of items, not {shown(items)}"
            )
        # An InvalidItem may hide among the items whatever T says (a manifest
        # reader's bad row): the engine answers it, key and send never see it.
        self._breaker = Breaker(stop_after_connect_failures)
        self.stopped_by: BulkStopped | None = None
        self._source: ItemSource[T | InvalidItem] = ItemSource(items)
        self._key = key
        self._send_batch = send_batch
        self._batch_size = batch_size
        self.concurrency = concurrency
        self._journal_path = journal
        self._job = job
        self._on_uncertain = on_uncertain
        self._progress = progress
        self._encode = encode_result
        self._decode = decode_result
        self._kind = kind
        self._transport = transport
        self._journal: Journal | None = None
        # A journal that can claim and mark in flight in one commit does so
        # for items sent one per request (see _admit).
        self._claim_sending: Callable[[str, int], Awaitable[Claim]] | None = None
        # Undoes the marks of items that never left (_release_soon, _release_cancelled).
        self._release: Callable[[list[tuple[str, int]]], Awaitable[None]] | None = None
        self._commits_unawaited = False
        # Checkpoints before a unit is sent: see _send. trio runs the tasks
        # ready at once in a random order, so there the caller woken by an
        # outcome is sure to have had its turn only after a second one.
        self._turns = 1
        self._checkpoint: Callable[[], Awaitable[None]] = checkpoint
        self._pull_lock = anyio.Lock()
        self._stopping = False
        self._input_failed = False
        self._fatal: BaseException | None = None
        self._counts = {name: 0 for name in attrs.fields_dict(BulkProgress) if name != "stopped"}

    # -- lifecycle ---------------------------------------------------------

    @property
    def journal(self) -> Journal:
        """The open run's journal (or its in-memory stand-in)."""
        assert self._journal is not None, "the run is not open"
        return self._journal

    @property
    def stopping(self) -> bool:
        """The run was stopped: no item is pulled or sent any more."""
        return self._stopping

    @property
    def finished(self) -> bool:
        """No more items will be pulled."""
        return self._stopping or self._input_failed or self._source.exhausted

    async def open(self) -> None:
        """Make room in the connection pool, open the journal; the run can start."""
        # ``concurrency`` requests in flight need as many connections: a
        # transport grows a pool of its own, or warns about the caller's.
        ensure_connections = getattr(self._transport, "ensure_connections", None)
        if ensure_connections is not None:
            ensure_connections(self.concurrency)
        if in_trio_task():
            self._turns = 2
        else:
            # What anyio's checkpoint() does on asyncio, without asking sniffio
            # which library runs before every item (3.4 µs through anyio, 2.1 so).
            self._checkpoint = functools.partial(asyncio.sleep, 0)
        self._journal = await open_journal(
            self._journal_path,
            kind=self._kind,
            resend_uncertain=self._on_uncertain == "resend",
            job=self._job,
        )
        self._commits_unawaited = getattr(self._journal, "commits_unawaited", False)
        self._release = getattr(self._journal, "release", None)
        claim_sending = getattr(self._journal, "claim_sending", None)
        fresh = getattr(self._journal, "fresh", False)
        # A mark made at the claim is undone, when need be, by a release that
        # nobody awaits (see _release_soon): only such a journal commits it.
        undoable = self._release is not None and self._commits_unawaited
        if self._batch_size == 1 and fresh and claim_sending is not None and undoable:
            # The item's claim is then its in-flight mark: one durable commit
            # before it leaves, not two. Not for batches: a batch's first item
            # would wait, marked, while the others are pulled. Not on a rerun:
            # its claims mostly skip or report, which needs no sync.
            self._claim_sending = claim_sending

    async def close(self) -> None:
        """Release the journal; safe to call twice."""
        journal, self._journal = self._journal, None
        if journal is not None:
            await journal.aclose()

    def stop(self) -> None:
        """Pull no more items; those being sent are finished.

        An item a worker pulled ahead and has not sent yet is not sent: its
        key, claimed already, stays pending for the next run (in flight, if
        its claim marked it and the journal can no longer be written to
        undo that: the next run reports it uncertain).
        """
        self._stopping = True

    def _end_input(self, error: Exception) -> None:
        """The input failed: pull nothing more, send what was read, then raise ``error``.

        Not a stop: the items already read are the caller's, and are sent
        and reported before the error is raised.
        """
        if self._fatal is None:
            self._fatal = error
        self._input_failed = True

    def fail_run(self, error: BaseException) -> None:
        """Stop the run because of ``error``, raised once the outcomes are handed out."""
        if self._fatal is None:
            self._fatal = error
        self.stop()

    def trip(self, stop: BulkStopped) -> None:
        """The breaker tripped: stop the run, hold what is not sent, tell the display."""
        if self.stopped_by is not None:
            return
        self.stopped_by = stop
        self.fail_run(stop)
        self.count()

    def raise_fatal(self) -> None:
        """Raise the error that stopped the run, once, if there was one."""
        error, self._fatal = self._fatal, None
        if error is not None:
            raise error

    # -- progress ----------------------------------------------------------

    def count(self, **changes: int) -> None:
        """Apply ``changes`` to the counts and tell the progress callback."""
        for name, delta in changes.items():
            self._counts[name] += delta
        self._report()

    def _report(self) -> None:
        if self._progress is not None:
            try:
                stopped = str(self.stopped_by) if self.stopped_by is not None else None
                self._progress(BulkProgress(**self._counts, stopped=stopped))
            except Exception as exc:
                # A broken display must not decide items' fates: stop the run, report it.
                self._progress = None
                self.fail_run(exc)

    def _tally(
        self, outcomes: Sequence[BulkOutcome[R]], *, landed: int = 0, bytes_sent: int = 0
    ) -> None:
        counts = self._counts
        counts["done"] += len(outcomes)
        counts["in_flight"] -= landed
        counts["bytes_sent"] += bytes_sent
        # Asked once: the arguments of a line nobody reads cost more than the counting.
        debug = logger.isEnabledFor(logging.DEBUG)
        for outcome in outcomes:
            counts[outcome.status] += 1
            if debug:
                logger.debug(
                    "bulk item %d (key %r): %s%s",
                    outcome.index, outcome.key, outcome.status,
                    f": {outcome.error}" if outcome.error is not None else "",
                )  # fmt: skip
        self._report()

    # -- the work ----------------------------------------------------------

    async def work(
        self, emit: Emit[R], *, once: bool, room: Callable[[int], bool] | None = None
    ) -> None:
        """Take units of work until the input ends, or just one (``once``).

        ``room(n)``, if given, says whether ``emit`` can take ``n`` outcomes
        without waiting for the caller.
        """
        # From a plain iterable, a worker pulls its next item, and queues its
        # claim, while the outcome of the last one is being recorded: the two
        # share a commit. When the claim is also the in-flight mark
        # (claim_sending), that is the one commit an item waits for. An async
        # source is not pulled ahead: it may wait for its next item, and the
        # outcome already received must not wait with it.
        pull_ahead = not once and not self._source.is_async
        ahead: _Admission[T, R] | None = None
        while True:
            jobs = await self._next_unit(
                emit, instant_limit=ROUND_INSTANT_LIMIT if once else None, ahead=ahead
            )
            ahead = None
            if jobs:
                ahead = await self._send(jobs, emit, pull_ahead=pull_ahead, room=room)
            elif self.finished:
                return
            if once:
                return

    async def _pull(self) -> _Admission[T, R] | None:
        """Pull the next item and queue its claim; None when no item comes."""
        # Pull and claim under one lock, so the first item with a key is
        # the one sent and a later one the duplicate, whatever the timing.
        # A plain iterable is pulled and claimed without a pause in
        # between, so nothing can come between them: no lock, whose
        # acquire lets the loop go round once more for every item.
        async with self._pull_lock if self._source.is_async else _NO_LOCK:
            if self._stopping or self._input_failed:
                return None  # since this worker waited for the lock
            try:
                pulled = await self._source.pull()
            except Exception as exc:
                self._end_input(exc)
                return None
            if pulled is None:
                return None
            index, item = pulled
            # The claim is queued here, under the lock, and awaited after it:
            # keys are claimed in pull order, and many claims share a commit.
            return self._admit(index, item)

    async def _next_unit(
        self, emit: Emit[R], *, instant_limit: int | None, ahead: _Admission[T, R] | None
    ) -> list[_Job[T]]:
        """Pull items until a unit is ready to send, emitting the outcomes that need no request.

        ``ahead`` is an item pulled already, taken first. If the run was
        stopped since (the caller left, or the journal failed), it is
        dropped unsent: its key stays pending, and nothing is sent that
        nobody will read or that could not be recorded.
        """
        jobs: list[_Job[T]] = []
        instant = 0
        try:
            while len(jobs) < self._batch_size and not self._stopping:
                admission = ahead if ahead is not None else await self._pull()
                if admission is None:
                    break
                # Held as ``ahead`` until its decision is in: cancelled meanwhile,
                # it is dropped below, and a mark made at its claim undone.
                ahead = admission
                try:
                    admitted = await admission.decision
                except Exception as exc:  # the journal failed: nothing more can be recorded
                    self.fail_run(exc)
                    admitted = BulkOutcome(admission.key, admission.index, "failed", error=exc)
                ahead = None
                if isinstance(admitted, _Job):
                    admitted.marked = admission.marked
                    jobs.append(admitted)
                    continue
                if admitted is None:
                    self.count(elsewhere=1)  # a live peer sharing the journal sends it
                else:
                    self._tally([admitted])
                    await emit(admitted)
                instant += 1
                if instant_limit is not None and instant >= instant_limit:
                    break
        finally:
            if ahead is not None:
                self._drop(ahead)
        return jobs

    def _drop(self, admission: _Admission[T, R]) -> None:
        """Let go of an item pulled ahead that will not be sent; its key stays pending."""
        admission.drop()
        if admission.marked and admission.key is not None:
            # Queued after its claim: undoes its mark, if the claim made one.
            self._release_soon([(admission.key, admission.index)])

    def _release_soon(self, claims: list[tuple[str, int]]) -> None:
        """Queue the release of keys marked in flight whose request never left, unawaited.

        Nothing needs to wait for it, and some callers cannot (an item
        dropped, a unit cancelled): the journal commits what is queued even
        if nobody awaits it, in order, at the latest when it closes. If it
        cannot, or offers no release, the keys stay in flight, and a rerun
        reports them uncertain: never a request sent twice.
        """
        if self._release is None or not self._commits_unawaited or not claims:
            return
        try:
            pending = self._release(claims)
        except Exception:  # the journal is closed already
            return
        close = getattr(pending, "close", None)  # a coroutine nobody will await
        if close is not None:
            close()

    async def _release_cancelled(self, claims: list[tuple[str, int]]) -> None:
        """Undo the marks of a unit cancelled before its request left.

        Queued, unawaited, to a journal that commits what nobody awaits;
        awaited, shielded from the cancellation (see :data:`RELEASE_TIMEOUT`),
        from any other (whose writes happen only while awaited: PostgreSQL's,
        which commits a mark whose writer was cancelled, then its release).
        Undone or not, nothing is sent twice: a mark left is reported
        uncertain by the next run.
        """
        if self._release is None or not claims:
            return
        if self._commits_unawaited:
            self._release_soon(claims)
            return
        failure = f"no answer within {RELEASE_TIMEOUT:g} s"
        with anyio.move_on_after(RELEASE_TIMEOUT, shield=True):
            try:
                await self._release(claims)
                return
            except Exception as exc:
                failure = describe(exc)
        logger.warning(
            "bulk: the in-flight marks of %d unsent items cannot be undone (%s);"
            " the next run reports them uncertain",
            len(claims), failure,
        )  # fmt: skip

    def _admit(self, index: int, item: T | InvalidItem) -> _Admission[T, R]:
        """Decide what becomes of a pulled item: send it, an outcome right away, or nothing.

        Its key is claimed at the call; the decision is the admission's
        awaitable: None when a live peer sharing the journal holds the key (the
        peer sends it and reports it).
        """
        if isinstance(item, InvalidItem):
            return _Admission.now(index, BulkOutcome(item.key, index, "failed", error=item.error()))
        try:
            key = self._key(item)
        except Exception as exc:
            return _Admission.now(index, BulkOutcome(None, index, "failed", error=exc))
        if key is None:
            if self._journal_path is not None:
                error = ValidationError("key", "every item needs its key when a journal is used")
                return _Admission.now(index, BulkOutcome(None, index, "failed", error=error))
            return _Admission.now(index, _Job(index, None, item))
        claim_sending = self._claim_sending
        try:
            claim = (claim_sending or self.journal.claim)(key, index)
        except Exception as exc:  # the journal is closed: nothing more can be recorded
            self.fail_run(exc)
            return _Admission.now(index, BulkOutcome(key, index, "failed", error=exc))
        decision = self._claimed(index, key, item, claim)
        return _Admission(index, decision, key, claim, marked=claim_sending is not None)

    async def _claimed(
        self, index: int, key: str, item: T, pending: Awaitable[Claim]
    ) -> _Job[T] | BulkOutcome[R] | None:
        claim = await pending
        if claim.decision == "send":
            return _Job(index, key, item, was_uncertain=claim.was_uncertain)
        if claim.decision == "peer":
            return None
        if claim.decision == "refused":
            error = ValidationError(
                "item",
                f"{key!r}: the provider refused it in an earlier run ({claim.error}); it was"
                " not sent again. Fix the item, then resolve the key as failed"
                " (signing-async bulk-status --resolve KEY=failed) to send it",
            )
            return BulkOutcome(key, index, "failed", error=error)
        if claim.decision == "duplicate":
            error = ValidationError(
                "key",
                f"{key!r} was already used by item {claim.first_index} of this run;"
                " this item was not sent",
            )
            return BulkOutcome(key, index, "failed", error=error)
        if claim.decision == "skip":
            return self._skipped(key, index, claim)
        return BulkOutcome(key, index, "uncertain", error=_uncertain_error(key, claim))

    def _skipped(self, key: str, index: int, claim: Claim) -> BulkOutcome[R]:
        if claim.result is None:
            return BulkOutcome(key, index, "skipped")
        try:
            return BulkOutcome(key, index, "skipped", result=self._decode(claim.result))
        except Exception as exc:
            # Done already, whatever the stored answer looks like: never resend.
            return BulkOutcome(key, index, "skipped", error=exc)

    async def _send(
        self,
        jobs: list[_Job[T]],
        emit: Emit[R],
        *,
        pull_ahead: bool,
        room: Callable[[int], bool] | None = None,
    ) -> _Admission[T, R] | None:
        """Send one unit and record and emit the outcome of each of its items.

        With ``pull_ahead``, the next item is pulled (and its claim queued)
        right after this unit's outcomes are queued, and returned.
        """
        observer = _Observer(self, jobs)
        marked = [(job.key, job.index) for job in jobs if job.marked and job.key is not None]
        answers: Sequence[R | Exception]
        try:
            # Nothing need have paused since the worker handed its last outcome
            # over (a claim committed with that outcome is read at once). The
            # caller gets its turn first, so that a run it cancels on seeing
            # that outcome sends nothing more: a mark made at the claim is
            # undone below, and no other mark is made.
            for _ in range(self._turns):
                await self._checkpoint()
            with observe_sends(observer):
                answers = await self._send_batch([job.item for job in jobs])
            if len(answers) != len(jobs):
                raise RuntimeError(f"{len(answers)} answers for {len(jobs)} items")
        except Exception as exc:
            answers = [exc] * len(jobs)
        except BaseException:
            if not observer.announced:
                # Cancelled before it left, maybe while its mark was being
                # written: back to pending (the release is queued after the mark).
                await self._release_cancelled(marked + observer.marking)
            raise
        if marked and not observer.announced:
            # Marked at its claim, it never left (the run stopped first, or its
            # input was refused): its row goes back to what a plain claim left,
            # its count of sends too; an outcome, queued next, sets its state.
            self._release_soon(marked)
        if self._stopping and not observer.announced:
            # Nothing of this unit left before the run stopped: no outcome,
            # and its rows stay pending, so the next run sends it.
            return None
        for answer in answers:
            stop = self._breaker.record(answer)
            if stop is not None:
                self.trip(stop)
                break
        if observer.journal_error is not None:
            # The in-flight mark failed, so the request was not sent: stop here.
            self.fail_run(observer.journal_error)
        outcomes: list[BulkOutcome[R]] = []
        entries: list[Entry] = []
        for job, answer in zip(jobs, answers, strict=True):
            outcome, entry = self._conclude(job, answer, sent=observer.announced)
            outcomes.append(outcome)
            if entry is not None:
                entries.append(entry)
        recorded = None
        if entries and observer.journal_error is None:
            recorded = self.journal.finish(entries)  # queued now, in the order of the calls
        ahead = None
        try:
            try:
                if pull_ahead and not self._stopping:
                    ahead = await self._pull()  # a plain iterable's: no pause
            finally:
                try:
                    if recorded is not None:
                        await self._recorded(recorded)
                finally:
                    # Counted even if the run is cancelled meanwhile: the
                    # answers are in, and their records are committed. The
                    # rest of the body's bytes are told with the outcome.
                    self._tally(
                        outcomes,
                        landed=len(jobs) if observer.announced else 0,
                        bytes_sent=observer.unreported,
                    )
            if ahead is not None and ahead.marked and room is not None and not room(len(outcomes)):
                # The caller is behind: the next item would wait, marked in
                # flight but unsent, until it takes these outcomes. Undo the
                # mark (queued before any later one); it is marked as it leaves.
                ahead.marked = False
                if ahead.key is not None:
                    self._release_soon([(ahead.key, ahead.index)])
            for outcome in outcomes:
                await emit(outcome)
        except BaseException:
            if ahead is not None:
                self._drop(ahead)
            raise
        return ahead

    async def _recorded(self, recorded: Awaitable[None]) -> None:
        """Wait until outcomes queued in the journal are written; if they cannot be, stop the run.

        An answer received must be recorded even if the run is being
        cancelled. A journal that commits what is queued whether or not
        anyone waits (``commits_unawaited``: a commit thread, which commits
        the rest as the journal closes) needs no more than that; for any
        other, the wait is shielded from the cancellation.
        """
        try:
            if self._commits_unawaited:
                await recorded
            else:
                with anyio.CancelScope(shield=True):
                    await recorded
        except Exception as exc:
            self.fail_run(exc)

    def _conclude(
        self, job: _Job[T], answer: R | Exception, *, sent: bool
    ) -> tuple[BulkOutcome[R], Entry | None]:
        if isinstance(answer, Exception):
            status: Verdict = verdict(answer, sent=sent)
            if job.was_uncertain:
                # An earlier attempt may have created it; this failure does not undo that.
                status = "uncertain"
            outcome: BulkOutcome[R] = BulkOutcome(
                job.key, job.index, status, error=_without_tracebacks(answer)
            )
            if job.key is None or self._journal is None:
                return outcome, None
            rejected = status == "failed" and sent and refused(answer)
            return outcome, Entry(job.key, status, error=describe(answer), refused=rejected)
        outcome = BulkOutcome(job.key, job.index, "succeeded", result=answer)
        if job.key is None or self._journal_path is None:
            return outcome, None  # nothing to journal (the memory journal keeps no results)
        try:
            stored: str | None = self._encode(answer)
        except Exception as exc:
            logger.warning("bulk item %r: the result cannot be journaled: %s", job.key, exc)
            stored = None
        return outcome, Entry(job.key, "succeeded", result=stored)


_NO_LOCK = contextlib.nullcontext()


Decision = Coroutine[Any, Any, "_Job[T] | BulkOutcome[R] | None"]
"""What becomes of a pulled item: sent, answered at once, or (None) left to a live peer."""


@attrs.define
class _Admission(Generic[T, R]):
    """A pulled item whose claim is queued: its index, and the decision to await."""

    index: int
    decision: Decision[T, R]
    key: str | None = None
    claim: Awaitable[Claim] | None = None  # the journal's, which ``decision`` awaits
    marked: bool = False  # the claim marks it in flight (claim_sending), unless undone

    @classmethod
    def now(cls, index: int, decision: _Job[T] | BulkOutcome[R]) -> _Admission[T, R]:
        """An item decided without the journal."""
        return cls(index, _ready(decision))

    def drop(self) -> None:
        """Let go of an item never to be sent: its decision will not be awaited."""
        self.decision.close()
        close = getattr(self.claim, "close", None)  # a coroutine's, unawaited
        if close is not None:
            close()


async def _ready(value: V) -> V:
    return value


def _without_tracebacks(error: E) -> E:
    """``error``, and the errors chained to it, without their tracebacks.

    A failed outcome keeps its error for as long as the caller keeps the
    outcome, and a traceback keeps alive every frame the error went through:
    the item's document and request body are among their variables, so
    thousands of failures kept would hold thousands of documents. Clearing
    the frames instead is not safe: an error shared between tasks (a failed
    token fetch raised in every task that waited for it) carries frames of
    other tasks, and clearing a suspended coroutine's frame closes it.
    """
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) not in seen:
            seen.add(id(current))
            current.__traceback__ = None
            pending += [chained for chained in (current.__cause__, current.__context__) if chained]
    return error


def _uncertain_error(key: str, claim: Claim) -> TransportError:
    if claim.state == "in_flight":
        what = f"a previous run sent it and died before the answer (in flight since {claim.since})"
    else:
        what = f"a previous run could not confirm it ({claim.error or 'no answer'})"
    return TransportError(
        f"{key!r}: {what}; it may have been created. Check with the provider,"
        " then run again with on_uncertain='resend' to send it anyway",
        request_sent=True,
    )
