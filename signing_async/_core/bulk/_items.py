"""The items of a bulk run: pulled one at a time, never read ahead.

A bulk job may come from a million-row manifest, so the input is an iterator
(sync or async) that is advanced only when a worker is free to take the next
item. A row that cannot even be read becomes an :class:`InvalidItem`, which
the engine reports as failed without stopping the run.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Generic, TypeVar

import attrs

from ..errors import ValidationError

__all__ = ["InvalidItem", "ItemSource"]

T = TypeVar("T")


@attrs.frozen
class InvalidItem:
    """Stands in the item stream for an input row that could not be read.

    Manifest readers yield one for a line that is not JSON, a CSV row with
    the wrong number of cells, and the like. The bulk run reports it as a
    ``failed`` outcome carrying a :class:`~signing_async.ValidationError`;
    nothing is sent and the other items go on.

    Attributes:
        field: Where the problem is (``jobs.csv line 7``).
        problem: What is wrong with it.
        key: The row's key, when it could be read despite the problem.
    """

    field: str
    problem: str
    key: str | None = None

    def error(self) -> ValidationError:
        """The error the failed outcome carries."""
        return ValidationError(self.field, self.problem)


class ItemSource(Generic[T]):
    """Numbers the items of an iterable or async iterable as they are pulled.

    Not safe for concurrent pulls: the engine pulls under a lock (an async
    generator cannot be advanced by two tasks at once anyway). A sync
    iterable is advanced on the event loop, so it should be quick to advance
    (a list, a file read line by line); a slow source belongs in an async one.
    """

    def __init__(self, items: Iterable[T] | AsyncIterable[T]) -> None:
        self._sync: Iterator[T] | None = None
        self._async: AsyncIterator[T] | None = None
        if isinstance(items, AsyncIterable):
            self._async = aiter(items)
        else:
            self._sync = iter(items)
        self._next_index = 0
        self.exhausted = False

    @property
    def is_async(self) -> bool:
        """Whether pulling may wait (an async iterable); a plain one is advanced at once."""
        return self._async is not None

    async def pull(self) -> tuple[int, T] | None:
        """The next item and its index, or None once the input is exhausted.

        Raises:
            Exception: Whatever the input raised; the source counts as exhausted.
        """
        if self.exhausted:
            return None
        try:
            if self._async is not None:
                item = await anext(self._async)
            else:
                assert self._sync is not None
                item = next(self._sync)
        except (StopIteration, StopAsyncIteration):
            self.exhausted = True
            return None
        except BaseException:
            self.exhausted = True
            raise
        index = self._next_index
        self._next_index += 1
        return index, item
