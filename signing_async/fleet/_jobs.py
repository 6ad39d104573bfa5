"""A submitted job's state, read from any machine: :func:`job_status` and :func:`resolve`."""

from __future__ import annotations

from .._core.bulk import JobStatus
from .._core.bulk._pg_schema import DEFAULT_SCHEMA
from .._core.bulk._pg_store import PostgresJournalStore
from .._core.bulk._status import Resolution

__all__ = ["job_status", "resolve"]


async def job_status(
    dsn: str, *, job: str, uncertain: bool = False, schema: str = DEFAULT_SCHEMA
) -> JobStatus:
    """How many items of ``job`` are in each state (workers may be sending it meanwhile).

    Args:
        dsn: The database.
        job: The job's name.
        uncertain: Also list the uncertain and in-flight items
            (:attr:`JobStatus.uncertain_items`, oldest first).
        schema: The fleet's schema.

    Raises:
        ConfigurationError: The database cannot be reached, or holds no such job.
    """
    store = await PostgresJournalStore.open(dsn, job, schema=schema)
    try:
        status = await store.status()
        if uncertain:
            status = status.with_uncertain(tuple(await store.uncertain()))
        return status
    finally:
        await store.aclose()


async def resolve(
    dsn: str,
    job: str,
    key: str,
    resolution: Resolution,
    *,
    result: object = None,
    schema: str = DEFAULT_SCHEMA,
) -> None:
    """Record what a person found at the provider about an uncertain (or refused) item.

    ``"succeeded"``: it exists; later runs skip it (``result``, JSON-able, is
    what they return for it). ``"failed"``: it does not; the next run sends it.

    Raises:
        ConfigurationError: The database cannot be reached, or holds no such job.
        ValidationError: An unknown key, or one that is not uncertain, in
            flight or refused.
    """
    store = await PostgresJournalStore.open(dsn, job, schema=schema)
    try:
        await store.resolve(key, resolution, result=result)
    finally:
        await store.aclose()
