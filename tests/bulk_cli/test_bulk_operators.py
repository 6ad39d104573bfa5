"""bulk-send and bulk-status for operators, in process (click's CliRunner) against a sandbox.

The command runs in a worker thread (it starts its own event loop, as from
a terminal) while the test's loop serves the sandbox.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import anyio
import attrs
import pytest

import signing_async as sa
import signing_async._client
from signing_async.sandbox import Fault, Sandbox
from signing_async.sandbox.danasign import DANASIGN

from ..cli_run import CliResult, run_cli_async
from .cli_support import (
    EXAMPLES,
    danasign_env,
    document_row,
    environment,
    read_jsonl,
    write_jsonl,
)

ROUTE = "danasign.createdocument"


@contextlib.asynccontextmanager
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox() as sb:
        yield sb


def danasign(sb: Sandbox, **overrides: str) -> dict[str, str]:
    return {
        "SIGNING_DANASIGN_SERVER_URL": sb.url,
        "SIGNING_DANASIGN_API_TOKEN": sb.credentials.danasign_api_token,
        **overrides,
    }


async def invoke(*args: str | Path, env: Mapping[str, str] | None = None) -> CliResult:
    """``signing-async ARGS`` in process: this environment without SIGNING_*, plus ``env``."""
    return await run_cli_async(*args, env=environment(**(env or {})))


def job(folder: Path, count: int) -> Path:
    """A manifest of ``count`` documents (keys doc-0…) beside the example PDFs."""
    shutil.copytree(EXAMPLES / "pdfs", folder / "pdfs")
    rows = [document_row(f"doc-{i}", f"pdfs/contract-{i % 3 + 1}.pdf") for i in range(count)]
    return write_jsonl(folder / "job.jsonl", rows)


def states(journal: Path) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(journal)) as db:
        return dict(db.execute("SELECT key, state FROM items").fetchall())


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- the circuit breaker ------------------------------------------------------


async def test_a_wrong_token_stops_the_run_and_a_rerun_with_the_right_one_sends_the_rest(
    tmp_path: Path,
) -> None:
    manifest = job(tmp_path, 30)
    journal = tmp_path / "job.jsonl.journal.db"
    async with sandbox() as sb:
        wrong = danasign(sb, SIGNING_DANASIGN_API_TOKEN="not-the-token")
        stopped = await invoke(
            "bulk-send", manifest, "--provider", "danasign", "--concurrency", "4", "--json",
            env=wrong,
        )  # fmt: skip
        refused = len(sb.requests_for(ROUTE))
        after_stop = states(journal)
        status = await invoke("bulk-status", journal, "--json")
        again = await invoke("bulk-send", manifest, "--provider", "danasign", env=danasign(sb))
        created = {f"doc-{i}": sb.created_count(f"doc-{i}") for i in range(30)}

    assert stopped.returncode == 3, stopped
    *items, summary = stopped.json_lines()
    # Only what was already on its way was sent: at most one request per worker.
    assert 1 <= refused <= 4
    assert len(items) == refused
    assert all(item["status"] == "failed" and "HTTP 405" in item["error"] for item in items)
    assert summary["stopped"] == "authentication"
    assert summary["failed"] == refused
    assert summary["pending"] == 30 - refused
    assert "refused the credentials" in stopped.stderr
    assert f"{30 - refused} items not sent stay pending" in stopped.stderr
    # The journal: the refused items failed, the others are pending or not even read.
    assert sorted(after_stop.values()).count("failed") == refused
    assert set(after_stop.values()) <= {"failed", "pending"}
    (counts,) = status.json_lines()
    assert counts["failed"] == refused
    assert counts["uncertain"] == counts["in_flight"] == counts["succeeded"] == 0

    assert again.returncode == 0, again
    assert "succeeded\t30" in again.stdout.splitlines()
    assert set(created.values()) == {1}  # every document exactly once


@attrs.frozen
class NoWaitRetry(sa.RetryPolicy):
    """The default policy, retrying at once: the waits prove nothing here."""

    backoff_initial: float = 0.0
    backoff_max: float = 0.0


async def test_an_unreachable_server_stops_the_run_after_the_threshold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The command runs in this process: its client takes the default policy from here.
    monkeypatch.setattr(signing_async._client, "RetryPolicy", NoWaitRetry)
    manifest = job(tmp_path, 20)
    journal = tmp_path / "job.jsonl.journal.db"
    async with sandbox() as sb:
        nowhere = danasign(sb, SIGNING_DANASIGN_SERVER_URL=f"http://127.0.0.1:{closed_port()}")
        stopped = await invoke(
            "bulk-send", manifest, "--provider", "danasign", "--concurrency", "1",
            "--stop-after-connect-failures", "3", env=nowhere,
        )  # fmt: skip
        after_stop = states(journal)
        failures = read_jsonl(tmp_path / "job.jsonl.failures.jsonl")
        again = await invoke("bulk-send", manifest, "--provider", "danasign", env=danasign(sb))
        created = {f"doc-{i}": sb.created_count(f"doc-{i}") for i in range(20)}

    assert stopped.returncode == 3, stopped
    assert "3 requests in a row could not connect" in stopped.stderr
    assert "17 items not sent stay pending" in stopped.stderr
    lines = stopped.stdout.splitlines()
    assert "failed\t3" in lines
    assert "pending\t17" in lines
    assert any(line.endswith("; stopped early") for line in lines)  # the progress line says so
    assert sorted(after_stop.values()) == ["failed"] * 3  # the rest was never read
    assert [(r["key"], r["line"]) for r in failures] == [("doc-0", 1), ("doc-1", 2), ("doc-2", 3)]

    assert again.returncode == 0, again
    assert set(created.values()) == {1}
    assert not (tmp_path / "job.jsonl.failures.jsonl").exists()  # it described the last run


# -- per-item output, lines, companion files ----------------------------------

CSV_HEADER = (
    "metadata.external_id,file,title,signers.0.role,signers.0.name,signers.0.email,"
    "placeholders.0.role,placeholders.0.widgets.0.type,placeholders.0.widgets.0.page,"
    "placeholders.0.widgets.0.x,placeholders.0.widgets.0.y,placeholders.0.widgets.0.w,"
    "placeholders.0.widgets.0.h"
)


def csv_row(key: str, email: str) -> str:
    box = "Client,signature,1,72,680,200,60"
    return f"{key},pdfs/contract-1.pdf,Contract {key},Client,Ana,{email},{box}"


async def test_json_prints_one_line_per_item_with_its_1_based_line_and_provider_id(
    tmp_path: Path,
) -> None:
    shutil.copytree(EXAMPLES / "pdfs", tmp_path / "pdfs")
    manifest = tmp_path / "jobs.csv"
    # Line 1 the header, 3 blank, 5 a quoted title over two lines.
    manifest.write_text(
        "\n".join([
            CSV_HEADER,
            csv_row("a", "a@example.com"),
            "",
            csv_row("b", "not-an-email"),
            csv_row("c", "c@example.com").replace("Contract c", '"Contract\nc"'),
            csv_row("d", "d@example.com"),
        ]) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    async with sandbox() as sb:
        result = await invoke("bulk-send", manifest, "--provider", "danasign", "--json",
                              env=danasign(sb))  # fmt: skip
        documents = sb.app[DANASIGN].documents.values()
        ids = {key: [d.document_id for d in documents if d.external_id == key] for key in "acd"}

    assert result.returncode == 1, result
    *items, summary = result.json_lines()
    by_key = {item["key"]: item for item in items}
    assert sorted((i["index"], i["key"], i["line"], i["status"]) for i in items) == [
        (0, "a", 2, "succeeded"),
        (1, "b", 4, "failed"),
        (2, "c", 5, "succeeded"),
        (3, "d", 7, "succeeded"),
    ]
    assert all(item["event"] == "item" for item in items)
    for key in "acd":
        assert [by_key[key]["id"]] == ids[key]
        assert by_key[key]["error"] is None
    assert by_key["b"]["id"] is None
    assert by_key["b"]["error"].startswith("jobs.csv line 4: signers[0].email: ")
    assert summary["event"] == "summary"
    assert summary["results_file"] == str(tmp_path / "jobs.csv.results.jsonl")
    assert summary["failures_file"] == str(tmp_path / "jobs.csv.failures.jsonl")
    # The files hold the same records.
    results = read_jsonl(tmp_path / "jobs.csv.results.jsonl")
    assert sorted(r["key"] for r in results) == ["a", "b", "c", "d"]
    assert [r["key"] for r in read_jsonl(tmp_path / "jobs.csv.failures.jsonl")] == ["b"]


async def test_companion_files_follow_the_journal_and_appear_only_when_needed(
    tmp_path: Path,
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "job")
    folder = tmp_path / "job"
    async with sandbox() as sb:
        env = danasign(sb)
        jsonl = await invoke("bulk-send", folder / "documents.jsonl", "--provider", "danasign",
                             env=env)  # fmt: skip
        csv = await invoke("bulk-send", folder / "documents.csv", "--provider", "danasign",
                           env=env)  # fmt: skip
        (folder / "other.failures.jsonl").write_text('{"stale": true}\n')
        other = await invoke("bulk-send", folder / "documents.jsonl", "--provider", "danasign",
                             "--journal", folder / "other.db", env=env)  # fmt: skip
        sent = len(sb.requests_for(ROUTE))

    assert (jsonl.returncode, csv.returncode, other.returncode) == (0, 0, 0)
    # Two manifests, two journals: the CSV was not "skipped" as done by the JSONL job.
    assert "succeeded\t3" in csv.stdout.splitlines()
    assert sent == 9
    assert sorted(p.name for p in folder.iterdir()) == [
        "documents.csv",
        "documents.csv.journal.db",
        "documents.csv.results.jsonl",
        "documents.jsonl",
        "documents.jsonl.journal.db",
        "documents.jsonl.results.jsonl",
        "other.db",
        "other.results.jsonl",  # and no failures file: nothing failed (the stale one is gone)
        "pdfs",
    ]


async def test_a_journal_named_as_earlier_versions_did_is_not_silently_ignored(
    tmp_path: Path,
) -> None:
    manifest = job(tmp_path, 2)
    (tmp_path / "job.journal.db").write_bytes(b"")
    async with sandbox() as sb:
        result = await invoke("bulk-send", manifest, "--provider", "danasign", env=danasign(sb))
        sent = len(sb.requests_for(ROUTE))
    assert result.returncode == 2
    assert "--journal" in result.stderr
    assert str(tmp_path / "job.journal.db") in result.stderr
    assert sent == 0


# -- bulk-status ---------------------------------------------------------------


async def test_bulk_status_lists_uncertain_items_and_records_a_decision(tmp_path: Path) -> None:
    manifest = job(tmp_path, 4)
    journal = tmp_path / "job.jsonl.journal.db"
    async with sandbox() as sb:
        env = danasign(sb)
        # doc-1 and doc-2: created, but the connection drops before the answer.
        sb.faults.add(Fault(route=ROUTE, drop="after", times=2, latency=0.0))
        first = await invoke("bulk-send", manifest, "--provider", "danasign", "--concurrency",
                             "1", env=env)  # fmt: skip
        counts = await invoke("bulk-status", "--journal", journal)
        listed = await invoke("bulk-status", journal, "--uncertain", "--json")
        resolved = await invoke("bulk-status", journal, "--resolve", "doc-0=succeeded",
                                "--resolve", "doc-1=failed")  # fmt: skip
        rerun = await invoke("bulk-send", manifest, "--provider", "danasign", "--json", env=env)
        created = {f"doc-{i}": sb.created_count(f"doc-{i}") for i in range(4)}

    assert first.returncode == 1
    lines = counts.stdout.splitlines()
    assert counts.returncode == 0
    assert lines[0] == "state\titems"
    assert {"uncertain\t2", "succeeded\t2", "total\t4", "pending\t0"} <= set(lines)
    assert "--resolve KEY=succeeded|failed" in counts.stdout

    status, *uncertain = listed.json_lines()
    assert (status["event"], status["uncertain"], status["kind"]) == (
        "status", 2, "DANAsign documents",
    )  # fmt: skip
    assert [(u["event"], u["key"], u["state"], u["attempts"]) for u in uncertain] == [
        ("uncertain", "doc-0", "uncertain", 1),
        ("uncertain", "doc-1", "uncertain", 1),
    ]
    assert all(u["sent_at"].startswith("20") and "T" in u["sent_at"] for u in uncertain)

    assert resolved.returncode == 0, resolved
    assert "doc-0: resolved as succeeded; a rerun skips it" in resolved.stdout
    assert "uncertain\t0" in resolved.stdout.splitlines()
    assert rerun.returncode == 0, rerun
    outcomes = {i["key"]: i["status"] for i in rerun.json_lines() if i["event"] == "item"}
    assert outcomes == {"doc-0": "skipped", "doc-1": "succeeded", "doc-2": "skipped",
                        "doc-3": "skipped"}  # fmt: skip
    # doc-1 was said not to exist, so it was sent again: the operator's call.
    assert created == {"doc-0": 1, "doc-1": 2, "doc-2": 1, "doc-3": 1}


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--resolve", "doc-0"], "expected KEY=succeeded or KEY=failed"),
        (["--resolve", "doc-0=maybe"], "expected KEY=succeeded or KEY=failed"),
        (["--resolve", "nobody=failed"], "'nobody' is not in the journal"),
        (["--resolve", "doc-0=failed"], "'doc-0' is succeeded, not uncertain"),
    ],
)
async def test_bulk_status_refuses_bad_decisions(
    tmp_path: Path, args: list[str], problem: str
) -> None:
    manifest = job(tmp_path, 1)
    journal = tmp_path / "job.jsonl.journal.db"
    async with sandbox() as sb:
        await invoke("bulk-send", manifest, "--provider", "danasign", env=danasign(sb))
    before = states(journal)
    result = await invoke("bulk-status", journal, *args)
    assert result.returncode == 2
    assert problem in result.stderr
    assert states(journal) == before


FOREIGN_DATABASE = """
import os, sqlite3, sys
wal = sys.argv[2] == "wal"
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA application_id = 1234")
if wal:
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA wal_autocheckpoint = 0")
db.executescript('''
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items (key TEXT PRIMARY KEY, state TEXT, attempts INTEGER,
                    updated_at TEXT, error TEXT, result TEXT);
INSERT INTO meta VALUES ('schema', '1'), ('kind', 'inventory');
INSERT INTO items VALUES ('sku-1', 'uncertain', 3, '2024-01-01', 'theirs', NULL);
''')
if wal:
    os.kill(os.getpid(), 9)  # its -wal and -shm stay, as a killed writer leaves them
"""
"""Another program's SQLite database with the journal's very tables (argv: path, plain|wal)."""


def _contents(folder: Path) -> dict[str, bytes | None]:
    # The -shm file is SQLite's index of the -wal in shared memory, which any
    # reader (a run's inspection too) may rebuild; the data is the rest.
    return {
        path.name: None if path.name.endswith("-shm") else path.read_bytes()
        for path in folder.iterdir()
    }


@pytest.mark.parametrize("mode", ["plain", "wal"])
async def test_bulk_status_leaves_another_programs_database_untouched(
    tmp_path: Path, mode: str
) -> None:
    # A run refuses such a file without writing to it, and so must
    # bulk-status, even asked to resolve one of its rows.
    other = tmp_path / "inventory.db"
    with anyio.fail_after(60):  # a bound on a hang, not a measure
        await anyio.run_process(
            [sys.executable, "-c", FOREIGN_DATABASE, str(other), mode], check=False
        )
    before = _contents(tmp_path)
    assert ("inventory.db-wal" in before) == (mode == "wal")

    result = await invoke("bulk-status", other, "--resolve", "sku-1=succeeded")

    assert result.returncode == 2
    assert "is not a journal" in result.stderr
    assert _contents(tmp_path) == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
async def test_a_fifo_given_as_the_journal_is_refused_without_waiting(tmp_path: Path) -> None:
    # Opened to be inspected, a FIFO would hold the command until a writer came.
    fifo = tmp_path / "job.db"
    os.mkfifo(fifo)
    manifest = job(tmp_path, 1)

    done = threading.Event()

    def let_go() -> None:
        # After 30 s (a bound on a hang, not a measure), any reader left waiting
        # (the bug) is let go, again and again: the test fails instead of hanging.
        if done.wait(30):
            return
        while not done.wait(0.2):
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    watchdog = threading.Thread(target=let_go, daemon=True)
    watchdog.start()
    try:
        status = await invoke("bulk-status", fifo)
        send = await invoke(
            "bulk-send", manifest, "--provider", "danasign", "--journal", fifo,
            env=danasign_env("http://127.0.0.1:9"),
        )  # fmt: skip
    finally:
        done.set()
    for result in (status, send):
        assert result.returncode == 2
        assert "not a regular file" in result.stderr


async def test_bulk_status_of_a_missing_or_foreign_file_is_bad_usage(tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_text("not a database " * 50)
    missing = await invoke("bulk-status", tmp_path / "nowhere.db")
    foreign = await invoke("bulk-status", tmp_path / "notes.db")
    assert (missing.returncode, foreign.returncode) == (2, 2)
    assert "no journal at" in missing.stderr
    neither = await invoke("bulk-status")
    assert neither.returncode == 2
    assert "give the journal once" in neither.stderr
    assert "is not a journal" in foreign.stderr
    assert not (tmp_path / "nowhere.db").exists()  # nothing created
