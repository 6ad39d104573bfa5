"""``Journal`` is the one public name for where a bulk run records its items."""

from __future__ import annotations

import inspect

import pytest

import signing_async as sa
from signing_async._core.bulk._journal import MemoryJournal, SqliteJournal

METHODS = ("claim", "mark_in_flight", "finish", "aclose")


def test_journal_is_public_with_the_methods_design_names() -> None:
    assert "Journal" in sa.__all__
    assert [
        name for name in METHODS if inspect.iscoroutinefunction(getattr(sa.Journal, name))
    ] == list(METHODS)


@pytest.mark.parametrize("implementation", [SqliteJournal, MemoryJournal])
def test_every_journal_implements_the_protocol(implementation: type) -> None:
    for name in METHODS:
        method = getattr(implementation, name)
        assert inspect.iscoroutinefunction(method), name
        assert list(inspect.signature(method).parameters) == list(
            inspect.signature(getattr(sa.Journal, name)).parameters
        ), name
