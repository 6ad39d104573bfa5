"""``BulkProgress``: the counts a progress display needs, after every change."""

from __future__ import annotations

import attrs

__all__ = ["BulkProgress"]


@attrs.frozen
class BulkProgress:
    """A snapshot of a bulk run's counts.

    The total is not known in advance (items are read lazily); ``done``
    only grows, so a display can show it against a total it knows itself.

    Attributes:
        done: Items finished, whatever their outcome.
        succeeded: Items created in this run.
        failed: Items certainly not created.
        skipped: Items a previous run had created already.
        uncertain: Items that may or may not have been created.
        in_flight: Requests sent whose answer has not arrived yet.
        bytes_sent: Request body bytes handed to the network (retries included).
        elsewhere: Items left to another live process sharing the journal
            (a PostgreSQL journal): that process sends and reports them;
            this run yields no outcome for them and does not count them in ``done``.
        stopped: Why the run stopped early (the circuit breaker tripped: the
            credentials were refused, or the server could not be reached),
            None while it runs normally. Items not yet sent stay pending.
    """

    done: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    uncertain: int = 0
    in_flight: int = 0
    bytes_sent: int = 0
    elsewhere: int = 0
    stopped: str | None = None
