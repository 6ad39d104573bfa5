"""``submit``: load a job's items into PostgreSQL and hand its chunks to the workers."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterable, Iterable
from typing import Any

from procrastinate.exceptions import AlreadyEnqueued

from .. import _providers
from .._core.bulk import InvalidItem, JobStatus
from .._core.bulk._pg import connect
from .._core.bulk._pg_journal import check_job, register_job
from .._core.bulk._pg_schema import DEFAULT_SCHEMA, valid_schema
from .._core.errors import SigningError, ValidationError
from ..bulk import file_fields
from ._jobs import job_status
from ._payload import to_payload
from ._queue import SEND_CHUNK, build_app, chunk_lock, ensure_queue_tables

__all__ = ["submit"]


async def submit(
    dsn: str,
    *,
    provider: str,
    items: Iterable[Any] | AsyncIterable[Any],
    job: str,
    chunk_size: int = 100,
    schema: str = DEFAULT_SCHEMA,
) -> JobStatus:
    """Store a job's items in the database and queue one task per chunk for the workers.

    Example:
        >>> status = await submit(dsn, provider="danasign", items=rows, job="march-contracts")

    The items are those of the provider's bulk method (``documents.create_many``
    for DANAsign, ``circuits.start_many`` for DANAconnect,
    ``otp_signatures.create_many`` for S.O.F.I.A.): request objects or
    mappings of the single-item call's keyword arguments, each with its key.
    They are checked and stored in one transaction: a bad item stores
    nothing and raises, naming it. Documents must be paths (made absolute)
    or URLs that every worker can read; bytes are refused.

    Submitting the same job again is safe: items already stored keep their
    row and state (a key given twice is stored once, as first given), new
    ones are added, and only chunks with work left are queued (a chunk
    already waiting in the queue is not queued twice).

    Args:
        dsn: The database (``postgresql://...``).
        provider: The provider's name (``"danasign"``…).
        items: The items, read once, in order.
        job: The job's name.
        chunk_size: Items per task: a worker sends a chunk, then takes the next.
        schema: The fleet's schema.

    Returns:
        The job's counts once stored.

    Raises:
        ValidationError: An unknown provider, a bad ``chunk_size``, or a bad
            item (its index and field named); nothing was stored.
        ConfigurationError: The database cannot be reached, or the job
            belongs to another kind of bulk method.
    """
    try:
        spec = _providers.bulk_spec(provider)
    except KeyError:
        names = sorted({p.name for p, _ in _providers.bulk_specs()})
        raise ValidationError("provider", f"must be one of {names}, not {provider!r}") from None
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValidationError("chunk_size", f"must be a positive integer, not {chunk_size!r}")
    check_job(job)
    valid_schema(schema)
    files = file_fields(spec.request_type)
    connection = await connect(dsn, schema)
    try:
        await ensure_queue_tables(connection, schema)
        async with connection.transaction():
            await register_job(connection, schema, job, spec.kind, provider=provider)
            found: Any = await (
                await connection.execute(
                    f"SELECT coalesce(max(chunk) + 1, 0), coalesce(max(item_index) + 1, 0)"
                    f" FROM {schema}.items WHERE job = %s",
                    (job,),
                )
            ).fetchone()
            first_chunk, first_index = int(found[0]), int(found[1])
            rows: list[tuple[Any, ...]] = []
            position = 0
            async for item in _each(items):
                index = first_index + position
                chunk = first_chunk + position // chunk_size
                rows.append((job, _key(spec.key, item, position), index, chunk,
                             _payload(item, files, position)))  # fmt: skip
                position += 1
                if len(rows) >= 1000:
                    await _insert(connection, schema, rows)
                    rows = []
            await _insert(connection, schema, rows)
            open_chunks = [
                int(chunk)
                for (chunk,) in await (
                    await connection.execute(
                        f"SELECT DISTINCT chunk FROM {schema}.items WHERE job = %s AND chunk"
                        " IS NOT NULL AND (state IN ('pending', 'in_flight')"
                        " OR (state = 'failed' AND NOT refused)) ORDER BY chunk",
                        (job,),
                    )
                ).fetchall()
            ]
    finally:
        await connection.close()
    app = build_app(dsn, schema, pool_size=1)
    task = app.task(name=SEND_CHUNK, queue="signing_async")(_never_here)
    async with app.open_async():
        for chunk in open_chunks:
            lock = chunk_lock(job, chunk)
            with contextlib.suppress(AlreadyEnqueued):  # that chunk waits in the queue already
                await task.configure(lock=lock, queueing_lock=lock).defer_async(
                    job=job, chunk=chunk, schema=schema
                )
    return await job_status(dsn, job=job, schema=schema)


async def _never_here(**_: Any) -> None:  # pragma: no cover - only workers run the task
    raise RuntimeError("the submitting process does not run chunks")


async def _each(items: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterable[Any]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


def _key(key: Any, item: Any, position: int) -> str:
    if isinstance(item, InvalidItem):
        raise _bad(position, item.error())
    try:
        found = key(item)
    except SigningError as exc:
        raise _bad(position, exc) from None
    if found is None:
        raise ValidationError("key", f"item {position} has no key: every fleet item needs one")
    return str(found)


def _payload(item: Any, files: tuple[str, ...], position: int) -> str:
    try:
        return json.dumps(to_payload(item, files=files))
    except ValidationError as exc:
        raise _bad(position, exc) from None


def _bad(position: int, error: Exception) -> ValidationError:
    field = getattr(error, "field", None) or "item"
    reason = getattr(error, "problem", None) or str(error)
    return ValidationError(field, f"item {position}: {reason}; nothing was submitted")


async def _insert(connection: Any, schema: str, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    async with connection.cursor() as cursor:
        await cursor.executemany(
            f"INSERT INTO {schema}.items (job, key, state, item_index, chunk, payload)"
            " VALUES (%s, %s, 'pending', %s, %s, %s::jsonb) ON CONFLICT (job, key) DO NOTHING",
            rows,
        )
