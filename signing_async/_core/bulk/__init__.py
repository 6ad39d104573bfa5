"""The provider-agnostic bulk engine: lazy items, bounded concurrency, a journal.

Providers build their ``*_many`` methods on :func:`run_bulk` (one request per
item) or :func:`run_bulk_batches` (several items per request).
"""

from ._adapt import call_arguments, journal_record
from ._breaker import DEFAULT_CONNECT_FAILURES, BulkStopped, StopReason
from ._engine import OnUncertain
from ._items import InvalidItem
from ._journal import Journal, JournalOption, JournalSource
from ._outcome import BulkOutcome, Status
from ._progress import BulkProgress
from ._run import BulkOptions, BulkRun, run_bulk, run_bulk_batches
from ._status import JobStatus, JournalStore, SqliteJournalStore, UncertainItem

__all__ = [
    "DEFAULT_CONNECT_FAILURES",
    "BulkOptions",
    "BulkOutcome",
    "BulkProgress",
    "BulkRun",
    "BulkStopped",
    "InvalidItem",
    "JobStatus",
    "Journal",
    "JournalOption",
    "JournalSource",
    "JournalStore",
    "OnUncertain",
    "SqliteJournalStore",
    "Status",
    "StopReason",
    "UncertainItem",
    "call_arguments",
    "journal_record",
    "run_bulk",
    "run_bulk_batches",
]
