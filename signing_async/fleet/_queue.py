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

__all__ = [
    "QUEUE",
    "SEND_CHUNK",
    "ChunkNotDone",
    "ChunkRetry",
    "build_app",
    "chunk_lock",
    "ensure_queue_tables",
]

QUEUE = "signing_async"
"""The procrastinate queue the fleet's jobs go through."""

SEND_CHUNK = "signing_async.send_chunk"
"""The task's name: send the items of one chunk of a submitted job."""

MAX_ATTEMPTS = 100_000
"""How often a chunk is tried: a kill, a stalled worker and an unfinished
chunk each count as an attempt (procrastinate's ``retry_job`` counts too),
so the limit is only a backstop against a chunk that can never finish."""

MAX_RETRY_WAIT = 60
"""The longest wait (seconds) before a failing chunk is tried again."""


class ChunkRetry(procrastinate.BaseRetryStrategy):
    """When a chunk task that raised is tried again.

    A chunk whose items a peer still holds (:class:`ChunkNotDone`) is tried
    again a second later. Anything else (the breaker stopped the run: refused
    credentials, an unreachable provider; the database blinked) waits
    longer each time, 1, 2, 4… up to :data:`MAX_RETRY_WAIT` seconds, so a
    misconfigured fleet does not hammer the provider.
    """

    def get_retry_decision(
        self, *, exception: BaseException, job: Any
    ) -> procrastinate.RetryDecision | None:
        """Retry every failure, later and later unless the chunk only waits for a peer."""
        wait = self.wait(exception, int(getattr(job, "attempts", 0) or 0))
        return None if wait is None else procrastinate.RetryDecision(retry_in={"seconds": wait})

    @staticmethod
    def wait(exception: BaseException, attempts: int) -> int | None:
        """Seconds before the next try after ``attempts`` tries; None: give up."""
        if attempts + 1 >= MAX_ATTEMPTS:
            return None
        if isinstance(exception, ChunkNotDone):
            return 1
        return min(MAX_RETRY_WAIT, 1 << min(attempts, 16))


class ChunkNotDone(Exception):
    """Some items of a chunk are still pending or in flight: the task is tried again later."""


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
