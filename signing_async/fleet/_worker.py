"""``run_worker``: take chunks of submitted jobs from the queue and send them, until cancelled.

A worker is one process with one :class:`~signing_async.SigningClient`
(from ``client_factory``). procrastinate hands it chunk tasks; each chunk is
sent by the provider's ``*_many`` method with a :class:`PostgresJournal` on
the job, so every promise of a bulk run holds: nothing is sent twice, a
chunk that a killed worker left is finished by another (its unsent items
sent, its in-flight ones reported uncertain).

procrastinate delivers a task at least once, and never retries by itself a
task whose worker died: every worker runs a *reaper* that hands the tasks
of workers silent for ``stalled_after`` seconds back to the queue. Safety
never depends on it (the journal decides what is sent); only progress does.
A chunk task succeeds only when none of its items is still pending or in
flight; otherwise it fails and is tried again a second later (a chunk that
failed otherwise waits longer each time: :class:`~._queue.ChunkRetry`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import anyio
import procrastinate

from .. import _providers
from .._client import SigningClient
from .._core.bulk._engine import MAX_CONCURRENCY
from .._core.bulk._pg import connect
from .._core.bulk._pg_journal import PostgresJournal
from .._core.bulk._pg_schema import DEFAULT_SCHEMA, valid_schema
from .._core.errors import ValidationError
from .._core.validation import require_in_range
from ._payload import from_payload
from ._queue import QUEUE, SEND_CHUNK, ChunkNotDone, ChunkRetry, build_app, ensure_queue_tables

__all__ = ["ChunkNotDone", "run_worker"]

logger = logging.getLogger("signing_async.fleet")

CHUNKS_AT_ONCE = 2
"""Chunks a worker sends at the same time, so that one chunk's last items
overlap the next chunk's first: ``concurrency`` is shared between them."""


async def run_worker(
    dsn: str,
    *,
    client_factory: Callable[[], SigningClient],
    concurrency: int = 16,
    schema: str = DEFAULT_SCHEMA,
    stalled_after: float = 30.0,
) -> None:
    """Send chunks of submitted jobs, ``concurrency`` requests at a time at most, until cancelled.

    Example:
        >>> await run_worker(dsn, client_factory=sa.SigningClient.from_env, concurrency=16)

    Args:
        dsn: The database (``postgresql://...``) jobs were submitted to.
        client_factory: Makes this worker's client (credentials for the
            providers of the jobs it will meet); called once.
        concurrency: Requests in flight at most, across the chunks it sends.
        schema: The fleet's schema.
        stalled_after: Seconds without a heartbeat after which a worker is
            taken for dead and its chunks go back to the queue. Workers
            beat every third of it.

    Cancelling it stops the worker at once (once the journal transactions
    under way are through: milliseconds with a database that answers): the
    chunks it was sending are aborted (their in-flight items become
    uncertain, the rest stay pending) and go back to the queue for the
    other workers. It runs on asyncio.

    Raises:
        ValidationError: A bad ``concurrency`` or ``stalled_after``.
        ConfigurationError: The database cannot be reached.
    """
    require_in_range(concurrency, 1, MAX_CONCURRENCY, "concurrency")
    if not stalled_after > 0:
        raise ValidationError("stalled_after", f"must be a positive number, not {stalled_after!r}")
    valid_schema(schema)
    connection = await connect(dsn, schema)
    try:
        await ensure_queue_tables(connection, schema)
    finally:
        await connection.close()
    per_chunk = max(1, concurrency // CHUNKS_AT_ONCE)
    app = build_app(dsn, schema, pool_size=CHUNKS_AT_ONCE + 3)
    async with client_factory() as client:

        async def send_chunk(job: str, chunk: int, schema: str) -> None:
            await _send_chunk(
                dsn, client, job=job, chunk=chunk, schema=schema, concurrency=per_chunk
            )

        app.task(
            name=SEND_CHUNK,
            queue=QUEUE,
            retry=ChunkRetry(),
        )(send_chunk)
        async with app.open_async():
            # procrastinate's worker runs as a task of its own: cancelled once,
            # it aborts the chunks it runs and records their status, which
            # needs the pool open. Cancelled where it stands, by an anyio
            # scope that cancels every await, it would leave those writes to
            # a closed pool.
            worker = asyncio.ensure_future(
                app.run_worker_async(
                    queues=[QUEUE],
                    concurrency=CHUNKS_AT_ONCE,
                    install_signal_handlers=False,
                    update_heartbeat_interval=stalled_after / 3,
                    stalled_worker_timeout=stalled_after,
                    # Stopped, the worker stops at once: the chunks it was
                    # sending are aborted (their in-flight items become
                    # uncertain) and go back to the queue.
                    shutdown_graceful_timeout=0,
                )
            )
            try:
                async with anyio.create_task_group() as group:
                    group.start_soon(_reap, app, stalled_after)
                    await asyncio.shield(worker)
                    group.cancel_scope.cancel()
            finally:
                worker.cancel()
                with anyio.CancelScope(shield=True):
                    await asyncio.gather(worker, return_exceptions=True)


async def _send_chunk(
    dsn: str, client: SigningClient, *, job: str, chunk: int, schema: str, concurrency: int
) -> None:
    connection = await connect(dsn, schema)
    try:
        found: Any = await (
            await connection.execute(f"SELECT provider FROM {schema}.jobs WHERE job = %s", (job,))
        ).fetchone()
        payloads = await (
            await connection.execute(
                f"SELECT payload FROM {schema}.items WHERE job = %s AND chunk = %s"
                " ORDER BY item_index",
                (job, chunk),
            )
        ).fetchall()
    finally:
        await connection.close()
    if found is None or found[0] is None:
        raise ChunkNotDone(f"the job {job!r} has no provider recorded (was it submitted?)")
    spec = _providers.bulk_spec(str(found[0]))
    items = [from_payload(payload) for (payload,) in payloads]
    send_many = getattr(getattr(client, spec.namespace), spec.method)
    counts: dict[str, int] = {}
    journal = PostgresJournal(dsn, job=job, schema=schema)
    async with send_many(items, concurrency=concurrency, journal=journal) as outcomes:
        async for outcome in outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
    logger.info("job %r chunk %d: %s", job, chunk, counts or "nothing left to send")
    connection = await connect(dsn, schema)
    try:
        left: Any = await (
            await connection.execute(
                f"SELECT count(*) FROM {schema}.items WHERE job = %s AND chunk = %s"
                " AND state IN ('pending', 'in_flight')",
                (job, chunk),
            )
        ).fetchone()
    finally:
        await connection.close()
    if left[0]:
        # Held by a live peer (a task of this chunk run twice), or left by
        # an owner that died after this run read its rows: try again.
        raise ChunkNotDone(f"job {job!r} chunk {chunk}: {left[0]} items still open")


async def _reap(app: procrastinate.App, stalled_after: float) -> None:
    """Hand the tasks of silent workers back to the queue, forever."""
    while True:
        await anyio.sleep(stalled_after / 3)
        try:
            stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after)
        except Exception as exc:  # the database blinked: try again next round
            logger.warning("reaper: cannot list stalled chunks: %s", exc)
            continue
        for task in stalled:
            try:
                await app.job_manager.retry_job(task)
                logger.info("reaper: chunk task %s of a silent worker queued again", task.id)
            except Exception as exc:  # another worker's reaper took it first
                logger.debug("reaper: task %s: %s", task.id, exc)
