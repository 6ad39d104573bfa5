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
- a key seen twice in one run: the second item fails, unsent.

The run is a :class:`BulkRun`: an async iterator of outcomes that is also an
async context manager. Inside ``async with`` the workers run in a task group
for the whole block and outcomes stream as they finish. A bare ``async for``
cannot keep tasks alive between two outcomes (nothing would close them if the
loop were left with ``break``), so it works in rounds: up to ``concurrency``
requests are sent, all of them finish, then their outcomes are handed out.
Both are structured: no task outlives the ``async with`` block or the
``__anext__`` call that started it.
"""

from __future__ import annotations

import json
import logging
import os
from collections import deque
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar

import anyio
import attrs
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..errors import TransportError, ValidationError
from ..observe import observe_sends
from ._items import InvalidItem, ItemSource
from ._journal import Claim, Entry, Ledger, open_ledger
from ._outcome import BulkOutcome
from ._progress import BulkProgress
from ._verdict import Verdict, verdict

__all__ = ["BulkRun", "OnUncertain", "run_bulk", "run_bulk_batches"]

logger = logging.getLogger("signing_async")

T = TypeVar("T")
R = TypeVar("R")

OnUncertain = Literal["report", "resend"]
"""What a rerun does with items a previous run left in flight or uncertain."""

ROUND_INSTANT_LIMIT = 64
"""In rounds, how many unsent outcomes (skips, duplicates) one worker gathers at most."""

Emit = Callable[[BulkOutcome[R]], Awaitable[None]]


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


@attrs.define
class _Job(Generic[T]):
    """An item claimed for sending."""

    index: int
    key: str | None
    item: T
    was_uncertain: bool = False


class _Observer:
    """Watches the requests of one unit of work (one item, or one batch)."""

    def __init__(self, engine: _Engine[Any, Any], keys: list[str], size: int) -> None:
        self._engine = engine
        self._keys = keys
        self._size = size
        self.announced = False
        self.journal_error: Exception | None = None

    async def sending(self) -> None:
        if self.announced:
            return  # a retry of the same request: in flight already
        try:
            await self._engine.ledger.mark_in_flight(self._keys)
        except Exception as exc:
            self.journal_error = exc
            raise
        self.announced = True
        self._engine.count(in_flight=self._size)

    def sent(self, size: int) -> None:
        self._engine.count(bytes_sent=size)


class _Engine(Generic[T, R]):
    """The state of one bulk run, shared by its workers."""

    def __init__(
        self,
        items: Iterable[T] | AsyncIterable[T],
        *,
        key: Callable[[T], str | None],
        send_batch: Callable[[Sequence[T]], Awaitable[Sequence[R | Exception]]],
        batch_size: int,
        concurrency: int,
        journal: str | os.PathLike[str] | None,
        on_uncertain: OnUncertain,
        progress: Callable[[BulkProgress], object] | None,
        encode_result: Callable[[R], str],
        decode_result: Callable[[str], R],
        kind: str,
    ) -> None:
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ValidationError("concurrency", f"must be a positive integer, not {concurrency!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValidationError("batch_size", f"must be a positive integer, not {batch_size!r}")
        if on_uncertain not in ("report", "resend"):
            raise ValidationError(
                "on_uncertain", f"must be 'report' or 'resend', not {on_uncertain!r}"
            )
        # An InvalidItem may hide among the items whatever T says (a manifest
        # reader's bad row): the engine answers it, key and send never see it.
        self._source: ItemSource[T | InvalidItem] = ItemSource(items)
        self._key = key
        self._send_batch = send_batch
        self._batch_size = batch_size
        self.concurrency = concurrency
        self._journal = journal
        self._on_uncertain = on_uncertain
        self._progress = progress
        self._encode = encode_result
        self._decode = decode_result
        self._kind = kind
        self._ledger: Ledger | None = None
        self._pull_lock = anyio.Lock()
        self._stopping = False
        self._fatal: BaseException | None = None
        self._counts = dict.fromkeys(attrs.fields_dict(BulkProgress), 0)

    # -- lifecycle ---------------------------------------------------------

    @property
    def ledger(self) -> Ledger:
        assert self._ledger is not None, "the run is not open"
        return self._ledger

    @property
    def finished(self) -> bool:
        """No more items will be pulled."""
        return self._stopping or self._source.exhausted

    async def open(self) -> None:
        self._ledger = await open_ledger(
            self._journal, kind=self._kind, resend_uncertain=self._on_uncertain == "resend"
        )

    async def close(self) -> None:
        ledger, self._ledger = self._ledger, None
        if ledger is not None:
            await ledger.aclose()

    def stop(self) -> None:
        """Pull no more items; those already pulled are finished."""
        self._stopping = True

    def fail_run(self, error: BaseException) -> None:
        """Stop the run because of ``error``, raised once the outcomes are handed out."""
        if self._fatal is None:
            self._fatal = error
        self.stop()

    def raise_fatal(self) -> None:
        error, self._fatal = self._fatal, None
        if error is not None:
            raise error

    # -- progress ----------------------------------------------------------

    def count(self, **changes: int) -> None:
        """Apply ``changes`` to the counts and tell the progress callback."""
        for name, delta in changes.items():
            self._counts[name] += delta
        if self._progress is not None:
            try:
                self._progress(BulkProgress(**self._counts))
            except Exception as exc:
                # A broken display must not decide items' fates: stop the run, report it.
                self._progress = None
                self.fail_run(exc)

    def _tally(self, outcomes: Sequence[BulkOutcome[R]], *, landed: int = 0) -> None:
        changes = {"done": len(outcomes), "in_flight": -landed}
        for outcome in outcomes:
            changes[outcome.status] = changes.get(outcome.status, 0) + 1
            logger.debug(
                "bulk item %d (key %r): %s%s",
                outcome.index, outcome.key, outcome.status,
                f": {outcome.error}" if outcome.error is not None else "",
            )  # fmt: skip
        self.count(**changes)

    # -- the work ----------------------------------------------------------

    async def work(self, emit: Emit[R], *, once: bool) -> None:
        """Take units of work until the input ends, or just one (``once``)."""
        while True:
            jobs = await self._next_unit(emit, instant_limit=ROUND_INSTANT_LIMIT if once else None)
            if jobs:
                await self._send(jobs, emit)
            elif self.finished:
                return
            if once:
                return

    async def _next_unit(self, emit: Emit[R], *, instant_limit: int | None) -> list[_Job[T]]:
        """Pull items until a unit is ready to send, emitting the outcomes that need no request."""
        jobs: list[_Job[T]] = []
        instant = 0
        while len(jobs) < self._batch_size and not self._stopping:
            # Pull and claim under one lock, so the first item with a key is
            # the one sent and a later one the duplicate, whatever the timing.
            async with self._pull_lock:
                try:
                    pulled = await self._source.pull()
                except Exception as exc:
                    self.fail_run(exc)
                    break
                if pulled is None:
                    break
                index, item = pulled
                try:
                    admitted = await self._admit(index, item)
                except Exception as exc:  # the journal failed: nothing more can be recorded
                    self.fail_run(exc)
                    admitted = BulkOutcome(None, index, "failed", error=exc)
            if isinstance(admitted, _Job):
                jobs.append(admitted)
                continue
            self._tally([admitted])
            await emit(admitted)
            instant += 1
            if instant_limit is not None and instant >= instant_limit:
                break
        return jobs

    async def _admit(self, index: int, item: T | InvalidItem) -> _Job[T] | BulkOutcome[R]:
        """Decide what becomes of a pulled item: send it, or an outcome right away."""
        if isinstance(item, InvalidItem):
            return BulkOutcome(item.key, index, "failed", error=item.error())
        try:
            key = self._key(item)
        except Exception as exc:
            return BulkOutcome(None, index, "failed", error=exc)
        if key is None:
            if self._journal is not None:
                error = ValidationError("key", "every item needs its key when a journal is used")
                return BulkOutcome(None, index, "failed", error=error)
            return _Job(index, None, item)
        claim = await self.ledger.claim(key, index)
        if claim.decision == "send":
            return _Job(index, key, item, was_uncertain=claim.was_uncertain)
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

    async def _send(self, jobs: list[_Job[T]], emit: Emit[R]) -> None:
        """Send one unit and record and emit the outcome of each of its items."""
        observer = _Observer(self, [job.key for job in jobs if job.key is not None], len(jobs))
        answers: Sequence[R | Exception]
        try:
            with observe_sends(observer):
                answers = await self._send_batch([job.item for job in jobs])
            if len(answers) != len(jobs):
                raise RuntimeError(f"{len(answers)} answers for {len(jobs)} items")
        except Exception as exc:
            answers = [exc] * len(jobs)
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
        if entries and observer.journal_error is None:
            # Shielded: an answer received must be recorded even if the run is being cancelled.
            with anyio.CancelScope(shield=True):
                try:
                    await self.ledger.finish(entries)
                except Exception as exc:
                    self.fail_run(exc)
        self._tally(outcomes, landed=len(jobs) if observer.announced else 0)
        for outcome in outcomes:
            await emit(outcome)

    def _conclude(
        self, job: _Job[T], answer: R | Exception, *, sent: bool
    ) -> tuple[BulkOutcome[R], Entry | None]:
        if isinstance(answer, Exception):
            status: Verdict = verdict(answer, sent=sent)
            if job.was_uncertain:
                # An earlier attempt may have created it; this failure does not undo that.
                status = "uncertain"
            outcome: BulkOutcome[R] = BulkOutcome(job.key, job.index, status, error=answer)
            if job.key is None:
                return outcome, None
            return outcome, Entry(job.key, status, error=_describe(answer))
        outcome = BulkOutcome(job.key, job.index, "succeeded", result=answer)
        if job.key is None:
            return outcome, None
        try:
            stored: str | None = self._encode(answer)
        except Exception as exc:
            logger.warning("bulk item %r: the result cannot be journaled: %s", job.key, exc)
            stored = None
        return outcome, Entry(job.key, "succeeded", result=stored)


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


class BulkRun(Generic[R]):
    """The outcomes of a bulk run: an async iterator, and an async context manager.

    Streaming, recommended for large jobs: outcomes arrive as requests
    finish, and ``concurrency`` requests stay in flight while your loop runs::

        async with bulk_run as outcomes:  # what a namespace's *_many method returns
            async for outcome in outcomes:
                ...

    A bare ``async for`` also works and may be left with ``break``: it runs
    in rounds (up to ``concurrency`` requests, all answered, then their
    outcomes), so no request is left running between two outcomes.

    Leaving early (``break``, an exception) pulls no further items. Leaving
    the ``async with`` block normally lets the requests already sent finish
    and be journaled; an exception or a cancellation cancels them, and the
    journal keeps them as in flight (uncertain on the next run).

    Raises (from iteration, after every outcome already available):
        Exception: What the input iterator raised, or a journal failure; the
            run stops pulling items when it happens.
    """

    def __init__(self, engine: _Engine[Any, R]) -> None:
        self._engine = engine
        self._mode: Literal["new", "stream", "rounds", "closed"] = "new"
        self._task_group: TaskGroup | None = None
        self._receive: MemoryObjectReceiveStream[BulkOutcome[R]] | None = None
        self._buffer: deque[BulkOutcome[R]] = deque()

    # -- streaming, inside ``async with`` -----------------------------------

    async def __aenter__(self) -> BulkRun[R]:
        if self._mode != "new":
            raise RuntimeError("a bulk run is started once: enter it before iterating")
        self._mode = "stream"
        engine = self._engine
        await engine.open()
        send, receive = anyio.create_memory_object_stream[BulkOutcome[R]](engine.concurrency)
        task_group = anyio.create_task_group()
        try:
            await task_group.__aenter__()
        except BaseException:
            send.close()
            receive.close()
            with anyio.CancelScope(shield=True):
                await engine.close()
            raise
        self._task_group, self._receive = task_group, receive
        with send:
            for _ in range(engine.concurrency):
                task_group.start_soon(self._stream_worker, send.clone())
        return self

    async def _stream_worker(self, send: MemoryObjectSendStream[BulkOutcome[R]]) -> None:
        async def emit(outcome: BulkOutcome[R]) -> None:
            try:
                await send.send(outcome)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._engine.stop()  # nobody is listening any more

        with send:
            await self._engine.work(emit, once=False)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        task_group = self._task_group
        assert task_group is not None
        assert self._receive is not None
        self._engine.stop()
        self._receive.close()
        host: tuple[Any, Any, Any] = (None, None, None)
        if exc is not None:
            task_group.cancel_scope.cancel()
            if isinstance(exc, anyio.get_cancelled_exc_class()):
                host = (exc_type, exc, tb)
            # Any other exception is the caller's own: it propagates as it is,
            # not wrapped in the task group's exception group.
        try:
            suppressed = bool(await task_group.__aexit__(*host)) and host[1] is not None
        finally:
            self._mode = "closed"
            with anyio.CancelScope(shield=True):
                await self._engine.close()
        if exc is None:
            self._engine.raise_fatal()
        return suppressed

    # -- iteration ---------------------------------------------------------

    def __aiter__(self) -> BulkRun[R]:
        return self

    async def __anext__(self) -> BulkOutcome[R]:
        if self._mode == "stream":
            assert self._receive is not None
            try:
                return await self._receive.receive()
            except anyio.EndOfStream:
                self._engine.raise_fatal()
                raise StopAsyncIteration from None
            except anyio.ClosedResourceError:
                raise StopAsyncIteration from None
        if self._mode == "closed":
            raise StopAsyncIteration
        if self._mode == "new":
            self._mode = "rounds"
            try:
                await self._engine.open()
            except BaseException:
                self._mode = "closed"
                raise
        return await self._next_in_rounds()

    async def _next_in_rounds(self) -> BulkOutcome[R]:
        engine = self._engine

        async def emit(outcome: BulkOutcome[R]) -> None:
            self._buffer.append(outcome)

        try:
            while not self._buffer and not engine.finished:
                async with anyio.create_task_group() as task_group:
                    for _ in range(engine.concurrency):
                        task_group.start_soon(lambda: engine.work(emit, once=True))
        except BaseException:
            await self._close_rounds()
            raise
        if self._buffer:
            return self._buffer.popleft()
        await self._close_rounds()
        engine.raise_fatal()
        raise StopAsyncIteration

    async def _close_rounds(self) -> None:
        self._mode = "closed"
        self._buffer.clear()
        with anyio.CancelScope(shield=True):
            await self._engine.close()

    async def aclose(self) -> None:
        """Stop: pull no more items and release the journal.

        Inside ``async with``, the block's end still waits for the requests
        already sent. Use ``contextlib.aclosing(run)`` to release a bare
        ``async for`` run at once when leaving its loop early.
        """
        if self._mode == "stream":
            self._engine.stop()
            if self._receive is not None:
                self._receive.close()
        elif self._mode != "closed":
            await self._close_rounds()


def run_bulk(
    items: Iterable[T] | AsyncIterable[T],
    *,
    key: Callable[[T], str | None],
    send: Callable[[T], Awaitable[R]],
    concurrency: int = 8,
    journal: str | os.PathLike[str] | None = None,
    on_uncertain: OnUncertain = "report",
    progress: Callable[[BulkProgress], object] | None = None,
    encode_result: Callable[[R], str] = json.dumps,
    decode_result: Callable[[str], R] = json.loads,
    kind: str = "bulk",
) -> BulkRun[R]:
    """Send every item with ``send``, at most ``concurrency`` at a time.

    Args:
        items: The items, an iterable or async iterable, pulled lazily. An
            :class:`InvalidItem` among them becomes a failed outcome; ``key``
            and ``send`` never see it.
        key: The item's natural key; None when it has none (allowed only
            without a journal). It may raise :class:`ValidationError`, which
            fails the item.
        send: The single-item call. It must go through the core session,
            which tells the journal the moment its request leaves.
        concurrency: Items in flight at most.
        journal: A SQLite file recording every key's state, so a rerun skips
            what is done and never sends twice what may have been created.
        on_uncertain: ``"report"`` the keys a previous run left uncertain
            (the default) or ``"resend"`` them.
        progress: Called with the counts after every change.
        encode_result: A succeeded result as JSON text, for the journal.
        decode_result: The inverse, for skipped items' results.
        kind: What the job sends; a journal of another kind is refused.

    Returns:
        The run, to iterate (inside ``async with`` for streaming).

    Raises:
        ValidationError: A bad ``concurrency`` or ``on_uncertain``.
    """

    async def send_one(batch: Sequence[T]) -> Sequence[R | Exception]:
        (item,) = batch
        return [await send(item)]

    return run_bulk_batches(
        items,
        key=key,
        send_batch=send_one,
        batch_size=1,
        concurrency=concurrency,
        journal=journal,
        on_uncertain=on_uncertain,
        progress=progress,
        encode_result=encode_result,
        decode_result=decode_result,
        kind=kind,
    )


def run_bulk_batches(
    items: Iterable[T] | AsyncIterable[T],
    *,
    key: Callable[[T], str | None],
    send_batch: Callable[[Sequence[T]], Awaitable[Sequence[R | Exception]]],
    batch_size: int,
    concurrency: int = 8,
    journal: str | os.PathLike[str] | None = None,
    on_uncertain: OnUncertain = "report",
    progress: Callable[[BulkProgress], object] | None = None,
    encode_result: Callable[[R], str] = json.dumps,
    decode_result: Callable[[str], R] = json.loads,
    kind: str = "bulk",
) -> BulkRun[R]:
    """Like :func:`run_bulk`, for an endpoint that takes up to ``batch_size`` items per request.

    ``send_batch`` receives the items of one request and returns one answer
    per item, in order: its result, or the exception that failed it. If it
    raises, the exception is every item's answer. The items of a batch are
    journaled together: in flight before the request, finished after it.
    """
    engine: _Engine[T, R] = _Engine(
        items,
        key=key,
        send_batch=send_batch,
        batch_size=batch_size,
        concurrency=concurrency,
        journal=journal,
        on_uncertain=on_uncertain,
        progress=progress,
        encode_result=encode_result,
        decode_result=decode_result,
        kind=kind,
    )
    return BulkRun(engine)
