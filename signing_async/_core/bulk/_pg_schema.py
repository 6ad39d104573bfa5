"""The PostgreSQL tables of the fleet: jobs, items, tokens; created on first use.

One schema (``signing_async`` by default) holds three tables:

- ``jobs(job, kind, provider, created_at)``: one row per job; ``kind`` is
  what it sends (``DANAsign documents``), and a journal of another kind is
  refused, as with SQLite; ``provider`` is set by :func:`~signing_async.fleet.submit`.
- ``items``, one row per (job, key): ``state`` (``pending``, ``in_flight``,
  ``succeeded``, ``failed``, ``uncertain``), ``result`` (JSON text),
  ``error``, ``refused`` (the provider refused the item itself: a rerun
  reports it again instead of sending it), ``attempts``, ``owner`` (the
  process that claimed it: see :data:`OWNER_LOCK_CLASS`), ``run``,
  ``item_index``, ``chunk`` and ``payload`` (the item as JSON, for submitted
  jobs), ``updated_at`` (the database's clock).
- ``tokens(key, value, lifetime, expires_at)``: the shared token cache of
  :class:`~signing_async.fleet.PostgresTokenStore` (``expires_at`` on the
  database's clock; a refresh in progress is a session advisory lock of
  class :data:`TOKEN_LOCK_CLASS`, not a row).

Every process creates what is missing the first time it connects, under a
transaction-level advisory lock, so two processes starting at once do not
trip over each other's ``CREATE``.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import ConfigurationError

__all__ = [
    "DEFAULT_SCHEMA",
    "OWNER_LOCK_CLASS",
    "TOKEN_LOCK_CLASS",
    "live_owners",
    "schema_statements",
    "valid_schema",
]

DEFAULT_SCHEMA = "signing_async"

OWNER_LOCK_CLASS = int.from_bytes(b"SAow", "big") & 0x7FFFFFFF
"""The first key of the session advisory lock a journal's process holds while it lives.

The second key is the owner id stamped on the rows it claims: a row whose
owner's lock is not held any more belongs to a process that is gone.
"""

TOKEN_LOCK_CLASS = int.from_bytes(b"SAtk", "big") & 0x7FFFFFFF
"""The first key of the session advisory lock a process holds while it refreshes a token.

The second key is derived from the schema and the token's store key.
"""

SCHEMA_LOCK = (OWNER_LOCK_CLASS, 0)
"""The advisory lock taken while the tables are created (owner ids are never 0)."""


async def live_owners(connection: Any) -> frozenset[int]:
    """The owner ids whose process holds its lock now (one read of the live view)."""
    rows = await (
        await connection.execute(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = %s AND objsubid = 2"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (OWNER_LOCK_CLASS,),
        )
    ).fetchall()
    return frozenset(int(objid) for (objid,) in rows)


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def valid_schema(schema: str) -> str:
    """``schema`` if it is a plain lower-case SQL identifier.

    Raises:
        ConfigurationError: It is not (it is spliced into statements).
    """
    if not isinstance(schema, str) or not _IDENTIFIER.fullmatch(schema):
        raise ConfigurationError(
            f"schema must be a lower-case identifier (letters, digits, _), not {schema!r}"
        )
    return schema


def schema_statements(schema: str) -> list[str]:
    """The statements that create the schema's tables where missing (idempotent)."""
    s = valid_schema(schema)
    return [
        f"CREATE SCHEMA IF NOT EXISTS {s}",
        f"""CREATE TABLE IF NOT EXISTS {s}.jobs (
            job TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            provider TEXT,
            created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
        )""",
        f"""CREATE TABLE IF NOT EXISTS {s}.items (
            job TEXT NOT NULL REFERENCES {s}.jobs (job),
            key TEXT NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('pending', 'in_flight', 'succeeded', 'failed', 'uncertain')),
            result TEXT,
            error TEXT,
            refused BOOLEAN NOT NULL DEFAULT false,
            attempts INTEGER NOT NULL DEFAULT 0,
            owner INTEGER,
            run TEXT,
            item_index BIGINT,
            chunk INTEGER,
            payload JSONB,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (job, key)
        )""",
        f"CREATE INDEX IF NOT EXISTS items_chunk ON {s}.items (job, chunk)",
        f"CREATE INDEX IF NOT EXISTS items_state ON {s}.items (job, state)",
        f"""CREATE TABLE IF NOT EXISTS {s}.tokens (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            lifetime DOUBLE PRECISION NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL
        )""",
    ]
