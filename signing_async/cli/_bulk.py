"""``signing-async bulk-send MANIFEST``: send every row of a manifest, never one twice.

Exit status: 0 when every item succeeded (or was done by an earlier run),
1 when any failed or is uncertain (or the run broke off), 2 for bad usage
(options, configuration, an unreadable manifest or journal), 3 when the
circuit breaker stopped the run (credentials or access refused, or the server
unreachable: the items not sent stay pending), 130 when interrupted.

Beside the journal ``X.journal.db`` (by default ``MANIFEST.journal.db``,
the manifest's whole name kept, so ``jobs.jsonl`` and ``jobs.csv`` never
share one) the run writes ``X.results.jsonl`` (every item's outcome and
provider id) and ``X.failures.jsonl`` (the failed and uncertain ones), each
only when it has something to hold.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import anyio
import click

from .. import _providers
from .._client import SigningClient
from .._core.bulk import (
    DEFAULT_CONNECT_FAILURES,
    BulkOutcome,
    BulkProgress,
    BulkRun,
    BulkStopped,
    InvalidItem,
    OnUncertain,
)
from .._core.bulk._dsn import is_dsn, safe_dsn
from .._core.errors import ConfigurationError, ValidationError
from .._core.streaming import temporary_beside
from ..bulk import csv_types, file_fields, read_manifest_numbered
from ..transports import AiohttpTransport
from ..transports._network import network_from_env
from ._common import FAILED, FLEET_EXTRA, STOPPED, USAGE, json_option, run_async, safe_journal
from ._output import Output, jsonable
from ._progress import BulkProgressBar

__all__ = ["bulk_send", "companion", "default_journal"]

Start = Callable[..., BulkRun[Any]]


class _ProviderChoice(click.Choice):  # type: ignore[type-arg]
    """The providers with a bulk method, read from the registry when the command runs."""

    def __init__(self) -> None:
        super().__init__([])

    @property  # type: ignore[override]
    def choices(self) -> list[str]:
        return sorted({provider.name for provider, _ in _providers.bulk_specs()})

    @choices.setter
    def choices(self, _: object) -> None:
        pass  # click.Choice.__init__ assigns it; the registry decides


def _provider_help() -> str:
    return (
        "; ".join(f"{provider.name}: {spec.label}" for provider, spec in _providers.bulk_specs())
        + "."
    )


JOURNAL_SUFFIX = ".journal.db"


def default_journal(manifest: Path) -> Path:
    """The journal a manifest gets unless told otherwise: its whole name + ``.journal.db``.

    The extension stays in the name, so ``jobs.jsonl`` and ``jobs.csv`` beside
    each other are two jobs with two journals.
    """
    return manifest.with_name(f"{manifest.name}{JOURNAL_SUFFIX}")


def companion(journal: Path, what: str) -> Path:
    """A file named after the journal: ``X.journal.db`` → ``X.<what>.jsonl``.

    Two jobs with two journals never write over each other's files.
    """
    name = journal.name
    base = name[: -len(JOURNAL_SUFFIX)] if name.endswith(JOURNAL_SUFFIX) else journal.stem
    return journal.with_name(f"{base or name}.{what}.jsonl")


def _locate(
    manifest: Path, journal: Path | None, failures: Path | None, results: Path | None
) -> tuple[Path, Path, Path, Path]:
    """The manifest, journal, failures and results files, defaults filled in.

    Raises:
        click.BadParameter: A folder does not exist, or the journal an earlier
            version named after the manifest's stem is there (its job would be
            sent again under the new name).
    """
    manifest = manifest.absolute()
    if journal is None:
        journal = default_journal(manifest)
        older = manifest.with_name(f"{manifest.stem}{JOURNAL_SUFFIX}")
        if older.exists() and not journal.exists():
            raise click.BadParameter(
                f"{older.name} (a journal named as earlier versions did) is beside the"
                f" manifest; pass --journal {older} to go on with that job, or move it away",
                param_hint="--journal",
            )
    failures = failures if failures is not None else companion(journal, "failures")
    results = results if results is not None else companion(journal, "results")
    for option, path in (("--journal", journal), ("--failures", failures), ("--results", results)):
        if not path.absolute().parent.is_dir():
            raise click.BadParameter(f"no such folder: {path.absolute().parent}", param_hint=option)
    # An output file written over the journal would lose the job's state (the
    # rerun would send everything again), over the manifest the job itself.
    taken = [("the manifest", manifest), ("--journal", journal)]
    taken += [(f"the journal's {end} file", _with_end(journal, end)) for end in _SQLITE_ENDS]
    for option, path in (("--failures", failures), ("--results", results)):
        for what, other in taken:
            if _same_file(path, other):
                raise click.BadParameter(
                    f"{path} is {what}; give the {option[2:]} a file of their own",
                    param_hint=option,
                )
        _check_writable(path, option)
        taken.append((option, path))
    return manifest, journal, failures, results


_SQLITE_ENDS = ("-wal", "-shm", "-journal")
"""The files SQLite keeps beside a database."""


def _with_end(path: Path, end: str) -> Path:
    return path.with_name(f"{path.name}{end}")


def _same_file(path: Path, other: Path) -> bool:
    """Whether two paths name one file: by name (links followed), or as one file on disk."""
    if path.resolve() == other.resolve():
        return True
    try:
        return os.path.samefile(path, other)  # a hard link
    except OSError:  # one of them does not exist (yet)
        return False


def _check_writable(path: Path, option: str) -> None:
    """Refuse, before anything is sent, an output file that could not be written at the end.

    Its records go to a temporary file beside it, then replace it: the folder
    must take a new file, and the name must fit (a long manifest name makes
    long default names).
    """
    folder = path.absolute().parent
    limit = 255  # the usual limit of bytes; Windows' is of UTF-16 units, and no pathconf
    if sys.platform == "win32":
        length = len(path.name)
    else:
        length = len(os.fsencode(path.name))
        with contextlib.suppress(ValueError, OSError):  # not told
            limit = os.pathconf(folder, "PC_NAME_MAX")
    if length > limit:
        raise click.BadParameter(
            f"the name {path.name!r} is longer than the {limit} bytes a file name may have here",
            param_hint=option,
        )
    probe = temporary_beside(path, ".tmp")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise click.BadParameter(
            f"cannot write in {folder}: {exc.strerror or exc}", param_hint=option
        ) from None
    probe.unlink(missing_ok=True)


def _count_rows(manifest: Path) -> int:
    """The manifest's items, as the readers see them (blank lines and the CSV header aside)."""
    if manifest.suffix.lower() == ".csv":
        with manifest.open(encoding="utf-8-sig", errors="replace", newline="") as stream:
            records = (cells for cells in csv.reader(stream) if any(c.strip() for c in cells))
            return max(sum(1 for _ in records) - 1, 0)
    with manifest.open("rb") as stream:
        return sum(1 for line in stream if line.strip())


class _RecordFile:
    """Outcome records as JSON lines, renamed into place when complete.

    Nothing is created until there is a record: a run with nothing to write
    leaves no file (and removes the one an earlier run left, which would
    describe that run, not this one). Lines go to a temporary file beside
    the target as outcomes arrive (a million-row run keeps none of them in
    memory); :meth:`commit` renames it over the target, so a reader never
    sees half a file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._temporary = temporary_beside(path, ".tmp")
        self._file: IO[str] | None = None

    def add(self, record: dict[str, Any]) -> None:
        if self._file is None:
            # os.open rather than mkstemp: the file gets the usual permissions (umask), not 0600.
            descriptor = os.open(self._temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            # backslashreplace: a manifest named in bytes that are not UTF-8 reaches
            # its records as lone surrogates, written as their escapes.
            self._file = os.fdopen(descriptor, "w", encoding="utf-8", errors="backslashreplace")
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.count += 1

    def commit(self) -> None:
        if self._file is None:
            self.path.unlink(missing_ok=True)
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._temporary, self.path)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._temporary.unlink(missing_ok=True)


class _Lines:
    """Each item's 1-based manifest line, by its index in the run, until its outcome.

    Only the items between being read and finishing are kept (about
    ``concurrency`` of them), whatever the manifest's size.
    """

    def __init__(self) -> None:
        self._lines: dict[int, int] = {}

    def items(self, numbered: Iterable[tuple[int, Any]]) -> Iterator[Any]:
        # The engine numbers items in the order it pulls them: the same order.
        for index, (line, item) in enumerate(numbered):
            self._lines[index] = line
            yield item

    def pop(self, index: int) -> int | None:
        return self._lines.pop(index, None)


def _record(
    outcome: BulkOutcome[Any], line: int | None, *, manifest: Path, id_field: str
) -> dict[str, Any]:
    """One item's outcome as the results file and ``--json`` print it."""
    error: str | None = None
    if outcome.error is not None:
        error = str(outcome.error)
        where = f"{manifest.name} line {line}"
        if line is not None and not error.startswith(where):
            error = f"{where}: {error}"
    result = outcome.result
    return {
        "key": outcome.key,
        "index": outcome.index,
        "line": line,
        "status": outcome.status,
        "id": getattr(result, id_field, None) if result is not None else None,
        "error": error,
        "result": jsonable(result),
    }


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
    type=_ProviderChoice(),
    required=True,
    help=_provider_help(),
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
    metavar="FILE|postgresql://...",
    help="The job's journal: a SQLite file [default: MANIFEST + .journal.db, beside it,"
    " e.g. jobs.csv.journal.db], or a PostgreSQL database shared with other"
    " processes (with --job).",
)
@click.option(
    "--job",
    metavar="NAME",
    help="The job's name in a PostgreSQL journal: every process given the same"
    " job shares its items, and none is sent twice.",
)
@click.option(
    "--submit",
    is_flag=True,
    help="With a PostgreSQL journal: store the items and queue them for"
    " `signing-async worker` processes, instead of sending them from here.",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="With --submit: items per chunk a worker takes at a time.",
)
@click.option(
    "--results",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where every item's outcome and provider id go, as JSON lines"
    " [default: X.results.jsonl for the journal X.journal.db].",
)
@click.option(
    "--failures",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where failed and uncertain items go, as JSON lines"
    " [default: X.failures.jsonl for the journal X.journal.db].",
)
@click.option(
    "--on-uncertain",
    type=click.Choice(["report", "resend"]),
    default="report",
    show_default=True,
    help="What to do with items an earlier run may or may not have sent.",
)
@click.option(
    "--stop-after-connect-failures",
    type=click.IntRange(min=1),
    default=DEFAULT_CONNECT_FAILURES,
    show_default=True,
    help="Stop the run after this many consecutive connection failures"
    " (refused credentials or access stop it at once).",
)
@json_option
@run_async
async def bulk_send(
    out: Output,
    manifest: Path,
    provider: str,
    concurrency: int,
    journal: str | None,
    job: str | None,
    submit: bool,
    chunk_size: int,
    results: Path | None,
    failures: Path | None,
    on_uncertain: OnUncertain,
    stop_after_connect_failures: int,
) -> int:
    """Send every item of MANIFEST (JSON Lines, or CSV by its .csv extension).

    Each line (CSV row) holds the keyword arguments of one single-item call:
    documents.create (danasign), circuits.start (danaconnect) or
    otp_signatures.create (sofia). File paths are relative to the manifest.
    Credentials come from SIGNING_* environment variables.

    The journal makes reruns safe: items done are skipped, failed ones sent
    again, and items a killed run left in flight are reported uncertain,
    never sent twice (unless --on-uncertain resend; see bulk-status).
    Refused credentials or access, or a run of connection failures, stop
    the run: the items not sent stay pending for the next run.

    With --json, one line per item (key, index, 1-based line, status,
    provider id, error), then a summary line.

    \b
    Exit status:
      0    every item sent (or done by an earlier run)
      1    some items failed or are uncertain, or the run broke off
      2    bad usage: options, configuration, manifest or journal
      3    stopped early: credentials or access refused, or the server
           unreachable; the items not sent stay pending
      130  interrupted (Ctrl-C)
    """
    spec = _providers.bulk_spec(provider)
    variables = f"{_providers.lookup(provider).env_prefix}*"
    shared = journal is not None and is_dsn(journal)
    if shared and not job:
        out.error("--job: a PostgreSQL journal holds many jobs: name this one with --job NAME")
        return USAGE
    if not shared and (job is not None or submit):
        out.error(f"{'--job' if job is not None else '--submit'} needs a PostgreSQL --journal")
        return USAGE
    try:
        manifest, file_journal, failures, results = _locate(
            manifest, None if shared or journal is None else Path(journal), failures, results
        )
    except click.BadParameter as exc:
        out.error(exc.format_message())
        return USAGE
    target: str | Path = journal if shared and journal is not None else file_journal
    if submit:
        assert job is not None
        return await _submit(out, str(target), provider, manifest, job=job, chunk_size=chunk_size)
    try:
        # The bulk run grows the transport's pool to the concurrency.
        transport = AiohttpTransport(**network_from_env())
        client = SigningClient.from_env(transport=transport)
    except (ConfigurationError, ValidationError) as exc:
        out.error(f"{exc} (see the README for the {variables} environment variables)")
        return USAGE
    try:
        start: Start = getattr(getattr(client, spec.namespace), spec.method)
    except ConfigurationError as exc:
        await client.aclose()
        out.error(f"{exc}: set the {variables} environment variables (see the README)")
        return USAGE
    lines = _Lines()
    try:
        numbered = read_manifest_numbered(
            manifest, files=file_fields(spec.request_type), types=csv_types(spec.request_type)
        )
        rows = lines.items(numbered)
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
            label=spec.label,
            total=total,
            manifest=manifest,
            lines=lines,
            id_field=spec.id_field,
            journal=target,
            job=job,
            failures=failures,
            results=results,
            concurrency=concurrency,
            on_uncertain=on_uncertain,
            stop_after_connect_failures=stop_after_connect_failures,
        )


async def _submit(
    out: Output, dsn: str, provider: str, manifest: Path, *, job: str, chunk_size: int
) -> int:
    """Store the manifest's items in the job and queue them for the workers."""
    try:
        from ..fleet import submit
    except ImportError:
        out.error(FLEET_EXTRA)
        return USAGE
    spec = _providers.bulk_spec(provider)
    items = (
        item
        for _, item in read_manifest_numbered(
            manifest, files=file_fields(spec.request_type), types=csv_types(spec.request_type)
        )
    )
    try:
        status = await submit(dsn, provider=provider, items=items, job=job, chunk_size=chunk_size)
    except (ConfigurationError, ValidationError, OSError) as exc:
        out.error(f"nothing was submitted: {exc}")
        return USAGE
    out.step(
        f"job {job!r}: {status.total} items stored in {safe_dsn(dsn)}, {status.pending} to send;"
        f" start `signing-async worker --journal ...` processes to send them",
        job=job,
        total=status.total,
        pending=status.pending,
    )
    return 0


async def _send(
    out: Output,
    start: Start,
    items: Iterable[Any | InvalidItem],
    *,
    label: str,
    total: int,
    manifest: Path,
    lines: _Lines,
    id_field: str,
    journal: str | Path,
    job: str | None,
    failures: Path,
    results: Path,
    concurrency: int,
    on_uncertain: OnUncertain,
    stop_after_connect_failures: int,
) -> int:
    counts: Counter[str] = Counter()
    bar = BulkProgressBar(label, total=total, console=out.console, fancy=out.fancy)
    latest = [BulkProgress()]

    def progress(snapshot: BulkProgress) -> None:
        latest[0] = snapshot
        if not out.json_mode:
            bar(snapshot)

    def interrupted() -> str:
        snapshot = latest[0]
        return (
            f"{snapshot.done} items done, {snapshot.in_flight} in flight when stopped"
            " (the journal keeps them in flight: the next run reports them uncertain;"
            f" see signing-async bulk-status {shown} --uncertain). Run the same"
            " command again to send the rest"
        )

    out.interrupt_hint = interrupted
    # How messages name the journal: never a DSN's password.
    shown = safe_journal(journal) + (f" --job {job}" if job is not None else "")
    run = start(
        items,
        concurrency=concurrency,
        journal=journal,
        job=job,
        on_uncertain=on_uncertain,
        progress=progress,
        stop_after_connect_failures=stop_after_connect_failures,
    )
    failure_file = _RecordFile(failures)
    result_file = _RecordFile(results)
    broken: str | None = None
    stopped: BulkStopped | None = None
    status = 0
    keep = True
    try:
        with bar if not out.json_mode else contextlib.nullcontext():
            async with run as outcomes:
                async for outcome in outcomes:
                    counts[outcome.status] += 1
                    record = _record(
                        outcome, lines.pop(outcome.index), manifest=manifest, id_field=id_field
                    )
                    result_file.add(record)
                    if not outcome.ok:
                        failure_file.add(record)
                    if out.json_mode:
                        out.emit({"event": "item", **record})
    except ConfigurationError as exc:  # the journal: another kind of job, or in use
        keep = False
        out.error(str(exc))
        return USAGE
    except BulkStopped as exc:
        stopped = exc
        status = STOPPED
    except _ManifestError as exc:
        broken = f"the manifest could not be read on: {exc}"
        status = FAILED
    except Exception as exc:  # the run broke off (the journal's disk, say): report what is done
        broken = f"the run stopped: {type(exc).__name__}: {exc}"
        status = FAILED
    finally:
        # Even when interrupted: the outcomes reported so far are true.
        for file in (failure_file, result_file):
            if keep:
                file.commit()
            else:
                file.discard()
    out.interrupt_hint = None
    if broken is not None:
        out.error(broken)
    done = sum(counts.values())
    pending = max(total - done, 0) if stopped is not None else 0
    if stopped is not None:
        out.error(
            f"{stopped} ({pending} items not sent stay pending: run the same command again"
            " once it is fixed)"
        )
    if counts["failed"] or counts["uncertain"]:
        status = status or FAILED
    _summary(
        out,
        counts,
        done=done,
        manifest=manifest,
        journal=shown,
        failures=failure_file,
        results=result_file,
        stopped=stopped,
        pending=pending,
    )
    return status


def _summary(
    out: Output,
    counts: Counter[str],
    *,
    done: int,
    manifest: Path,
    journal: str,
    failures: _RecordFile,
    results: _RecordFile,
    stopped: BulkStopped | None,
    pending: int,
) -> None:
    statuses = ("succeeded", "skipped", "failed", "uncertain")
    if out.json_mode:
        out.emit(
            {
                "event": "summary",
                "manifest": str(manifest),
                "total": done,
                **{name: counts[name] for name in statuses},
                "pending": pending,
                "stopped": stopped.reason if stopped is not None else None,
                "journal": journal,
                "results_file": str(results.path) if results.count else None,
                "failures_file": str(failures.path) if failures.count else None,
            }
        )
        return
    rows = [(name, counts[name]) for name in statuses]
    if stopped is not None:
        rows.append(("pending", pending))
    rows.append(("total", done))
    out.table("bulk-send summary", ["status", "items"], rows)
    out.step(f"journal: {journal}")
    if results.count:
        out.step(f"every item's outcome and provider id written to {results.path}")
    if failures.count:
        out.step(f"{failures.count} failed or uncertain items written to {failures.path}")
    if counts["uncertain"]:
        out.step(
            f"{counts['uncertain']} uncertain: they may exist at the provider. Check them"
            f" (signing-async bulk-status {journal} --uncertain), then record what you found"
            " with bulk-status --resolve KEY=succeeded|failed, or rerun with"
            " --on-uncertain resend to send them anyway"
        )
