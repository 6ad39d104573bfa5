"""Bulk-sending tooling: manifest readers for the ``*_many`` methods.

The engine itself (lazy items, bounded concurrency, the journal) lives in the
core, under every provider; this package reads jobs from files::

    from signing_async.bulk import FILE_FIELDS, read_manifest

    items = read_manifest("jobs/circuits.jsonl", files=FILE_FIELDS["circuits"])
    async with client.circuits.start_many(items, journal="jobs/circuits.db") as outcomes:
        async for outcome in outcomes:
            ...
"""

from .._core.bulk import (
    BulkOutcome,
    BulkProgress,
    BulkRun,
    BulkStopped,
    InvalidItem,
    JobStatus,
    SqliteJournalStore,
    UncertainItem,
)
from ._manifest import (
    CSV_TYPES,
    FILE_FIELDS,
    csv_types,
    file_fields,
    read_csv,
    read_jsonl,
    read_manifest,
    read_manifest_numbered,
)

__all__ = [
    "CSV_TYPES",
    "FILE_FIELDS",
    "BulkOutcome",
    "BulkProgress",
    "BulkRun",
    "BulkStopped",
    "InvalidItem",
    "JobStatus",
    "SqliteJournalStore",
    "UncertainItem",
    "csv_types",
    "file_fields",
    "read_csv",
    "read_jsonl",
    "read_manifest",
    "read_manifest_numbered",
]
