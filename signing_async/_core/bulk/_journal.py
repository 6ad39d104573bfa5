"""The journal: one SQLite row per item key, so a rerun knows what was done.

A row moves ``pending`` (claimed by a run, not sent) → ``in_flight`` (the
request may have left) → ``succeeded`` (with the result's JSON) | ``failed``
(with the error) | ``uncertain`` (sent, no confirmation: with the error).
The in-flight mark is committed, and synced to disk, *before* the request is
handed to the network, and the outcome is committed right after the answer,
so a run killed at any moment (``kill -9``, a power cut) leaves rows that
tell the truth: an ``in_flight`` row may have been created, a ``pending``
row certainly was not.

Writes are grouped (:mod:`._group`): the claims, marks and outcomes that
workers ask for while a commit is running all go into the next one, a single
transaction, synced to disk when it holds an in-flight mark. Concurrent
items whose requests are about to leave share one sync; each still waits for
its own mark to be on disk before its request goes.

Rerunning with the same journal: ``succeeded`` keys are skipped (their
stored result is returned), ``pending`` ones are sent again, and so are
``failed`` ones whose failure was transient (a 503, a 429, a refused
connection, an item that never left); a ``failed`` one that the provider
refused for what it holds (a 400, a 404, a 409: ``refused`` is set) is
reported failed again without sending, until a person resolves it.
``in_flight`` and ``uncertain`` ones are reported uncertain and not sent
unless the run resends uncertain items.

SQLite runs off the event loop, on one connection per run used by one
thread, the run's commit thread (:class:`~._group.ThreadCommit`), in WAL mode. The connection
holds the database exclusively while the run lasts, so two runs can never
send the same job's items at once; the lock dies with the process.

A journal marks itself: SQLite's ``application_id`` header field holds
:data:`APPLICATION_ID` and ``user_version`` the schema version. An existing
file is inspected before anything writes to it, and refused unless it is
such a journal: another SQLite database (even one with an ``items`` table)
or any other file is left byte for byte as it was. An empty file is a new
journal. A journal of the first version, written before the mark existed
(``application_id`` 0), is adopted, and marked, only when its tables are
exactly the journal's and its ``meta`` says it is a journal.

Schema (version 1; ``signing-async bulk-status`` reads it, see
:mod:`._status`), two tables:

- ``meta(name TEXT PRIMARY KEY, value TEXT)``: ``schema`` (``"1"``),
  ``kind`` (what the job sends: ``DANAsign documents``, …; a journal of
  another kind is refused), ``created_at``.
- ``items``, one row per key: ``key`` (TEXT, primary key: the item's
  natural key), ``state`` (``pending``, ``in_flight``, ``succeeded``,
  ``failed`` or ``uncertain``), ``result`` (the succeeded answer as JSON
  text: the provider's id is in it), ``error`` (text), ``attempts`` (how
  many times the request was sent), ``run`` (a random id of the run that
  last read the key), ``item_index`` (its 0-based position in that run's
  input), ``updated_at`` (ISO 8601, UTC: when the state last changed; for
  ``in_flight``, when the request left), ``refused`` (1 when a ``failed``
  item was refused by the provider for what it holds: not sent again; a
  column added to older files when a run opens them).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, Union, runtime_checkable

import anyio
import attrs

from ..errors import ConfigurationError, JournalError, ValidationError
from ..sources import file_path, open_regular
from ._dsn import is_dsn
from ._group import ThreadCommit

__all__ = [
    "Claim",
    "Entry",
    "Journal",
    "JournalOption",
    "JournalSource",
    "MemoryJournal",
    "SqliteJournal",
    "open_journal",
]

T = TypeVar("T")

SCHEMA_VERSION = "1"

APPLICATION_ID = int.from_bytes(b"SAjr", "big")
"""SQLite's ``application_id`` of a journal ("SAjr": signing_async journal)."""

_SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER_SIZE = 100
_APPLICATION_ID_OFFSET = 68  # a big-endian 32-bit integer in the database header
_WAL_FORMAT = 2  # header bytes 18 and 19 (read and write format): 2 in WAL mode

Decision = Literal["send", "skip", "uncertain", "duplicate", "refused", "peer"]
FinalState = Literal["succeeded", "failed", "uncertain"]


@attrs.frozen
class Claim:
    """What to do with an item, decided when it is pulled.

    Attributes:
        decision: ``send`` it, ``skip`` it (done before), report it ``uncertain``
            (sent before, no answer recorded), fail it as a ``duplicate``
            of an earlier item of this run, fail it again because the
            provider ``refused`` it in an earlier run, or leave it to the
            ``peer`` (another live process sharing the journal) that holds it.
        result: For ``skip``: the result recorded when it succeeded.
        error: For ``uncertain`` and ``refused``: the error recorded, if any.
        state: The state the row was found in.
        since: When the row last changed (ISO 8601, UTC).
        first_index: For ``duplicate``: the index of the item that claimed the key first.
        was_uncertain: For ``send``: the key was uncertain and is sent again on request.
    """

    decision: Decision
    result: str | None = None
    error: str | None = None
    state: str | None = None
    since: str | None = None
    first_index: int | None = None
    was_uncertain: bool = False


@attrs.frozen
class Entry:
    """An item's final state, as written to the journal.

    Attributes:
        refused: For ``failed``: the provider refused the item for what it
            holds (a 400, a 404…), so sending it again would be refused
            again; a later run reports it instead of sending it.
    """

    key: str
    state: FinalState
    result: str | None = None
    error: str | None = None
    refused: bool = False


class Journal(Protocol):
    """Where a bulk run records every item's state, so a rerun knows what was done.

    ``journal=path`` gives the embedded SQLite journal; a run without one
    uses a memory-only journal, which only catches duplicates within the run.
    The engine calls :meth:`claim` as it pulls each item,
    :meth:`mark_in_flight` before the request can leave, :meth:`finish` with
    the outcomes, and :meth:`aclose` at the end of the run.

    Each write is queued when the method is *called* and done when its
    result is awaited, so a journal may commit the writes of many workers
    together (see :class:`~._group.GroupCommit`); the engine calls
    :meth:`claim` under its pull lock and awaits it after, so keys are
    claimed in the order items were pulled.

    A journal that commits every queued write whether or not anyone awaits
    it, at the latest as it closes (a commit thread), says so with
    ``commits_unawaited = True``: the engine then lets a cancelled worker go
    without waiting for its outcomes' write.

    A journal may offer ``release(claims)``, which undoes the in-flight mark
    (made by :meth:`mark_in_flight`, or at the claim, below) of the
    ``(key, index)`` of items whose request never left: the engine calls it
    when a run is cancelled or stopped between the mark and the request,
    after the mark (which may still be being written). It queues it without
    awaiting it to a journal with ``commits_unawaited``, and awaits it,
    shielded from the cancellation for a bounded time, from any other. A
    journal with both may also offer ``claim_sending(key, index)`` (a claim
    that, deciding ``send``, marks the key in flight in the same durable
    commit) and ``fresh`` (True when every claim will be new, so that the
    durable commit costs nothing a plain claim would not); the engine then
    uses them for items sent one per request. The SQLite and memory
    journals offer all of these; the PostgreSQL journal offers ``release``.
    """

    def claim(self, key: str, index: int) -> Awaitable[Claim]:
        """Register ``key`` for this run (in call order) and decide what to do with it."""
        ...

    def mark_in_flight(self, keys: Sequence[str]) -> Awaitable[None]:
        """Record, durably, that the request for ``keys`` is about to leave."""
        ...

    def finish(self, entries: Sequence[Entry]) -> Awaitable[None]:
        """Record the outcome of items that were claimed for sending."""
        ...

    async def aclose(self) -> None:
        """Release the journal; safe to call twice."""
        ...


class MemoryJournal:
    """No journal: only the keys seen in this run, to catch duplicates.

    It keeps every key in memory (about a hundred bytes each); a run of
    millions of items is better given a journal, which keeps them on disk.
    """

    commits_unawaited = True  # nothing to commit

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def claim(self, key: str, index: int) -> Awaitable[Claim]:
        """A key seen before in this run is a duplicate; any other is sent."""
        # Decided now, at the call, not when awaited: in the order items were pulled.
        first = self._seen.setdefault(key, index)
        if first != index:
            return _ready(Claim("duplicate", first_index=first))
        return _ready(_SEND)

    fresh = True
    """Every key is new to a memory journal."""

    def claim_sending(self, key: str, index: int) -> Awaitable[Claim]:
        """:meth:`claim`: there is no mark to record."""
        return self.claim(key, index)

    async def mark_in_flight(self, keys: Sequence[str]) -> None:
        """Nothing to record."""

    async def release(self, claims: Sequence[tuple[str, int]]) -> None:
        """Nothing to undo."""

    async def finish(self, entries: Sequence[Entry]) -> None:
        """Nothing to record."""

    async def aclose(self) -> None:
        """Forget the keys."""
        self._seen.clear()


_SEND = Claim("send")


async def _ready(claim: Claim) -> Claim:
    return claim


_stamp = (-1, "")
"""The last millisecond :func:`_now` formatted, and its text."""


def _now() -> str:
    """The time in ISO 8601, UTC, to the millisecond.

    Formatted once per millisecond: the rows of a commit mostly share it,
    and formatting cost the commit thread more than writing them.
    """
    global _stamp
    millis = time.time_ns() // 1_000_000
    stamp = _stamp  # read once: another thread may replace it meanwhile
    if stamp[0] != millis:
        seconds, rest = divmod(millis, 1000)
        moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
        moment = moment.replace(microsecond=rest * 1000)
        stamp = _stamp = (millis, moment.isoformat(timespec="milliseconds"))
    return stamp[1]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY,
    -- Not "state IN (...)": SQLite builds a temporary table for that list on
    -- every write, which cost more than the rest of the write.
    state TEXT NOT NULL CHECK (state = 'pending' OR state = 'in_flight'
        OR state = 'succeeded' OR state = 'failed' OR state = 'uncertain'),
    result TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    run TEXT NOT NULL,
    item_index INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    refused INTEGER NOT NULL DEFAULT 0
);
"""

_REFUSED_COLUMN = "ALTER TABLE items ADD COLUMN refused INTEGER NOT NULL DEFAULT 0"
"""Added to a journal written before the column existed (same schema version:
a reader that does not know the column reads the rest as before)."""

_FIRST_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL
        CHECK (state IN ('pending', 'in_flight', 'succeeded', 'failed', 'uncertain')),
    result TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    run TEXT NOT NULL,
    item_index INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
"""
"""The tables as the first version wrote them, before journals marked their
files: such a file is recognised by exactly these statements (the same
columns as :data:`_SCHEMA`, whose state check is only spelt faster)."""


class SqliteJournal:
    """The SQLite journal of one run; see the module docstring for the states.

    Use :meth:`open`. Columns of ``items``: ``key``, ``state``, ``result``
    (JSON), ``error`` (text), ``attempts`` (how many times the request was
    sent), ``run`` (the run that last claimed the key), ``item_index`` (its
    position in that run's input) and ``updated_at`` (ISO 8601, UTC).
    """

    def __init__(
        self, connection: sqlite3.Connection, path: Path, *, resend: bool, fresh: bool = False
    ) -> None:
        self._connection = connection
        self.path = path
        # No item recorded when the run began: every claim inserts a new key.
        # Only then is claim_sending worth its sync (a rerun's claims mostly
        # skip or report, and a plain claim needs no sync for that).
        self.fresh = fresh
        # The commit thread commits every queued write, awaited or not.
        self.commits_unawaited = True
        self._resend = resend
        self._run = uuid.uuid4().hex
        self._closed = False
        # Keys this run marked in flight and has not finished since (at the
        # claim, or by mark_in_flight): the index of the item that claimed
        # the key, the state and time its row held before the mark, and the
        # mark's own time. A release puts back only these, and only for that
        # item (a later duplicate of the key must not undo its mark), as they
        # were (an uncertain key resent on request stays uncertain).
        # Read and written by the operations alone, which the commit thread
        # runs one after another.
        self._marks: dict[str, tuple[int, str, str, str]] = {}
        # The connection's one user from now on: the commit thread, which
        # closes it as it ends (at aclose, or once this journal is dropped
        # unclosed, such as by a bare ``async for`` left with break).
        self.group: ThreadCommit[sqlite3.Connection] = ThreadCommit(
            _Committer(connection, path),
            name=f"journal {path.name}",
            on_exit=connection.close,
        )
        weakref.finalize(self, self.group.stop)

    @classmethod
    async def open(
        cls, path: str | os.PathLike[str], *, kind: str, resend_uncertain: bool
    ) -> SqliteJournal:
        """Open (or create) the journal at ``path`` and lock it for this run.

        Args:
            path: The SQLite file.
            kind: What the job sends (``documents``); a journal
                written by another kind of job is refused.
            resend_uncertain: Send again the items left in flight or uncertain.

        Raises:
            ConfigurationError: The file is not a journal, belongs to another
                kind of job, or is in use by another run.
        """
        target = Path(os.fspath(path))
        connection, fresh = await anyio.to_thread.run_sync(_connect_fresh, target, kind)
        return cls(connection, target, resend=resend_uncertain, fresh=fresh)

    def claim(self, key: str, index: int) -> Awaitable[Claim]:
        """Register ``key`` for this run (queued in call order) and decide what to do with it."""
        return self.group.submit(lambda db: self._claim(db, key, index))

    def claim_sending(self, key: str, index: int) -> Awaitable[Claim]:
        """:meth:`claim`, and if the decision is ``send``, :meth:`mark_in_flight` too.

        One durable commit instead of two, for a caller about to send the
        item as soon as the claim returns (the engine, one item per request).
        If it does not send it after all, it must :meth:`release` the key.
        """
        return self.group.submit(lambda db: self._claim(db, key, index, sending=True), durable=True)

    def release(self, claims: Sequence[tuple[str, int]]) -> Awaitable[None]:
        """Undo the in-flight marks of items whose request never left.

        ``claims`` are their ``(key, index)``; the mark was made by
        :meth:`claim_sending` or :meth:`mark_in_flight`. Each row goes back
        to what it held before the mark: pending, or, for an uncertain key
        sent again on request, uncertain as it was; its count of sends too.
        A key marked by another item's claim (a duplicate releasing), one
        never marked, or finished since, is left alone. Queued at the call
        and committed even if nobody awaits it.
        """
        claims = list(claims)
        return self.group.submit(lambda db: self._release(db, claims))

    def _release(self, db: sqlite3.Connection, claims: Sequence[tuple[str, int]]) -> None:
        rows = []
        for key, index in claims:
            mark = self._marks.get(key)
            if mark is not None and mark[0] == index:
                del self._marks[key]
                _, state, since, marked_at = mark
                rows.append((state, since, key, marked_at))
        # Only the row as the mark left it: a mark whose commit failed (rolled
        # back) has nothing to undo.
        db.executemany(
            "UPDATE items SET state = ?, updated_at = ?, attempts = attempts - 1"
            " WHERE key = ? AND state = 'in_flight' AND updated_at = ?",
            rows,
        )

    def _claim(
        self, db: sqlite3.Connection, key: str, index: int, *, sending: bool = False
    ) -> Claim:
        # Most keys are new: one INSERT says so, without a SELECT first.
        now = _now()
        inserted = db.execute(
            _INSERT_IN_FLIGHT if sending else _INSERT_PENDING, (key, self._run, index, now)
        ).rowcount
        if inserted:
            if sending:
                self._marks[key] = (index, "pending", now, now)
            return _SEND
        claim = self._claim_existing(db, key, index)
        if sending and claim.decision == "send":
            self._mark(db, [key])
        return claim

    def _claim_existing(self, db: sqlite3.Connection, key: str, index: int) -> Claim:
        state, result, error, refused, run, first_index, since = db.execute(
            "SELECT state, result, error, refused, run, item_index, updated_at"
            " FROM items WHERE key = ?",
            (key,),
        ).fetchone()
        if run == self._run:
            return Claim("duplicate", state=state, first_index=first_index)
        # Stamp the row with this run, so a second item with the key is a duplicate.
        db.execute(
            "UPDATE items SET run = ?, item_index = ? WHERE key = ?", (self._run, index, key)
        )
        if state == "succeeded":
            return Claim("skip", result=result, state=state, since=since)
        if state in ("in_flight", "uncertain"):
            if self._resend:
                return Claim("send", state=state, since=since, was_uncertain=True)
            return Claim("uncertain", error=error, state=state, since=since)
        if state == "failed" and refused:
            return Claim("refused", error=error, state=state, since=since)
        db.execute(
            "UPDATE items SET state = 'pending', updated_at = ? WHERE key = ?", (_now(), key)
        )
        return Claim("send", error=error, state=state, since=since)

    def mark_in_flight(self, keys: Sequence[str]) -> Awaitable[None]:
        """Record that the request for ``keys`` is about to leave, synced to disk.

        The marks of every worker asking at the same time share one commit
        and one sync; the awaitable completes once that commit is on disk.
        A mark whose request then never leaves can be undone (:meth:`release`).
        """
        keys = list(keys)
        return self.group.submit(lambda db: self._mark(db, keys), durable=True)

    def _mark(self, db: sqlite3.Connection, keys: Sequence[str]) -> None:
        now = _now()
        for key in keys:
            before = db.execute(
                "SELECT item_index, state, updated_at FROM items WHERE key = ?", (key,)
            ).fetchone()
            if before is not None:
                self._marks[key] = (*before, now)
        db.executemany(
            "UPDATE items SET state = 'in_flight', attempts = attempts + 1,"
            " updated_at = ? WHERE key = ?",
            [(now, key) for key in keys],
        )

    def finish(self, entries: Sequence[Entry]) -> Awaitable[None]:
        """Record the final state of claimed items (committed with the next group, not synced)."""
        entries = list(entries)
        return self.group.submit(lambda db: self._finish(db, entries))

    def _finish(self, db: sqlite3.Connection, entries: Sequence[Entry]) -> None:
        for entry in entries:
            self._marks.pop(entry.key, None)
        _finish(db, entries)

    async def aclose(self) -> None:
        """Close the connection (which releases the lock). Calling it twice is harmless."""
        if not self._closed:
            self._closed = True
            await self.group.aclose()  # what is queued is committed, then the connection closed


_INSERT_PENDING = (
    "INSERT INTO items (key, state, run, item_index, updated_at)"
    " VALUES (?, 'pending', ?, ?, ?) ON CONFLICT (key) DO NOTHING"
)
_INSERT_IN_FLIGHT = (
    "INSERT INTO items (key, state, attempts, run, item_index, updated_at)"
    " VALUES (?, 'in_flight', 1, ?, ?, ?) ON CONFLICT (key) DO NOTHING"
)


def _connect_fresh(path: Path, kind: str) -> tuple[sqlite3.Connection, bool]:
    """The journal's connection (see :func:`_connect`), and whether it holds no item yet."""
    db = _connect(path, kind)
    try:
        (empty,) = db.execute("SELECT NOT EXISTS (SELECT 1 FROM items)").fetchone()
    except sqlite3.Error as exc:
        db.close()
        raise ConfigurationError(f"cannot read the journal {path}: {exc}") from None
    return db, bool(empty)


class _Committer:
    """Runs a group's operations in one transaction of the journal's connection.

    Called in the commit thread, the connection's one user.

    Only a commit holding an in-flight mark must reach the disk before it
    returns (``PRAGMA synchronous = FULL``); the others need not (NORMAL).
    The setting is changed only when a commit needs the other one: while
    marks and outcomes share every commit, as they do in a run, the
    connection stays at FULL, and a commit runs two statements fewer.
    """

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self._path = path
        self._synchronous = "NORMAL"  # as _connect leaves it

    def __call__(
        self, operations: Sequence[Callable[[sqlite3.Connection], Any]], durable: bool
    ) -> list[Any]:
        """Run ``operations`` in one transaction, synced to disk if ``durable``.

        Raises:
            JournalError: SQLite could not (a full disk, an I/O error), or
                refused a value (text that is not valid Unicode, an integer
                past 64 bits); the transaction was rolled back, so the file
                holds what it held.
        """
        db = self._db
        try:
            # An in-flight mark must survive a power cut: it is what stops a
            # rerun from sending twice. FULL syncs the WAL, earlier frames included.
            synchronous = "FULL" if durable else "NORMAL"
            if synchronous != self._synchronous:
                db.execute(f"PRAGMA synchronous = {synchronous}")
                self._synchronous = synchronous
            with _transaction(db):
                return [operation(db) for operation in operations]
        except (sqlite3.Error, ValueError, OverflowError) as exc:  # UnicodeEncodeError is one
            # Unchained: the error travels to the event loop and may be kept in an
            # outcome; sqlite3's traceback would keep this thread's frames alive.
            raise JournalError(f"cannot write the journal {self._path}: {exc}") from None


def _finish(db: sqlite3.Connection, entries: Sequence[Entry]) -> None:
    now = _now()
    db.executemany(
        "UPDATE items SET state = ?, result = ?, error = ?, refused = ?, updated_at = ?"
        " WHERE key = ?",
        [(e.state, e.result, e.error, int(e.refused), now, e.key) for e in entries],
    )


class _transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


JournalFile = Literal["new", "ours", "first version"]


def _statements(schema: str = _SCHEMA) -> list[str]:
    return [statement for statement in schema.split(";") if statement.strip()]


def _normalized(sql: str) -> str:
    # sqlite_master keeps the statement as written, minus IF NOT EXISTS.
    return " ".join(re.sub(r"\bIF NOT EXISTS\b", "", sql).split())


def _inspect(path: Path) -> JournalFile:
    """What ``path`` is, found without writing a byte to it.

    Raises:
        ConfigurationError: ``path`` exists and is not a journal, naming it.
    """
    try:
        # Opened without waiting: a FIFO at the path would hold the open
        # until a writer came.
        opened = open_regular(path)
        if opened is None:
            raise ConfigurationError(
                f"{path} is not a journal (not a regular file: a FIFO or a device)"
            )
        with opened as file:
            header = file.read(_HEADER_SIZE)
    except FileNotFoundError:
        return "new"
    except IsADirectoryError:
        raise ConfigurationError(f"the journal {path} is a folder; give a file") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read the journal {path}: {exc.strerror}") from None
    if not header:
        return "new"  # an empty file: made by the caller (mkstemp, touch) for us to fill
    if not header.startswith(_SQLITE_MAGIC) or len(header) < _HEADER_SIZE:
        raise ConfigurationError(f"{path} is not a journal (it is not an SQLite database)")
    offset = _APPLICATION_ID_OFFSET
    if int.from_bytes(header[offset : offset + 4], "big") == APPLICATION_ID:
        return "ours"
    # The header on disk may be stale while a write-ahead log holds newer
    # pages (a run killed right after adopting a first-version journal):
    # SQLite itself, read-only, has the last word.
    try:
        with _read_only(path, wal=header[18] == _WAL_FORMAT) as db:
            application_id = db.execute("PRAGMA application_id").fetchone()[0]
            if application_id == APPLICATION_ID:
                return "ours"
            if application_id == 0 and _first_version(db):
                return "first version"
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise ConfigurationError(
                f"the journal {path} is in use by another run; wait for it to finish"
            ) from None
        raise ConfigurationError(f"{path} is not a journal: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise ConfigurationError(f"{path} is not a journal: {exc}") from None
    raise ConfigurationError(
        f"{path} is not a journal: it is an SQLite database of something else;"
        " it was left untouched (give the journal another file name)"
    )


class _read_only:
    """A read-only connection: it cannot write to the file, whatever it finds.

    A database in WAL mode without a ``-wal`` file beside it was closed
    cleanly: its file holds everything, and it is opened ``immutable``,
    because a plain read-only connection would create ``-wal`` and ``-shm``
    files beside somebody else's database.
    """

    def __init__(self, path: Path, *, wal: bool) -> None:
        closed_cleanly = wal and not path.with_name(f"{path.name}-wal").exists()
        mode = "immutable=1" if closed_cleanly else "mode=ro"
        self._db = sqlite3.connect(
            f"{path.resolve().as_uri()}?{mode}", uri=True, isolation_level=None, timeout=0.2
        )

    def __enter__(self) -> sqlite3.Connection:
        return self._db

    def __exit__(self, *_: object) -> None:
        self._db.close()


def _first_version(db: sqlite3.Connection) -> bool:
    """Whether ``db`` is a journal of the first version: exactly its tables, and its meta."""
    objects = db.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
    tables = {name: sql for kind, name, sql in objects if kind == "table"}
    expected = {
        statement.split()[5]: _normalized(statement)  # CREATE TABLE IF NOT EXISTS <name>
        for statement in _statements(_FIRST_SCHEMA)
    }
    if {name: _normalized(sql or "") for name, sql in tables.items()} != expected:
        return False
    # Only the automatic indexes of the two primary keys, nothing of anyone else.
    if {name for kind, name, _ in objects if kind != "table"} != {
        "sqlite_autoindex_meta_1",
        "sqlite_autoindex_items_1",
    }:
        return False
    found = dict(db.execute("SELECT name, value FROM meta").fetchall())
    return found.get("schema") == SCHEMA_VERSION and bool(found.get("kind"))


def _connect(path: Path, kind: str) -> sqlite3.Connection:
    state = _inspect(path)
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=0.2)
    except sqlite3.Error as exc:
        raise ConfigurationError(f"cannot open the journal {path}: {exc}") from None
    try:
        # Held from the first write until close: a second run on the same
        # journal is refused instead of sending the same items concurrently.
        db.execute("PRAGMA locking_mode = EXCLUSIVE")
        if state != "ours":
            # Before WAL mode, so that a new journal's header carries the mark
            # from its first write on, in the main file itself.
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {int(SCHEMA_VERSION)}")
        else:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != int(SCHEMA_VERSION):
                raise ConfigurationError(
                    f"the journal {path} has schema {version}; this version reads {SCHEMA_VERSION}"
                )
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise ConfigurationError(f"the journal {path} cannot use WAL mode (got {mode})")
        db.execute("PRAGMA synchronous = NORMAL")
        with _transaction(db):
            # executescript() would commit first; run the statements inside the transaction.
            for statement in _statements():
                db.execute(statement)
            columns = {row[1] for row in db.execute("PRAGMA table_info(items)")}
            if "refused" not in columns:
                db.execute(_REFUSED_COLUMN)
            found = dict(db.execute("SELECT name, value FROM meta").fetchall())
            if not found:
                db.executemany(
                    "INSERT INTO meta (name, value) VALUES (?, ?)",
                    [("schema", SCHEMA_VERSION), ("kind", kind), ("created_at", _now())],
                )
            elif found.get("kind") != kind:
                raise ConfigurationError(
                    f"the journal {path} belongs to a {found.get('kind')!r} job,"
                    f" not {kind!r}: use another file"
                )
            elif found.get("schema") != SCHEMA_VERSION:
                raise ConfigurationError(
                    f"the journal {path} has schema {found.get('schema')!r};"
                    f" this version reads {SCHEMA_VERSION!r}"
                )
    except sqlite3.OperationalError as exc:
        db.close()
        if "locked" in str(exc) or "busy" in str(exc):
            raise ConfigurationError(
                f"the journal {path} is in use by another run; wait for it to finish"
            ) from None
        raise ConfigurationError(f"cannot use the journal {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        db.close()
        raise ConfigurationError(f"{path} is not a journal: {exc}") from None
    except BaseException:
        db.close()
        raise
    return db


@runtime_checkable
class JournalSource(Protocol):
    """A journal given as an object that each run opens.

    :class:`~signing_async.fleet.PostgresJournal` is one.
    """

    async def open_run(self, *, kind: str, resend_uncertain: bool) -> Journal:
        """Open the journal for one run of a job that sends ``kind``."""
        ...


JournalOption = Union[str, "os.PathLike[str]", JournalSource, None]
"""What ``journal=`` takes: a SQLite file, a ``postgresql://`` DSN (with ``job=``), a
:class:`JournalSource`, or None (memory only)."""


async def open_journal(
    journal: JournalOption, *, kind: str, resend_uncertain: bool, job: str | None = None
) -> Journal:
    """The journal ``journal`` names, opened for one run.

    Args:
        journal: None (a memory-only journal), a :class:`JournalSource`, a
            ``postgresql://`` DSN (the PostgreSQL journal of ``job``), or the
            path of the SQLite file.
        kind: What the job sends; a journal of another kind is refused.
        resend_uncertain: Send again the items a previous run left uncertain.
        job: The job's name in a PostgreSQL journal given as a DSN.

    Raises:
        ConfigurationError: The journal cannot be used (see each kind).
        ValidationError: A DSN without ``job``, or ``job`` with a SQLite file.
    """
    if journal is None:
        if job is not None:
            raise ValidationError("job", "names a job in a PostgreSQL journal; give journal= too")
        return MemoryJournal()
    if isinstance(journal, JournalSource):
        return await journal.open_run(kind=kind, resend_uncertain=resend_uncertain)
    if is_dsn(journal):
        if job is None:
            raise ValidationError("job", "a PostgreSQL journal needs the job's name (job=...)")
        from ._pg_journal import PostgresJournal

        source = PostgresJournal(str(journal), job=job)
        return await source.open_run(kind=kind, resend_uncertain=resend_uncertain)
    if job is not None:
        raise ValidationError("job", "names a job in a PostgreSQL journal, not in a SQLite file")
    path = file_path(journal, "journal")
    return await SqliteJournal.open(path, kind=kind, resend_uncertain=resend_uncertain)
