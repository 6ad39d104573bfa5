"""The public face of a bulk run: :class:`BulkRun` and the functions that start one.

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
from collections import deque
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar

import anyio
import attrs
from anyio.abc import TaskGroup
from anyio.lowlevel import checkpoint_if_cancelled
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._breaker import DEFAULT_CONNECT_FAILURES
from ._engine import Engine, OnUncertain
from ._journal import JournalOption
from ._outcome import BulkOutcome
from ._progress import BulkProgress

__all__ = ["BulkOptions", "BulkRun", "run_bulk", "run_bulk_batches"]

T = TypeVar("T")
R = TypeVar("R")


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

    Leaving early (``break``, an exception) pulls and sends no further
    items: an item pulled but not yet sent stays pending for the next run.
    Leaving the ``async with`` block normally lets the requests already sent
    finish and be journaled; an exception or a cancellation cancels them, and the
    journal keeps them as in flight (uncertain on the next run).

    Raises (from iteration, after every outcome already available):
        BulkStopped: The circuit breaker tripped: the provider refused the
            credentials or access, or the server could not be reached
            ``stop_after_connect_failures`` times in a row. The outcomes of
            the items sent were yielded first; the items not sent got no
            outcome and stay pending in the journal, so a rerun sends them.
        Exception: What the input iterator raised, or a journal failure; the
            run stops pulling items when it happens.
    """

    def __init__(self, engine: Engine[Any, R]) -> None:
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
                try:
                    # Room in the buffer (the usual case): hand it over without
                    # a trip round the event loop, which ``send`` always makes.
                    send.send_nowait(outcome)
                except anyio.WouldBlock:
                    await send.send(outcome)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._engine.stop()  # nobody is listening any more

        def room(count: int) -> bool:
            statistics = send.statistics()
            return statistics.current_buffer_used + count <= statistics.max_buffer_size

        with send:
            await self._engine.work(emit, once=False, room=room)

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
                # An outcome waiting is taken at once (``receive`` would first go
                # round the event loop); a cancellation is still noticed here.
                await checkpoint_if_cancelled()
                try:
                    return self._receive.receive_nowait()
                except anyio.WouldBlock:
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


@attrs.frozen
class BulkOptions:
    """How a bulk run goes: the caller's choices, the same for every ``*_many`` method.

    Attributes:
        concurrency: Items (batches) in flight at most.
        journal: Where every key's state is recorded, so a rerun skips what
            is done and never sends twice what may have been created: a
            SQLite file, a ``postgresql://`` DSN (with ``job``), or a
            :class:`~signing_async.fleet.PostgresJournal`.
        on_uncertain: ``"report"`` the keys a previous run left uncertain
            (the default) or ``"resend"`` them.
        progress: Called with the counts after every change.
        stop_after_connect_failures: Consecutive connection failures that
            stop the run (:class:`BulkStopped`); None never stops for them.
            A refusal of the credentials or of access always stops it.
        job: The job's name, when ``journal`` is a ``postgresql://`` DSN.
    """

    concurrency: int = 8
    journal: JournalOption = None
    on_uncertain: OnUncertain = "report"
    progress: Callable[[BulkProgress], object] | None = None
    stop_after_connect_failures: int | None = DEFAULT_CONNECT_FAILURES
    job: str | None = None


_DEFAULTS = BulkOptions()


def run_bulk(
    items: Iterable[T] | AsyncIterable[T],
    *,
    key: Callable[[T], str | None],
    send: Callable[[T], Awaitable[R]],
    options: BulkOptions = _DEFAULTS,
    encode_result: Callable[[R], str] = json.dumps,
    decode_result: Callable[[str], R] = json.loads,
    kind: str = "bulk",
    transport: object = None,
) -> BulkRun[R]:
    """Send every item with ``send``, at most ``options.concurrency`` at a time.

    Args:
        items: The items, an iterable or async iterable, pulled lazily. An
            :class:`InvalidItem` among them becomes a failed outcome; ``key``
            and ``send`` never see it.
        key: The item's natural key; None when it has none (allowed only
            without a journal). It may raise :class:`ValidationError`, which
            fails the item.
        send: The single-item call. It must go through the core session,
            which tells the journal the moment its request leaves.
        options: Concurrency, journal, progress and the circuit breaker.
        encode_result: A succeeded result as JSON text, for the journal.
        decode_result: The inverse, for skipped items' results.
        kind: What the job sends; a journal of another kind is refused.
        transport: The transport the requests go through. If it has an
            ``ensure_connections(count)`` method, it is called with
            ``concurrency`` when the run starts, so that the connection pool
            holds as many requests as the run sends at once.

    Returns:
        The run, to iterate (inside ``async with`` for streaming).

    Raises:
        ValidationError: A bad ``concurrency``, ``on_uncertain`` or
            ``stop_after_connect_failures``.
    """

    async def send_one(batch: Sequence[T]) -> Sequence[R | Exception]:
        (item,) = batch
        return [await send(item)]

    return run_bulk_batches(
        items,
        key=key,
        send_batch=send_one,
        batch_size=1,
        options=options,
        encode_result=encode_result,
        decode_result=decode_result,
        kind=kind,
        transport=transport,
    )


def run_bulk_batches(
    items: Iterable[T] | AsyncIterable[T],
    *,
    key: Callable[[T], str | None],
    send_batch: Callable[[Sequence[T]], Awaitable[Sequence[R | Exception]]],
    batch_size: int,
    options: BulkOptions = _DEFAULTS,
    encode_result: Callable[[R], str] = json.dumps,
    decode_result: Callable[[str], R] = json.loads,
    kind: str = "bulk",
    transport: object = None,
) -> BulkRun[R]:
    """Like :func:`run_bulk`, for an endpoint that takes up to ``batch_size`` items per request.

    ``send_batch`` receives the items of one request and returns one answer
    per item, in order: its result, or the exception that failed it. If it
    raises, the exception is every item's answer. The items of a batch are
    journaled together: in flight before the request, finished after it.
    """
    engine: Engine[T, R] = Engine(
        items,
        key=key,
        send_batch=send_batch,
        batch_size=batch_size,
        concurrency=options.concurrency,
        journal=options.journal,
        on_uncertain=options.on_uncertain,
        progress=options.progress,
        encode_result=encode_result,
        decode_result=decode_result,
        kind=kind,
        stop_after_connect_failures=options.stop_after_connect_failures,
        transport=transport,
        job=options.job,
    )
    return BulkRun(engine)
