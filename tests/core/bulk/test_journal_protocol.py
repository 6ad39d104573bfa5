"""``Journal`` is the one public name for where a bulk run records its items."""

from __future__ import annotations

import inspect

import pytest

import signing_async as sa
from signing_async._core.bulk._journal import MemoryJournal, SqliteJournal

METHODS = ("claim", "mark_in_flight", "finish", "aclose")


def test_journal_is_public_with_the_methods_design_names() -> None:
    assert "Journal" in sa.__all__
    assert [name for name in METHODS if callable(getattr(sa.Journal, name, None))] == list(METHODS)


@pytest.mark.parametrize("implementation", [SqliteJournal, MemoryJournal])
def test_every_journal_implements_the_protocol(implementation: type) -> None:
    for name in METHODS:
        method = getattr(implementation, name)
        assert list(inspect.signature(method).parameters) == list(
            inspect.signature(getattr(sa.Journal, name)).parameters
        ), name


async def test_a_journal_s_writes_are_awaited_and_decided_at_the_call() -> None:
    # A journal queues each write when it is called (so writers can share one
    # commit) and the caller awaits it; a key seen twice is a duplicate even
    # before the first claim is awaited.
    journal = MemoryJournal()
    first, second = journal.claim("k", 0), journal.claim("k", 1)
    assert inspect.isawaitable(first)
    assert (await first).decision == "send"
    assert (await second).decision == "duplicate"
    await journal.mark_in_flight(["k"])
    await journal.finish([])
    await journal.aclose()
