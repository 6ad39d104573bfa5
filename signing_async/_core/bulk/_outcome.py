"""``BulkOutcome``: what became of one item of a bulk run."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

import attrs

__all__ = ["BulkOutcome", "Status"]

R = TypeVar("R")

Status = Literal["succeeded", "failed", "skipped", "uncertain"]
"""How an item ended:

- ``succeeded``: sent, and the provider confirmed it; ``result`` holds its answer.
- ``failed``: not created, for certain (bad input, a refusal, no connection);
  running the job again sends it again.
- ``skipped``: the journal says an earlier run already succeeded; ``result``
  holds the answer recorded then. Nothing was sent.
- ``uncertain``: the request may have reached the provider but no answer
  confirmed it (a connection lost after sending, a 500, a run killed while
  it was in flight). It is never sent again unless you ask for it
  (``on_uncertain="resend"``): check with the provider first.
"""


@attrs.frozen
class BulkOutcome(Generic[R]):
    """One item's outcome, yielded as soon as the item is finished.

    Attributes:
        key: The item's natural key (an external id, say), or None when
            the item was too malformed for its key to be read.
        index: The item's position in the input, counting from 0.
        status: ``"succeeded"``, ``"failed"``, ``"skipped"`` or ``"uncertain"``.
        result: The provider's answer, decoded into the single-item method's
            model, for ``succeeded`` and ``skipped``; otherwise None.
        error: Why the item failed or is uncertain; None otherwise.
    """

    key: str | None
    index: int
    status: Status
    result: R | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """True when the item is done: ``succeeded`` now or ``skipped`` as done before."""
        return self.status in ("succeeded", "skipped")
