"""Bulk jobs across many processes and machines, on PostgreSQL (extra ``[fleet]``).

- :class:`PostgresJournal`: a bulk run's journal that any number of
  processes share; they split the items, and nothing is sent twice.
- :func:`submit`, :func:`run_worker`, :func:`job_status`, :func:`resolve`:
  a job loaded once and sent by worker processes (``signing-async worker``),
  its chunks carried by procrastinate in the same database.

Nothing here is imported by ``import signing_async``: the plain SDK never
loads psycopg or procrastinate. The fleet runs on asyncio.
"""

from __future__ import annotations

from .._core.bulk import JobStatus, UncertainItem
from .._core.bulk._pg_journal import PostgresJournal
from ._jobs import job_status, resolve
from ._queue import ChunkNotDone
from ._submit import submit
from ._tokens import PostgresTokenStore
from ._worker import run_worker

__all__ = [
    "ChunkNotDone",
    "JobStatus",
    "PostgresJournal",
    "PostgresTokenStore",
    "UncertainItem",
    "job_status",
    "resolve",
    "run_worker",
    "submit",
]
