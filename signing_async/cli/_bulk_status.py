"""``signing-async bulk-status JOURNAL``: what a bulk job's journal holds, and a human's decisions.

One command for every journal store (:func:`open_store`, the four methods
of :class:`JournalStore`): the SQLite file a ``bulk-send`` writes, or a job
in a PostgreSQL journal (``postgresql://… --job NAME``), readable while
workers send it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

import attrs
import click

from .._core.bulk import JobStatus, JournalStore, SqliteJournalStore
from .._core.bulk._dsn import is_dsn
from .._core.bulk._status import Resolution
from .._core.errors import ConfigurationError, ValidationError
from ._common import FLEET_EXTRA, USAGE, UsageError, json_option, run_async, safe_journal
from ._output import Output

__all__ = ["bulk_status", "open_store"]

_STATES = ("pending", "in_flight", "succeeded", "failed", "uncertain")

# What the operator can do about an uncertain item, per kind of job: no
# provider documents a way to look an item up by the key the journal keeps.
_HOW_TO_CHECK = {
    "DANAsign documents": (
        "DANAsign's document lists do not carry metadata.externalId: look for the"
        " document's title in the DANAsign dashboard (or in `signing-async documents list"
        " STATUS`)"
    ),
    "DANAsign contacts": "look the e-mail up with `signing-async contacts list --search EMAIL`",
    "DANAconnect circuits": (
        "DANAconnect has no status endpoint: ask DANAconnect, or check whether the signer"
        " received the circuit's e-mail"
    ),
    "S.O.F.I.A. OTP signatures": (
        "S.O.F.I.A. has no status endpoint: ask whether the signer received the OTP for"
        " the transaction id"
    ),
}


async def open_store(journal: str, job: str | None = None) -> JournalStore:
    """The store behind ``journal``: a SQLite file, or a PostgreSQL job (DSN and ``job``).

    Raises:
        ConfigurationError: No such journal or job, not a journal, a SQLite
            journal in use by a run, or the fleet extra missing.
        UsageError: A DSN without ``job``, or ``job`` with a SQLite file.
    """
    if is_dsn(journal):
        if job is None:
            raise UsageError("--job", "a PostgreSQL journal holds many jobs: name one with --job")
        try:
            from .._core.bulk._pg_store import PostgresJournalStore
        except ImportError:
            raise ConfigurationError(FLEET_EXTRA) from None
        return await PostgresJournalStore.open(journal, job)
    if job is not None:
        raise UsageError("--job", "names a job in a PostgreSQL journal, not in a SQLite file")
    return await SqliteJournalStore.open(Path(journal))


def _parse(value: str) -> tuple[str, Resolution]:
    # rpartition: a key may itself hold "=" (an external id), the state never does.
    key, equals, state = value.rpartition("=")
    if not equals or not key or state not in ("succeeded", "failed"):
        raise UsageError("--resolve", f"expected KEY=succeeded or KEY=failed, not {value!r}")
    return key, cast("Resolution", state)


@click.command("bulk-status")
@click.argument("journal", required=False)
@click.option(
    "--journal",
    "journal_option",
    metavar="JOURNAL",
    help="The journal, as an option (the same as the JOURNAL argument).",
)
@click.option(
    "--job",
    metavar="NAME",
    help="The job, in a PostgreSQL journal (postgresql://...), which holds many.",
)
@click.option(
    "--uncertain",
    "list_uncertain",
    is_flag=True,
    help="List the items that may or may not exist, with when their request was sent.",
)
@click.option(
    "--resolve",
    "resolutions",
    multiple=True,
    metavar="KEY=succeeded|failed",
    help="Record what you found at the provider for an uncertain item: a rerun then"
    " skips it (succeeded) or sends it (failed). Repeatable.",
)
@json_option
@run_async
async def bulk_status(
    out: Output,
    journal: str | None,
    journal_option: str | None,
    job: str | None,
    list_uncertain: bool,
    resolutions: tuple[str, ...],
) -> int:
    """Show a bulk job's JOURNAL: items by state; list and resolve the uncertain ones.

    JOURNAL is the SQLite file bulk-send wrote (MANIFEST.journal.db by
    default; it cannot be read while a run is using it), or a PostgreSQL
    journal (postgresql://...) with --job NAME (readable at any time).

    An uncertain item's request was sent but never confirmed: it may exist
    at the provider. Check it there, then record what you found with
    --resolve KEY=succeeded (it exists: never sent again) or KEY=failed (it
    does not: the next run sends it). Or rerun bulk-send with --on-uncertain
    resend to send them all again.

    Exit status: 0 done, 2 bad usage (no such journal, an unknown key, a key
    that is not uncertain, a journal in use).
    """
    if (journal is None) == (journal_option is None):
        out.error("give the journal once: as JOURNAL or as --journal JOURNAL")
        return USAGE
    journal = journal if journal is not None else journal_option
    assert journal is not None
    try:
        decisions = [_parse(value) for value in resolutions]
    except ValidationError as exc:
        out.error(str(exc))
        return USAGE
    try:
        store = await open_store(journal, job)
    except (ConfigurationError, UsageError) as exc:
        out.error(str(exc))
        return USAGE
    try:
        for key, resolution in decisions:
            await store.resolve(key, resolution)
            then = "a rerun skips it" if resolution == "succeeded" else "a rerun sends it"
            out.step(f"{key}: resolved as {resolution}; {then}", key=key, resolution=resolution)
        status = await store.status()
        _show_status(out, journal, status)
        if list_uncertain:
            await _show_uncertain(out, store, status)
    except (ConfigurationError, ValidationError) as exc:
        out.error(str(exc))
        return USAGE
    finally:
        await store.aclose()
    return 0


def _show_status(out: Output, journal: str, status: JobStatus) -> None:
    counts = {state: getattr(status, state) for state in _STATES}
    if out.json_mode:
        out.emit(
            {"event": "status", "journal": safe_journal(journal), "kind": status.kind, **counts,
             "total": status.total}
        )  # fmt: skip
        return
    title = f"{safe_journal(journal)} ({status.kind})" if status.kind else safe_journal(journal)
    out.table(title, ["state", "items"], [*counts.items(), ("total", status.total)])
    unsure = status.uncertain + status.in_flight
    if unsure and not out.json_mode:
        out.step(
            f"{unsure} uncertain or in flight: list them with --uncertain, check them at the"
            " provider, then record what you found with --resolve KEY=succeeded|failed"
        )


async def _show_uncertain(out: Output, store: JournalStore, status: JobStatus) -> None:
    items = await store.uncertain()
    rows: Sequence[tuple[str, str, str, int, str]] = [
        (item.key, item.state, item.sent_at, item.attempts, item.error or "") for item in items
    ]
    if out.json_mode:
        for item in items:
            out.emit({"event": "uncertain", **attrs.asdict(item)})
        return
    out.table("uncertain items", ["key", "state", "sent_at", "attempts", "error"], rows)
    how = _HOW_TO_CHECK.get(status.kind or "")
    if items and how is not None:
        out.step(f"to check them: {how}")
