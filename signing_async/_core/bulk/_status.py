"""A journal seen from outside a run: counts by state, uncertain items, a human's decision.

``signing-async bulk-status`` reads a job's journal with this, whatever
stores it: a store is anything with the :class:`JournalStore` methods.
:class:`SqliteJournalStore` reads the SQLite journal a run writes (schema in
:mod:`._journal`); a PostgreSQL journal plugs in with the same four methods.

No provider documents a way to look an item up by its bulk key (DANAsign's
document lists do not carry ``metadata.externalId``; DANAconnect and
S.O.F.I.A. have no status endpoint), so an uncertain item is resolved by a
person who checked it at the provider: :meth:`JournalStore.resolve`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import anyio
import attrs

from ..errors import ConfigurationError, ValidationError
from ._journal import SCHEMA_VERSION, _inspect, _now, _transaction

__all__ = ["JobStatus", "JournalStore", "Resolution", "SqliteJournalStore", "UncertainItem"]

Resolution = Literal["succeeded", "failed"]
"""What a person found at the provider: the item exists (``succeeded``) or not (``failed``)."""


@attrs.frozen
class JobStatus:
    """How many items of a job are in each state.

    Attributes:
        total: Every key the journal knows.
        pending: Read by a run, never sent (a rerun sends them).
        in_flight: Sent by a run that has not recorded the answer: a run is
            going on, or one died (a rerun reports them uncertain).
        succeeded: Created (a rerun skips them).
        failed: Certainly not created (a rerun sends them again).
        uncertain: Maybe created: check them, then resolve them.
        kind: What the job sends (``DANAsign documents``…), when recorded.
        uncertain_items: The uncertain and in-flight items, when asked for
            (``job_status(..., uncertain=True)``); empty otherwise.
    """

    total: int
    pending: int
    in_flight: int
    succeeded: int
    failed: int
    uncertain: int
    kind: str | None = None
    uncertain_items: tuple[UncertainItem, ...] = ()

    @classmethod
    def from_counts(cls, counts: dict[str, int], *, kind: str | None) -> JobStatus:
        """The status of a job whose rows number ``counts[state]`` in each state."""
        return cls(
            total=sum(counts.values()),
            pending=counts.get("pending", 0),
            in_flight=counts.get("in_flight", 0),
            succeeded=counts.get("succeeded", 0),
            failed=counts.get("failed", 0),
            uncertain=counts.get("uncertain", 0),
            kind=kind,
        )

    def with_uncertain(self, items: tuple[UncertainItem, ...]) -> JobStatus:
        """The same counts, with the uncertain items listed."""
        return attrs.evolve(self, uncertain_items=items)


@attrs.frozen
class UncertainItem:
    """An item that may or may not exist at the provider.

    Attributes:
        key: The item's key (its external id, circuit id, transaction id…).
        state: ``"uncertain"`` (sent, no confirmation) or ``"in_flight"``
            (sent by a run that died before the answer).
        sent_at: When the request last left, or the answer failed (ISO 8601, UTC).
        attempts: How many times its request was sent.
        error: What the run recorded about it, if anything.
    """

    key: str
    state: str
    sent_at: str
    attempts: int
    error: str | None = None


class JournalStore(Protocol):
    """A job's journal, for inspecting and resolving it between runs."""

    async def status(self) -> JobStatus:
        """The counts by state."""
        ...

    async def uncertain(self) -> Sequence[UncertainItem]:
        """The uncertain and in-flight items, oldest first."""
        ...

    async def resolve(self, key: str, resolution: Resolution) -> None:
        """Record a person's finding about an uncertain or in-flight item."""
        ...

    async def aclose(self) -> None:
        """Release the store."""
        ...


class SqliteJournalStore:
    """The SQLite journal of a bulk job, outside any run.

    Use :meth:`open`. It fails while a run holds the journal (a run locks it
    for its whole duration).
    """

    def __init__(self, connection: sqlite3.Connection, path: Path, kind: str | None) -> None:
        self._connection = connection
        self.path = path
        self._kind = kind
        self._limiter = anyio.CapacityLimiter(1)

    @classmethod
    async def open(cls, path: str | os.PathLike[str]) -> SqliteJournalStore:
        """Open an existing journal; nothing is created.

        Raises:
            ConfigurationError: No such file, not a journal, a newer schema,
                or a run is using it.
        """
        target = Path(os.fspath(path))
        connection, kind = await anyio.to_thread.run_sync(_open_existing, target)
        return cls(connection, target, kind)

    async def _run(self, statement: str, *args: object) -> list[tuple[object, ...]]:
        def run() -> list[tuple[object, ...]]:
            try:
                return self._connection.execute(statement, args).fetchall()
            except sqlite3.OperationalError as exc:
                raise _busy(self.path, exc) from None

        return await anyio.to_thread.run_sync(run, limiter=self._limiter)

    async def status(self) -> JobStatus:
        """The counts by state."""
        rows = await self._run("SELECT state, count(*) FROM items GROUP BY state")
        counts = {str(state): int(str(count)) for state, count in rows}
        return JobStatus.from_counts(counts, kind=self._kind)

    async def uncertain(self) -> Sequence[UncertainItem]:
        """The uncertain and in-flight items, oldest first."""
        rows = await self._run(
            "SELECT key, state, updated_at, attempts, error FROM items"
            " WHERE state IN ('uncertain', 'in_flight') ORDER BY updated_at, key"
        )
        return [
            UncertainItem(str(key), str(state), str(at), int(str(attempts)), _text(error))
            for key, state, at, attempts, error in rows
        ]

    async def resolve(self, key: str, resolution: Resolution) -> None:
        """Record that ``key`` exists at the provider (``succeeded``) or not (``failed``).

        A rerun then skips a ``succeeded`` item and sends a ``failed`` one. A
        failed item the provider refused, once fixed, is resolved ``failed``
        too, so that the next run sends it (see :func:`check_resolvable`).

        Raises:
            ValidationError: A resolution other than the two, an unknown key,
                or a key that is neither uncertain, in flight nor refused.
        """
        if resolution not in ("succeeded", "failed"):
            raise ValidationError("resolution", f"must be succeeded or failed, not {resolution!r}")

        def run() -> None:
            db = self._connection
            try:
                with _transaction(db):
                    # SELECT *: a journal written before the refused column has none.
                    cursor = db.execute("SELECT * FROM items WHERE key = ?", (key,))
                    names = [column[0] for column in cursor.description]
                    row = cursor.fetchone()
                    if row is None:
                        raise ValidationError("key", f"{key!r} is not in the journal {self.path}")
                    found = dict(zip(names, row, strict=True))
                    check_resolvable(
                        key, str(found["state"]), bool(found.get("refused")), resolution
                    )
                    now = _now()
                    db.execute(
                        "UPDATE items SET state = ?, result = NULL, error = ?, updated_at = ?"
                        " WHERE key = ?",
                        (resolution, f"resolved by hand as {resolution} at {now}", now, key),
                    )
                    if "refused" in found:
                        db.execute("UPDATE items SET refused = 0 WHERE key = ?", (key,))
            except sqlite3.OperationalError as exc:
                raise _busy(self.path, exc) from None

        await anyio.to_thread.run_sync(run, limiter=self._limiter)

    async def aclose(self) -> None:
        """Close the connection. Calling it twice is harmless."""
        await anyio.to_thread.run_sync(self._connection.close, limiter=self._limiter)


def check_resolvable(key: str, state: str, refused: bool, resolution: Resolution) -> None:
    """Refuse a resolution that makes no sense for a row in ``state``.

    An uncertain or in-flight item may be resolved either way. A failed item
    the provider refused (a rerun reports it without sending it) may be
    resolved ``failed`` once it is fixed: the next run sends it.

    Raises:
        ValidationError: Anything else, naming the key and its state.
    """
    if state in ("uncertain", "in_flight"):
        return
    if state == "failed" and refused and resolution == "failed":
        return
    raise ValidationError("key", f"{key!r} is {state}, not uncertain: nothing to resolve")


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _busy(path: Path, exc: sqlite3.OperationalError) -> ConfigurationError:
    if "locked" in str(exc) or "busy" in str(exc):
        return ConfigurationError(f"the journal {path} is in use by a run; wait for it to finish")
    return ConfigurationError(f"cannot use the journal {path}: {exc}")


def _open_existing(path: Path) -> tuple[sqlite3.Connection, str | None]:
    # Inspected first, as a run does, without writing a byte: another
    # program's database (even one with these tables) is refused untouched,
    # and opening it read-write would checkpoint its write-ahead log into it.
    if _inspect(path) == "new":
        empty = " (the file is empty)" if path.is_file() else ""
        raise ConfigurationError(f"no journal at {path}{empty}")
    try:
        # mode=rw: never create a file for a mistyped path.
        db = sqlite3.connect(
            f"{path.absolute().as_uri()}?mode=rw",
            uri=True,
            check_same_thread=False,
            isolation_level=None,
            timeout=0.2,
        )
    except sqlite3.Error as exc:
        raise ConfigurationError(f"cannot open the journal {path}: {exc}") from None
    try:
        meta = dict(db.execute("SELECT name, value FROM meta").fetchall())
        db.execute("SELECT key, state, attempts, updated_at FROM items LIMIT 0")
    except sqlite3.OperationalError as exc:
        db.close()
        if "locked" in str(exc) or "busy" in str(exc):
            raise _busy(path, exc) from None
        raise ConfigurationError(f"{path} is not a journal: {exc}") from None
    except sqlite3.DatabaseError as exc:
        db.close()
        raise ConfigurationError(f"{path} is not a journal: {exc}") from None
    if meta.get("schema") != SCHEMA_VERSION:
        db.close()
        raise ConfigurationError(
            f"{path} is not a journal this version reads (schema {meta.get('schema')!r})"
        )
    kind = meta.get("kind")
    return db, None if kind is None else str(kind)
