"""The procrastinate side of the fleet: one app, one task (send a chunk of a job), its tables.

procrastinate's tables go into the fleet's schema (the connections'
``search_path``), beside the journal's: one database, one schema to back up
and to watch. They are created once, under the same advisory lock as the
journal's tables.
"""

from __future__ import annotations

from typing import Any

import procrastinate
from procrastinate.schema import SchemaManager

from .._core.bulk._pg import Connection
from .._core.bulk._pg_schema import SCHEMA_LOCK

__all__ = ["QUEUE", "SEND_CHUNK", "build_app", "chunk_lock", "ensure_queue_tables"]

QUEUE = "signing_async"
"""The procrastinate queue the fleet's jobs go through."""

SEND_CHUNK = "signing_async.send_chunk"
"""The task's name: send the items of one chunk of a submitted job."""

MAX_ATTEMPTS = 100_000
"""How often a chunk is tried: a kill, a stalled worker and an unfinished
chunk each count as an attempt (procrastinate's ``retry_job`` counts too),
so the limit is only a backstop against a chunk that can never finish."""


def build_app(dsn: str, schema: str, *, pool_size: int = 4) -> procrastinate.App:
    """A procrastinate app on ``dsn`` whose tables live in ``schema``."""
    connector = procrastinate.PsycopgConnector(
        conninfo=dsn,
        kwargs={"options": f"-c search_path={schema}"},
        min_size=1,
        max_size=pool_size,
    )
    return procrastinate.App(connector=connector)


def chunk_lock(job: str, chunk: int) -> str:
    """The procrastinate lock of one chunk: its jobs run one at a time, one waits in the queue."""
    return f"{job}\x1f{chunk}"


async def ensure_queue_tables(connection: Connection, schema: str) -> None:
    """Create procrastinate's tables in ``schema`` unless they are there."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(%s, %s)", SCHEMA_LOCK)
        found: Any = await (
            await connection.execute("SELECT to_regclass(%s)", (f"{schema}.procrastinate_jobs",))
        ).fetchone()
        if found[0] is None:
            await connection.execute(f"SET LOCAL search_path = {schema}")
            await connection.execute(SchemaManager.get_schema())
