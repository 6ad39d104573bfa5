"""A PostgreSQL job seen from outside a run: counts, uncertain items, a person's decision.

The same four methods as :class:`~._status.SqliteJournalStore` (the
:class:`~._status.JournalStore` protocol), so ``signing-async bulk-status``
reads either kind of journal the same way. Reading needs no lock: it works
while workers are sending the job.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..errors import ConfigurationError, ValidationError
from ._pg_schema import DEFAULT_SCHEMA, live_owners, valid_schema
from ._status import JobStatus, Resolution, UncertainItem, check_resolvable

__all__ = ["PostgresJournalStore"]

_ISO = 'YYYY-MM-DD"T"HH24:MI:SS.MS"+00:00"'


class PostgresJournalStore:
    """One job of a PostgreSQL journal, between (or during) runs. Use :meth:`open`."""

    def __init__(self, connection: Any, job: str, schema: str, kind: str | None) -> None:
        self._connection = connection
        self.job = job
        self._schema = schema
        self._kind = kind

    @classmethod
    async def open(
        cls, dsn: str, job: str, *, schema: str = DEFAULT_SCHEMA
    ) -> PostgresJournalStore:
        """Connect and find the job.

        Raises:
            ConfigurationError: The database cannot be reached, or holds no such job.
        """
        from ._pg import connect

        connection = await connect(dsn, valid_schema(schema))
        try:
            row = await (
                await connection.execute(f"SELECT kind FROM {schema}.jobs WHERE job = %s", (job,))
            ).fetchone()
            if row is None:
                raise ConfigurationError(f"the database holds no job {job!r}")
        except BaseException:
            await connection.close()
            raise
        return cls(connection, job, schema, str(row[0]))

    async def status(self) -> JobStatus:
        """The counts by state."""
        rows = await (
            await self._connection.execute(
                f"SELECT state, count(*) FROM {self._schema}.items WHERE job = %s GROUP BY state",
                (self.job,),
            )
        ).fetchall()
        counts = {str(state): int(count) for state, count in rows}
        return JobStatus.from_counts(counts, kind=self._kind)

    async def uncertain(self) -> Sequence[UncertainItem]:
        """The uncertain and in-flight items, oldest first."""
        rows = await (
            await self._connection.execute(
                f"SELECT key, state, to_char(updated_at AT TIME ZONE 'UTC', '{_ISO}'),"
                f" attempts, error FROM {self._schema}.items"
                " WHERE job = %s AND state IN ('uncertain', 'in_flight')"
                " ORDER BY updated_at, key",
                (self.job,),
            )
        ).fetchall()
        return [
            UncertainItem(str(key), str(state), str(at), int(attempts), error)
            for key, state, at, attempts, error in rows
        ]

    async def resolve(self, key: str, resolution: Resolution, *, result: object = None) -> None:
        """Record that ``key`` exists at the provider (``succeeded``) or not (``failed``).

        Args:
            key: The item's key.
            resolution: What the person found.
            result: For ``succeeded``: what the provider holds (JSON-able),
                returned to later runs as the skipped item's result.

        Raises:
            ValidationError: A resolution other than the two, an unknown key,
                a key that is neither uncertain, in flight nor refused, or
                an uncertain or in-flight one that a live run holds.
        """
        if resolution not in ("succeeded", "failed"):
            raise ValidationError("resolution", f"must be succeeded or failed, not {resolution!r}")
        stored = None if result is None else json.dumps(result)
        connection = self._connection
        async with connection.transaction():
            row = await (
                await connection.execute(
                    f"SELECT state, refused, owner FROM {self._schema}.items"
                    " WHERE job = %s AND key = %s FOR UPDATE",
                    (self.job, key),
                )
            ).fetchone()
            if row is None:
                raise ValidationError("key", f"{key!r} is not in the job {self.job!r}")
            state, refused, owner = row
            if (
                state in ("uncertain", "in_flight")
                and owner is not None
                and owner in await live_owners(connection)
            ):
                # A live run may be sending it (in flight, or an uncertain
                # item it resends): resolved now, that run's outcome would
                # not be written (it writes only rows it owns), and a later
                # run could send the key again.
                raise ValidationError(
                    "key",
                    f"{key!r} belongs to a run that is still going (it may be sending"
                    " it); resolve it once that run has ended",
                )
            check_resolvable(key, str(state), bool(refused), resolution)
            await connection.execute(
                f"UPDATE {self._schema}.items SET state = %s, result = %s,"
                " error = 'resolved by hand as ' || %s || ' at ' || clock_timestamp(),"
                " refused = false, owner = NULL, updated_at = clock_timestamp()"
                " WHERE job = %s AND key = %s",
                (resolution, stored, resolution, self.job, key),
            )

    async def aclose(self) -> None:
        """Close the connection. Calling it twice is harmless."""
        await self._connection.close()
