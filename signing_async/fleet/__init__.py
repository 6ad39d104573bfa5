"""Bulk jobs across many processes and machines, on PostgreSQL (extra ``[fleet]``).

- :class:`PostgresJournal`: a bulk run's journal that any number of
  processes share; they split the items, and nothing is sent twice.
- :class:`PostgresTokenStore`: one token refresh per expiry across a fleet.
- :func:`submit`, :func:`run_worker`, :func:`job_status`, :func:`resolve`:
  a job loaded once and sent by ``signing-async worker`` processes, carried
  by procrastinate in the same database.

Nothing here is imported by ``import signing_async``: the plain SDK never
loads psycopg or procrastinate.
"""

from __future__ import annotations

from .._core.bulk._pg_journal import PostgresJournal
from ._tokens import PostgresTokenStore

__all__ = ["PostgresJournal", "PostgresTokenStore"]
