"""AsyncPager: lazy, page by page, generic over a fetch function."""

from __future__ import annotations

import pytest

import signing_async as sa
from signing_async._core.pagination import AsyncPager, Page


def polled(calls: list[object]) -> None:
    """Fail, rather than hang, where a pager would poll forever."""
    assert len(calls) <= 20, "the pager keeps polling"


class Source:
    """Serves ``count`` integers; records every (skip, limit) asked for."""

    def __init__(
        self, count: int, *, short_by: int = 0, lie: bool = False, total: bool = True
    ) -> None:
        self.count = count
        self.short_by = short_by
        self.lie = lie
        self.total = total
        self.calls: list[tuple[int, int]] = []

    async def fetch(self, skip: int, limit: int) -> Page[int]:
        self.calls.append((skip, limit))
        polled(self.calls)
        items = tuple(range(skip, min(skip + limit - self.short_by, self.count)))
        has_more = self.lie or skip + len(items) < self.count
        return Page(items, total=self.count if self.total else None, has_more=has_more)


async def test_walks_every_item_lazily() -> None:
    source = Source(45)
    pager = AsyncPager(source.fetch, page_size=20)
    assert source.calls == []
    assert [item async for item in pager] == list(range(45))
    assert source.calls == [(0, 20), (20, 20), (40, 20)]


async def test_stops_consuming_when_the_caller_stops() -> None:
    source = Source(1000)
    async for item in AsyncPager(source.fetch, page_size=10):
        if item == 15:
            break
    assert source.calls == [(0, 10), (10, 10)]


async def test_first_page_is_one_request() -> None:
    source = Source(45)
    page = await AsyncPager(source.fetch, page_size=20).first_page()
    assert page == Page(tuple(range(20)), total=45, has_more=True)
    assert source.calls == [(0, 20)]


async def test_pages_and_restart() -> None:
    source = Source(5)
    pager = AsyncPager(source.fetch, page_size=2)
    assert [page.items async for page in pager.pages()] == [(0, 1), (2, 3), (4,)]
    assert [item async for item in pager] == [0, 1, 2, 3, 4]
    assert source.calls == [(0, 2), (2, 2), (4, 2)] * 2


async def test_advances_by_what_arrived() -> None:
    source = Source(7, short_by=1)
    assert [item async for item in AsyncPager(source.fetch, page_size=3)] == list(range(7))
    assert [skip for skip, _ in source.calls] == [0, 2, 4, 6]


async def test_an_empty_page_ends_iteration_whatever_it_claims() -> None:
    source = Source(3, lie=True, total=False)
    assert [item async for item in AsyncPager(source.fetch, page_size=2)] == [0, 1, 2]
    assert source.calls == [(0, 2), (2, 2), (3, 2)]


async def test_iteration_stops_at_the_stated_total_whatever_has_more_claims() -> None:
    source = Source(5, lie=True)
    assert [item async for item in AsyncPager(source.fetch, page_size=2)] == [0, 1, 2, 3, 4]
    assert source.calls == [(0, 2), (2, 2), (4, 2)]


async def test_a_page_that_repeats_the_one_before_ends_iteration_unyielded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    async def ignores_the_offset(skip: int, limit: int) -> Page[str]:
        calls.append(skip)
        polled(calls)
        return Page(("a", "b"), total=None, has_more=True)

    pages = [page async for page in AsyncPager(ignores_the_offset, page_size=2).pages()]

    assert [page.items for page in pages] == [("a", "b")]
    assert calls == [0, 2]
    assert "repeats the one before" in caplog.text


async def test_a_server_claiming_more_forever_hits_the_page_bound() -> None:
    calls: list[int] = []

    async def endless(skip: int, limit: int) -> Page[int]:
        calls.append(skip)
        polled(calls)
        return Page((skip,), total=10**9, has_more=True)

    seen: list[int] = []

    async def walk() -> None:
        async for item in AsyncPager(endless, page_size=3, max_pages=5, what="contacts"):
            seen.append(item)

    with pytest.raises(sa.ResponseDecodeError, match=r"contacts: .* more after 5 pages"):
        await walk()
    assert seen == calls == [0, 1, 2, 3, 4]


async def test_a_listing_of_exactly_the_page_bound_ends_cleanly() -> None:
    source = Source(10, total=False)
    pager = AsyncPager(source.fetch, page_size=2, max_pages=5)
    assert [item async for item in pager] == list(range(10))
    assert len(source.calls) == 5


@pytest.mark.parametrize("page_size", [0, 101, -1, True, 2.5])
def test_page_size_is_checked_at_construction(page_size: object) -> None:
    source = Source(3)
    with pytest.raises(sa.ValidationError) as caught:
        AsyncPager(source.fetch, page_size=page_size)  # type: ignore[arg-type]
    assert caught.value.field == "page_size"
    assert source.calls == []


def test_bounds_are_inclusive() -> None:
    source = Source(3)
    assert AsyncPager(source.fetch, page_size=1).page_size == 1
    assert AsyncPager(source.fetch, page_size=100).page_size == 100
    assert AsyncPager(source.fetch, page_size=500, max_page_size=500).page_size == 500
