"""AsyncPager: lazy, page by page, generic over a fetch function."""

from __future__ import annotations

import pytest

import signing_async as sa
from signing_async._core.pagination import AsyncPager, Page


class Source:
    """Serves ``count`` integers; records every (skip, limit) asked for."""

    def __init__(self, count: int, *, short_by: int = 0, lie: bool = False) -> None:
        self.count = count
        self.short_by = short_by
        self.lie = lie
        self.calls: list[tuple[int, int]] = []

    async def fetch(self, skip: int, limit: int) -> Page[int]:
        self.calls.append((skip, limit))
        items = tuple(range(skip, min(skip + limit - self.short_by, self.count)))
        has_more = self.lie or skip + len(items) < self.count
        return Page(items, total=self.count, has_more=has_more)


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
    source = Source(3, lie=True)
    assert [item async for item in AsyncPager(source.fetch, page_size=2)] == [0, 1, 2]
    assert source.calls == [(0, 2), (2, 2), (3, 2)]


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
