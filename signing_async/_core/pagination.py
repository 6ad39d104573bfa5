"""Offset pagination: pages fetched lazily, one request per page.

The pager knows no provider. A provider hands it a function that fetches one
page given an offset (``skip``) and a page size (``limit``) and says whether
more pages follow; the pager turns that into ``async for item in pager``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

import attrs

from .errors import ResponseDecodeError
from .validation import require_in_range

__all__ = ["MAX_PAGES", "MAX_PAGE_SIZE", "AsyncPager", "Page", "PageFetch"]

logger = logging.getLogger("signing_async")

T = TypeVar("T")

MAX_PAGE_SIZE = 100
"""The largest page the providers accept."""

MAX_PAGES = 100_000
"""The most pages one walk requests: 10 million items at the largest page
size, 2 million at the default. A server still claiming more after that is
answering in a loop, not listing."""


@attrs.frozen
class Page(Generic[T]):
    """One page of results.

    Attributes:
        items: The page's items, in the provider's order.
        total: How many items all pages hold together, when the provider
            says; None when it does not. DANAsign's contact and template
            lists carry a total; its document lists (``documents.list``) do
            not, so their pages always have ``total=None``: count the items
            while iterating instead.
        has_more: Whether another page follows this one.
    """

    items: tuple[T, ...]
    total: int | None = None
    has_more: bool = False


PageFetch = Callable[[int, int], Awaitable[Page[T]]]
"""``fetch(skip, limit)``: one page of at most ``limit`` items, starting at offset ``skip``."""


class AsyncPager(Generic[T]):
    """Every item of a paginated listing, fetched one page at a time.

    Nothing is sent until the pager is iterated. Each ``async for`` starts
    again from the first page; pages are requested only as items are consumed.

    Example:
        >>> async for contact in client.contacts.list(search="ana"):
        ...     print(contact.email)
        >>> page = await client.contacts.list(page_size=50).first_page()
        >>> page.total, page.has_more

    Args:
        fetch: Fetches one page: ``await fetch(skip, limit)``.
        page_size: Items per request.
        max_page_size: The largest ``page_size`` accepted.
        max_pages: The most pages one walk requests (see :meth:`pages`).
        what: Names the listing in error messages (``DANAsign list contacts``).

    Raises:
        ValidationError: ``page_size`` is not an integer in ``1..max_page_size``
            (raised here, before any request).
    """

    def __init__(
        self,
        fetch: PageFetch[T],
        *,
        page_size: int = 20,
        max_page_size: int = MAX_PAGE_SIZE,
        max_pages: int = MAX_PAGES,
        what: str = "listing",
    ) -> None:
        self._fetch = fetch
        self._page_size = require_in_range(page_size, 1, max_page_size, "page_size")
        self._max_pages = max_pages
        self._what = what

    @property
    def page_size(self) -> int:
        """Items requested per page."""
        return self._page_size

    def __repr__(self) -> str:
        return f"<AsyncPager page_size={self._page_size}>"

    async def first_page(self) -> Page[T]:
        """Fetch the first page only (one request)."""
        return await self._fetch(0, self._page_size)

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Yield every page, requesting the next one only when asked for it.

        Iteration stops after a page that says no more follow, and also, so
        that a server that keeps promising more is not polled forever:

        - after an empty page, whatever it says;
        - once the items received reach the ``total`` the page states;
        - at a page with the same items as the one before (a server ignoring
          the offset): that page is not yielded again.

        Raises:
            ResponseDecodeError: The server still claims more after
                ``max_pages`` pages (:data:`MAX_PAGES` by default).
        """
        skip = 0
        previous: tuple[T, ...] | None = None
        for _ in range(self._max_pages):
            page = await self._fetch(skip, self._page_size)
            if page.items == previous:
                logger.warning(
                    "%s: the page at offset %d repeats the one before; stopping", self._what, skip
                )
                return
            yield page
            # Advance by what arrived, not by what was asked: a server may
            # return a short page that is not the last.
            skip += len(page.items)
            if not page.has_more or not page.items:
                return
            if page.total is not None and skip >= page.total:
                return
            previous = page.items
        raise ResponseDecodeError(
            f"{self._what}: the server still claims more after {self._max_pages} pages"
            f" ({skip} items); stopped"
        )

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item
