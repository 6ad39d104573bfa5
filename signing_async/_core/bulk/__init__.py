"""The provider-agnostic bulk engine: lazy items, bounded concurrency, a journal.

Providers build their ``*_many`` methods on :func:`run_bulk` (one request per
item) or :func:`run_bulk_batches` (several items per request).
"""

from ._adapt import call_arguments, journal_record
from ._engine import OnUncertain
from ._items import InvalidItem
from ._outcome import BulkOutcome, Status
from ._progress import BulkProgress
from ._run import BulkRun, run_bulk, run_bulk_batches

__all__ = [
    "BulkOutcome",
    "BulkProgress",
    "BulkRun",
    "InvalidItem",
    "OnUncertain",
    "Status",
    "call_arguments",
    "journal_record",
    "run_bulk",
    "run_bulk_batches",
]
