"""The SQLite journal recognises its own files and leaves every other file untouched."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import sqlite3
import sys
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import patch

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

import signing_async as sa
from signing_async._core.bulk import _journal
from signing_async._core.bulk._journal import APPLICATION_ID, SqliteJournal, open_journal

KIND = "fake items"

# What the first version of the journal wrote, verbatim: no application_id, no user_version.
FIRST_VERSION_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL
        CHECK (state IN ('pending', 'in_flight', 'succeeded', 'failed', 'uncertain')),
    result TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    run TEXT NOT NULL,
    item_index INTEGER NOT NULL,
    updated_at TEXT NOT NULL
)""",
]


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file of ``folder`` with the SHA-256 of its bytes."""
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in sorted(os.listdir(folder))
    }


def make_database(path: Path, *statements: str) -> None:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        for statement in statements:
            db.execute(statement)


def make_first_version_journal(path: Path, *, wal: bool = True) -> None:
    """A journal as the first version left it after a run: one item succeeded."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        if wal:
            db.execute("PRAGMA journal_mode = WAL")
        for statement in FIRST_VERSION_SCHEMA:
            db.execute(statement)
        db.executemany(
            "INSERT INTO meta (name, value) VALUES (?, ?)",
            [("schema", "1"), ("kind", KIND), ("created_at", "2026-01-01T00:00:00.000+00:00")],
        )
        db.execute(
            "INSERT INTO items (key, state, result, run, item_index, updated_at)"
            " VALUES ('k0', 'succeeded', '{\"id\": \"obj-k0\"}', 'old', 0, '2026-01-01')"
        )


def header_mark(path: Path) -> tuple[int, int]:
    """(application_id, user_version) as SQLite reports them."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        return (
            db.execute("PRAGMA application_id").fetchone()[0],
            db.execute("PRAGMA user_version").fetchone()[0],
        )


async def open_sqlite_journal(path: Path) -> SqliteJournal:
    journal = await open_journal(path, kind=KIND, resend_uncertain=False)
    assert isinstance(journal, SqliteJournal)
    return journal


async def test_a_foreign_database_with_an_items_table_is_refused_untouched(tmp_path: Path) -> None:
    foreign = tmp_path / "crm.db"
    make_database(
        foreign,
        "CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT, price REAL)",
        "INSERT INTO items (sku, price) VALUES ('A-1', 9.5)",
    )
    before = fingerprint(tmp_path)

    with pytest.raises(sa.ConfigurationError) as caught:
        await open_sqlite_journal(foreign)

    assert str(foreign) in str(caught.value)
    assert "not a journal" in str(caught.value)
    assert fingerprint(tmp_path) == before  # not a byte changed, no -wal or -shm beside it


async def test_a_foreign_database_in_wal_mode_is_refused_untouched(tmp_path: Path) -> None:
    foreign = tmp_path / "app.db"
    make_database(foreign, "PRAGMA journal_mode = WAL", "CREATE TABLE notes (body TEXT)")
    before = fingerprint(tmp_path)

    with pytest.raises(sa.ConfigurationError, match="not a journal"):
        await open_sqlite_journal(foreign)

    assert fingerprint(tmp_path) == before


async def test_a_database_of_another_application_with_the_journal_tables_is_refused(
    tmp_path: Path,
) -> None:
    # The journal's own tables, but another program's mark: not ours to write.
    other = tmp_path / "other.db"
    make_first_version_journal(other, wal=False)
    with contextlib.closing(sqlite3.connect(other)) as db:
        db.execute("PRAGMA application_id = 42")
    before = fingerprint(tmp_path)

    with pytest.raises(sa.ConfigurationError, match="not a journal"):
        await open_sqlite_journal(other)

    assert fingerprint(tmp_path) == before


@pytest.mark.parametrize(
    "content",
    [b"hello, this is not SQLite\n" * 100, b"SQLite format 3\x00 but cut short", b"\x00" * 4096],
    ids=["text", "truncated-header", "zeros"],
)
async def test_a_file_that_is_not_sqlite_is_refused_untouched(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(content)

    with pytest.raises(sa.ConfigurationError) as caught:
        await open_sqlite_journal(path)

    assert f"{path} is not a journal" in str(caught.value)
    assert path.read_bytes() == content
    assert os.listdir(tmp_path) == ["notes.db"]


async def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(sa.ConfigurationError, match="is a folder"):
        await open_sqlite_journal(tmp_path)


async def test_a_new_or_empty_file_becomes_a_marked_journal(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    for path in (tmp_path / "new.db", empty):
        journal = await open_sqlite_journal(path)
        assert (await journal.claim("k0", 0)).decision == "send"
        await journal.aclose()
        assert header_mark(path) == (APPLICATION_ID, 1)
        # In the main file's own header, not only in a write-ahead log.
        assert int.from_bytes(path.read_bytes()[68:72], "big") == APPLICATION_ID

    # And it is recognised the next time.
    journal = await open_sqlite_journal(tmp_path / "new.db")
    assert (await journal.claim("k0", 0)).decision == "send"  # pending before: sent again
    await journal.aclose()


async def test_a_first_version_journal_is_adopted_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "run.db"
    make_first_version_journal(path)
    assert header_mark(path) == (0, 0)

    journal = await open_sqlite_journal(path)
    claim = await journal.claim("k0", 0)
    await journal.aclose()

    assert (claim.decision, claim.result) == ("skip", '{"id": "obj-k0"}')
    assert header_mark(path) == (APPLICATION_ID, 1)


async def test_a_first_version_journal_with_something_more_is_refused_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run.db"
    make_first_version_journal(path, wal=False)
    make_database(path, "CREATE TABLE extra (x)")
    before = fingerprint(tmp_path)

    with pytest.raises(sa.ConfigurationError, match="not a journal"):
        await open_sqlite_journal(path)

    assert fingerprint(tmp_path) == before


async def test_a_journal_path_of_the_wrong_type_is_a_validation_error() -> None:
    with pytest.raises(sa.ValidationError) as caught:
        await open_journal(123, kind=KIND, resend_uncertain=False)  # type: ignore[arg-type]
    assert caught.value.field == "journal"
    with pytest.raises(sa.ValidationError, match="NUL"):
        await open_journal("a\x00b.db", kind=KIND, resend_uncertain=False)


_KILLED_FIRST_VERSION = """
import os, sqlite3, sys

# The first version's way of opening, then a death before any checkpoint:
# everything it wrote is still in the -wal file, the main file is bare.
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA locking_mode = EXCLUSIVE")
db.execute("PRAGMA journal_mode = WAL")
db.execute("BEGIN IMMEDIATE")
for statement in sys.argv[2:]:
    db.execute(statement)
db.executemany(
    "INSERT INTO meta (name, value) VALUES (?, ?)",
    [("schema", "1"), ("kind", "fake items"), ("created_at", "2026-01-01")],
)
db.execute(
    "INSERT INTO items (key, state, run, item_index, updated_at)"
    " VALUES ('k0', 'in_flight', 'old', 0, '2026-01-01')"
)
db.execute("COMMIT")
os._exit(0)
"""


async def test_a_first_version_journal_killed_mid_run_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "run.db"
    await anyio.run_process(
        [sys.executable, "-c", _KILLED_FIRST_VERSION, str(path), *FIRST_VERSION_SCHEMA]
    )
    assert (tmp_path / "run.db-wal").exists()  # the run died before a checkpoint

    journal = await open_sqlite_journal(path)
    claim = await journal.claim("k0", 0)
    await journal.aclose()

    assert claim.decision == "uncertain"  # in flight when it died: never sent blindly
    assert header_mark(path) == (APPLICATION_ID, 1)


@given(st.integers(min_value=0, max_value=253402300799999))  # up to 9999-12-31T23:59:59.999
def test_a_row_s_time_is_the_millisecond_it_was_written(millis: int) -> None:
    # Formatted once per millisecond, from integers: a float of the seconds
    # would turn .123 into .122 for some instants.
    # The journal module's clock alone, not the process's.
    clock = SimpleNamespace(time_ns=lambda: millis * 1_000_000 + 999_999)
    with patch.object(_journal, "time", clock):
        text = _journal._now()
    seconds, rest = divmod(millis, 1000)
    expected = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(
        seconds=seconds, milliseconds=rest
    )
    assert text == expected.isoformat(timespec="milliseconds")
