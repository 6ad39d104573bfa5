"""Connecting to PostgreSQL for the fleet: one function, errors that name no secret.

psycopg is imported here and only here in the core, and this module is only
imported when a ``postgresql://`` journal or store is used: the plain SDK
never loads it (it is the ``[fleet]`` extra).
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigurationError
from ._dsn import safe_dsn, without_passwords
from ._pg_schema import SCHEMA_LOCK, schema_statements

try:
    import psycopg
except ImportError:  # pragma: no cover - the message is the point
    raise ConfigurationError(
        "a postgresql:// journal or store needs the fleet extra: pip install 'signing-async[fleet]'"
    ) from None

__all__ = ["Connection", "connect"]

Connection = psycopg.AsyncConnection[Any]


async def connect(dsn: str, schema: str) -> Connection:
    """An autocommit connection to ``dsn``, with the fleet's tables in ``schema``.

    Raises:
        ConfigurationError: The server cannot be reached or refuses the
            login (the message shows the DSN without its password).
    """
    try:
        connection = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        # libpq quotes what it cannot parse of the URI, a password included.
        reason = without_passwords(reason, dsn)
        raise ConfigurationError(
            f"cannot connect to PostgreSQL at {safe_dsn(dsn)}: {reason}"
        ) from None
    if (dsn, schema) in _READY:
        return connection
    try:
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(%s, %s)", SCHEMA_LOCK)
            for statement in schema_statements(schema):
                await connection.execute(statement)
    except BaseException:
        await connection.close()
        raise
    _READY.add((dsn, schema))
    return connection


_READY: set[tuple[str, str]] = set()
"""The (database, schema) pairs whose tables this process has made sure of:
a worker opens connections for every chunk, and the tables do not come and go."""
