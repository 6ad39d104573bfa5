"""``signing-async bulk-send MANIFEST``: send every row of a manifest, never one twice.

Exit status: 0 when every item succeeded (or was done by an earlier run),
1 when any failed or is uncertain (or the run broke off), 2 for bad usage
(options, configuration, an unreadable manifest or journal).
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import anyio
import click

from .._client import SigningClient
from .._core.bulk import BulkOutcome, BulkRun, InvalidItem, OnUncertain
from .._core.errors import ConfigurationError, ValidationError
from ..bulk import CSV_TYPES, FILE_FIELDS, read_manifest
from ._common import json_option, run_async
from ._output import Output
from ._progress import BulkProgressBar

__all__ = ["bulk_send"]

USAGE = 2
"""Exit status for bad usage, as click uses it."""

Start = Callable[..., BulkRun[Any]]


def _documents(client: SigningClient) -> Start:
    return client.documents.create_many


def _circuits(client: SigningClient) -> Start:
    return client.circuits.start_many


def _otp_signatures(client: SigningClient) -> Start:
    return client.otp_signatures.create_many


# provider -> (bulk namespace, what is sent, its environment variables, the bulk method)
_PROVIDERS: dict[str, tuple[str, str, str, Callable[[SigningClient], Start]]] = {
    "danasign": ("documents", "documents", "SIGNING_DANASIGN_*", _documents),
    "danaconnect": ("circuits", "circuits", "SIGNING_DANACONNECT_*", _circuits),
    "sofia": ("otp_signatures", "OTP signatures", "SIGNING_SOFIA_*", _otp_signatures),
}


def _beside(manifest: Path, suffix: str) -> Path:
    return manifest.with_name(f"{manifest.stem}{suffix}")


def _locate(manifest: Path, journal: Path | None, failures: Path | None) -> tuple[Path, Path, Path]:
    """The manifest, journal and failures file as absolute paths, defaults filled in.

    Raises:
        click.BadParameter: The journal's or the failures file's folder does not exist.
    """
    manifest = manifest.absolute()
    journal = journal if journal is not None else _beside(manifest, ".journal.db")
    failures = failures if failures is not None else _beside(manifest, ".failures.jsonl")
    for option, path in (("--journal", journal), ("--failures", failures)):
        if not path.absolute().parent.is_dir():
            raise click.BadParameter(f"no such folder: {path.absolute().parent}", param_hint=option)
    return manifest, journal, failures


def _count_rows(manifest: Path) -> int:
    """The manifest's items, as the readers see them (blank lines and the CSV header aside)."""
    if manifest.suffix.lower() == ".csv":
        with manifest.open(encoding="utf-8-sig", errors="replace", newline="") as stream:
            records = (cells for cells in csv.reader(stream) if any(c.strip() for c in cells))
            return max(sum(1 for _ in records) - 1, 0)
    with manifest.open("rb") as stream:
        return sum(1 for line in stream if line.strip())


class _FailureFile:
    """Failed and uncertain outcomes as JSON lines, renamed into place when complete.

    Lines go to a temporary file beside the target as outcomes arrive (a
    million-row run keeps none of them in memory); :meth:`commit` renames it
    over the target, so a reader never sees half a file, and the file always
    describes the last run (empty when nothing failed).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        # os.open rather than mkstemp: the file gets the usual permissions (umask), not 0600.
        self._temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
        descriptor = os.open(self._temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self._file: IO[str] = os.fdopen(descriptor, "w", encoding="utf-8")

    def add(self, outcome: BulkOutcome[Any]) -> None:
        record = {
            "key": outcome.key,
            "index": outcome.index,
            "status": outcome.status,
            "error": str(outcome.error) if outcome.error is not None else None,
        }
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.count += 1

    def commit(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._temporary, self.path)

    def discard(self) -> None:
        self._file.close()
        self._temporary.unlink(missing_ok=True)


def _guarded(items: Iterable[Any]) -> Iterator[Any]:
    # A manifest error that stops the run (a broken CSV header) is bad usage;
    # mark it so it is told apart from a failure of the run itself.
    try:
        yield from items
    except ValidationError as exc:
        raise _ManifestError(str(exc)) from None


class _ManifestError(Exception):
    """The manifest could not be read on."""


@click.command("bulk-send")
@click.argument(
    "manifest", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
)
@click.option(
    "--provider",
    type=click.Choice(sorted(_PROVIDERS)),
    required=True,
    help="danasign: documents; danaconnect: circuits; sofia: OTP signatures.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=256),
    default=8,
    show_default=True,
    help="Requests in flight at most.",
)
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite journal of the job [default: MANIFEST's name + .journal.db, beside it].",
)
@click.option(
    "--failures",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where failed and uncertain items go, as JSON lines"
    " [default: MANIFEST's name + .failures.jsonl, beside it].",
)
@click.option(
    "--on-uncertain",
    type=click.Choice(["report", "resend"]),
    default="report",
    show_default=True,
    help="What to do with items an earlier run may or may not have sent.",
)
@json_option
@run_async
async def bulk_send(
    out: Output,
    manifest: Path,
    provider: str,
    concurrency: int,
    journal: Path | None,
    failures: Path | None,
    on_uncertain: OnUncertain,
) -> int:
    """Send every item of MANIFEST (JSON Lines, or CSV by its .csv extension).

    Each line (CSV row) holds the keyword arguments of one single-item call:
    documents.create (danasign), circuits.start (danaconnect) or
    otp_signatures.create (sofia). File paths are relative to the manifest.
    Credentials come from SIGNING_* environment variables.

    The journal makes reruns safe: items done are skipped, failed ones sent
    again, and items a killed run left in flight are reported uncertain,
    never sent twice (unless --on-uncertain resend).

    Exit status: 0 all sent, 1 some failed or uncertain, 2 bad usage.
    """
    namespace, label, variables, method = _PROVIDERS[provider]
    try:
        manifest, journal, failures = _locate(manifest, journal, failures)
    except click.BadParameter as exc:
        out.error(exc.format_message())
        return USAGE
    try:
        # The bulk run grows the default transport's pool to the concurrency.
        client = SigningClient.from_env()
    except (ConfigurationError, ValidationError) as exc:
        out.error(f"{exc} (see the README for the {variables} environment variables)")
        return USAGE
    try:
        start = method(client)
    except ConfigurationError as exc:
        await client.aclose()
        out.error(f"{exc}: set the {variables} environment variables (see the README)")
        return USAGE
    try:
        rows = read_manifest(manifest, files=FILE_FIELDS[namespace], types=CSV_TYPES[namespace])
        # The first row is read now, so a broken header is reported before a
        # journal or a failures file is created.
        first = list(itertools.islice(rows, 1))
        items = itertools.chain(first, rows)
        total = await anyio.to_thread.run_sync(_count_rows, manifest)
    except (OSError, ValidationError) as exc:
        await client.aclose()
        out.error(f"cannot read the manifest: {exc}")
        return USAGE
    async with client:
        return await _send(
            out,
            start,
            _guarded(items),
            label=label,
            total=total,
            manifest=manifest,
            journal=journal,
            failures=failures,
            concurrency=concurrency,
            on_uncertain=on_uncertain,
        )


async def _send(
    out: Output,
    start: Start,
    items: Iterable[Any | InvalidItem],
    *,
    label: str,
    total: int,
    manifest: Path,
    journal: Path,
    failures: Path,
    concurrency: int,
    on_uncertain: OnUncertain,
) -> int:
    counts: Counter[str] = Counter()
    bar = BulkProgressBar(label, total=total, console=out.console, fancy=out.fancy)
    run = start(
        items,
        concurrency=concurrency,
        journal=journal,
        on_uncertain=on_uncertain,
        progress=None if out.json_mode else bar,
    )
    record = _FailureFile(failures)
    broken: str | None = None
    status = 0
    keep = True
    try:
        with bar if not out.json_mode else contextlib.nullcontext():
            async with run as outcomes:
                async for outcome in outcomes:
                    counts[outcome.status] += 1
                    if not outcome.ok:
                        record.add(outcome)
    except ConfigurationError as exc:  # the journal: another kind of job, or in use
        keep = False
        out.error(str(exc))
        return USAGE
    except _ManifestError as exc:
        broken = f"the manifest could not be read on: {exc}"
        status = 1
    except Exception as exc:  # the run broke off (the journal's disk, say): report what is done
        broken = f"the run stopped: {type(exc).__name__}: {exc}"
        status = 1
    finally:
        # Even when interrupted: the outcomes reported so far are true.
        if keep:
            record.commit()
        else:
            record.discard()
    if broken is not None:
        out.error(broken)
    done = sum(counts.values())
    if counts["failed"] or counts["uncertain"]:
        status = status or 1
    _summary(out, counts, done=done, manifest=manifest, journal=journal, failures=record)
    return status


def _summary(
    out: Output,
    counts: Counter[str],
    *,
    done: int,
    manifest: Path,
    journal: Path,
    failures: _FailureFile,
) -> None:
    statuses = ("succeeded", "skipped", "failed", "uncertain")
    if out.json_mode:
        out.emit(
            {
                "event": "summary",
                "manifest": str(manifest),
                "total": done,
                **{name: counts[name] for name in statuses},
                "journal": str(journal),
                "failures_file": str(failures.path),
            }
        )
        return
    rows = [(name, counts[name]) for name in statuses] + [("total", done)]
    out.table("bulk-send summary", ["status", "items"], rows)
    out.step(f"journal: {journal}")
    if failures.count:
        out.step(f"{failures.count} failed or uncertain items written to {failures.path}")
    if counts["uncertain"]:
        out.step(
            f"{counts['uncertain']} uncertain: they may exist at the provider. Check them,"
            " then rerun with --on-uncertain resend to send them anyway"
        )
