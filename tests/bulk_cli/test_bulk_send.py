"""``signing-async bulk-send`` in process, against a sandbox in another process."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..sandbox_child import control, sandbox_process
from .cli_support import (
    bulk_send,
    danasign_env,
    document_row,
    environment,
    example_job,
    names,
    read_jsonl,
    sent_ids,
    write_jsonl,
)

EXAMPLE_IDS = ["contract-2025-001", "contract-2025-002", "contract-2025-003"]


async def test_a_clean_run_exits_0_and_a_rerun_skips_everything(tmp_path: Path) -> None:
    manifest = example_job(tmp_path)
    async with sandbox_process(tmp_path) as url:
        env = danasign_env(url)
        first = await bulk_send(manifest, "--provider", "danasign", "--concurrency", "2", env=env)
        after_first = await sent_ids(url)
        results = manifest.with_name("documents.jsonl.results.jsonl")
        first_results = sorted(read_jsonl(results), key=lambda record: record["index"])
        again = await bulk_send(manifest, "--provider", "danasign", "--json", env=env)
        after_again = await sent_ids(url)

    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert any(line.startswith("documents: 3/3 done (100%): 3 ok, 0 failed") for line in lines)
    assert "succeeded\t3" in lines
    assert "failed\t0" in lines
    journal = manifest.with_name("documents.jsonl.journal.db")
    assert f"journal: {journal}" in lines
    assert sorted(after_first) == EXAMPLE_IDS
    assert not manifest.with_name("documents.jsonl.failures.jsonl").exists()  # nothing failed
    assert journal.is_file()
    assert [(r["key"], r["line"], r["status"]) for r in first_results] == [
        (key, line, "succeeded") for line, key in enumerate(EXAMPLE_IDS, 1)
    ]
    assert all(r["id"] and r["id"] == r["result"]["document_id"] for r in first_results)

    assert again.returncode == 0, again.stderr
    *items, summary = [json.loads(line) for line in again.stdout.splitlines()]
    assert summary == {
        "event": "summary",
        "manifest": str(manifest),
        "total": 3,
        "succeeded": 0,
        "skipped": 3,
        "failed": 0,
        "uncertain": 0,
        "pending": 0,
        "stopped": None,
        "journal": str(journal),
        "results_file": str(results),
        "failures_file": None,
    }
    # One line per item, with the id the first run recorded.
    assert sorted((i["event"], i["key"], i["status"], i["id"]) for i in items) == sorted(
        ("item", r["key"], "skipped", r["id"]) for r in first_results
    )
    assert after_again == after_first  # nothing sent again


async def test_bad_rows_exit_1_and_land_in_the_failures_file(tmp_path: Path) -> None:
    job = example_job(tmp_path).parent
    (job / "pdfs" / "notes.pdf").write_text("meeting notes, not a PDF")
    manifest = write_jsonl(
        job / "mixed.jsonl",
        [
            document_row("good-1", "pdfs/contract-1.pdf"),
            document_row("missing", "pdfs/nowhere.pdf"),
            document_row("not-pdf", "pdfs/notes.pdf"),
            document_row("bad-email", "pdfs/contract-2.pdf", email="ana.example.com"),
            document_row("good-2", "pdfs/contract-3.pdf"),
        ],
    )
    with manifest.open("a") as out:
        out.write("{not json\n")
    async with sandbox_process(tmp_path) as url:
        result = await bulk_send(manifest, "--provider", "danasign", env=danasign_env(url))
        sent = await sent_ids(url)

    assert result.returncode == 1
    assert sorted(sent) == ["good-1", "good-2"]  # bad rows never reach the server
    lines = result.stdout.splitlines()
    assert "succeeded\t2" in lines
    assert "failed\t4" in lines
    failures = job / "mixed.jsonl.failures.jsonl"
    assert f"4 failed or uncertain items written to {failures}" in lines
    records = sorted(read_jsonl(failures), key=lambda record: record["index"])
    assert [(r["key"], r["index"], r["line"], r["status"]) for r in records] == [
        ("missing", 1, 2, "failed"),
        ("not-pdf", 2, 3, "failed"),
        ("bad-email", 3, 4, "failed"),
        (None, 5, 6, "failed"),
    ]
    assert records[0]["error"].startswith("mixed.jsonl line 2: file: ")
    assert "nowhere.pdf" in records[0]["error"]
    assert records[1]["error"] == (
        "mixed.jsonl line 3: file: notes.pdf is not a PDF (it does not start with %PDF-)"
    )
    assert records[2]["error"] == (
        "mixed.jsonl line 4: signers[0].email: not a valid e-mail address: 'ana.example.com'"
    )
    assert records[3]["error"].startswith("mixed.jsonl line 6: not valid JSON")
    assert not list(job.glob(".*.tmp"))  # the temporary file was renamed into place


async def test_a_big_run_prints_a_few_progress_lines_and_json_counts(tmp_path: Path) -> None:
    job = example_job(tmp_path).parent
    rows = [document_row(f"doc-{i}", "pdfs/contract-1.pdf") for i in range(40)]
    rows[17]["signers"][0]["email"] = "broken"
    manifest = write_jsonl(job / "big.jsonl", rows)
    failures = tmp_path / "elsewhere.jsonl"
    async with sandbox_process(tmp_path) as url:
        env = danasign_env(url)
        plain = await bulk_send(
            manifest, "--provider", "danasign", "--journal", job / "a.db", env=env
        )
        json_run = await bulk_send(
            manifest, "--provider", "danasign", "--journal", job / "b.db",
            "--failures", failures, "--json", env=env,
        )  # fmt: skip

    assert plain.returncode == 1
    progress = [line for line in plain.stdout.splitlines() if line.startswith("documents:")]
    assert 2 <= len(progress) <= 11  # about every 10 %, not one line per item
    assert progress[-1].startswith("documents: 40/40 done (100%): 39 ok, 1 failed, 0 uncertain")

    assert json_run.returncode == 1
    *items, summary = [json.loads(line) for line in json_run.stdout.splitlines()]
    assert len(items) == 40
    assert (summary["total"], summary["succeeded"], summary["failed"]) == (40, 39, 1)
    assert summary["failures_file"] == str(failures)
    (record,) = read_jsonl(failures)
    assert (record["key"], record["index"], record["status"]) == ("doc-17", 17, "failed")
    # Each run's companions are named after its journal: a.db, b.db.
    assert [r["key"] for r in read_jsonl(job / "a.failures.jsonl")] == ["doc-17"]
    assert len(read_jsonl(job / "a.results.jsonl")) == 40
    assert len(read_jsonl(job / "b.results.jsonl")) == 40


async def test_an_unconfirmed_document_is_uncertain_and_never_resent(tmp_path: Path) -> None:
    manifest = example_job(tmp_path)
    async with sandbox_process(tmp_path) as url:
        env = danasign_env(url)
        fault = {"route": "danasign.createdocument", "drop": "after", "times": 1}
        await control(url, "POST", "faults", fault)
        first = await bulk_send(manifest, "--provider", "danasign", "--concurrency", "1", env=env)
        again = await bulk_send(manifest, "--provider", "danasign", "--json", env=env)
        sent = await sent_ids(url)

    assert first.returncode == 1
    (record,) = read_jsonl(manifest.with_name("documents.jsonl.failures.jsonl"))
    assert (record["key"], record["status"]) == ("contract-2025-001", "uncertain")
    assert "uncertain\t1" in first.stdout.splitlines()
    assert "--on-uncertain resend" in first.stdout

    assert again.returncode == 1
    summary = json.loads(again.stdout.splitlines()[-1])
    assert (summary["skipped"], summary["uncertain"], summary["succeeded"]) == (2, 1, 0)
    assert sorted(sent) == EXAMPLE_IDS  # each sent once, the uncertain one included
    (record,) = read_jsonl(manifest.with_name("documents.jsonl.failures.jsonl"))
    assert "in flight" not in record["error"]
    assert "could not confirm it" in record["error"]


async def test_bad_usage_exits_2(tmp_path: Path) -> None:
    manifest = example_job(tmp_path)
    nowhere = danasign_env("http://127.0.0.1:9")  # never called: every run stops before sending
    (tmp_path / "not-a-journal.db").write_text("plain text " * 100)
    broken_csv = tmp_path / "broken.csv"
    broken_csv.write_text("file,file\npdfs/a.pdf,pdfs/b.pdf\n")

    no_provider = await bulk_send(manifest, env=nowhere)
    unconfigured = await bulk_send(manifest, "--provider", "danasign", env=environment())
    no_folder = await bulk_send(
        manifest, "--provider", "danasign", "--failures", tmp_path / "no" / "f.jsonl", env=nowhere
    )
    bad_journal = await bulk_send(
        manifest, "--provider", "danasign", "--journal", tmp_path / "not-a-journal.db", env=nowhere
    )
    bad_header = await bulk_send(broken_csv, "--provider", "danasign", env=nowhere)

    assert no_provider.returncode == 2
    assert "--provider" in no_provider.stderr
    assert unconfigured.returncode == 2
    assert "SIGNING_DANASIGN_*" in unconfigured.stderr
    assert no_folder.returncode == 2
    assert "no such folder" in no_folder.stderr
    assert bad_journal.returncode == 2
    assert "is not a journal" in bad_journal.stderr
    assert bad_header.returncode == 2
    assert "column 'file' appears twice" in bad_header.stderr
    # Bad usage leaves no file behind: no journal, no failures file.
    assert names(manifest.parent) == ["documents.csv", "documents.jsonl", "pdfs"]
    assert names(tmp_path) == ["broken.csv", "job", "not-a-journal.db"]


def _contents(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


async def test_an_output_file_that_is_the_journal_or_the_manifest_is_refused(
    tmp_path: Path,
) -> None:
    # Written over, the journal would lose the job's state (a rerun would send
    # everything again), the manifest the job itself.
    manifest = example_job(tmp_path)
    job = manifest.parent
    journal = job / "state.db"
    async with sandbox_process(tmp_path) as url:
        env = danasign_env(url)
        first = await bulk_send(manifest, "--provider", "danasign", "--journal", journal, env=env)
        before = _contents(job)
        (job / "linked.db").hardlink_to(journal)
        before["linked.db"] = before["state.db"]
        attempts = [
            ("--failures", journal),
            ("--results", journal),
            ("--failures", job / "linked.db"),  # the same file under another name
            ("--results", manifest),
            ("--failures", job / ".." / "job" / "documents.jsonl"),
            ("--results", job / "state.db-wal"),
        ]
        refused = [
            await bulk_send(
                manifest, "--provider", "danasign", "--journal", journal, option, path, env=env
            )
            for option, path in attempts
        ]
        same = await bulk_send(
            manifest, "--provider", "danasign", "--journal", journal,
            "--results", job / "out.jsonl", "--failures", job / "out.jsonl", env=env,
        )  # fmt: skip
        sent = await sent_ids(url)

    assert first.returncode == 0, first.stderr
    for (option, _), result in zip(attempts, refused, strict=True):
        assert result.returncode == 2, (option, result.stdout, result.stderr)
        assert option in result.stderr
        assert "a file of their own" in result.stderr
    assert same.returncode == 2
    assert "is --failures" in same.stderr
    assert _contents(job) == before  # nothing written over, nothing new
    assert sorted(sent) == EXAMPLE_IDS  # each sent once, by the first run


async def test_a_long_manifest_name_runs_or_is_refused_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    job = example_job(tmp_path).parent
    rows = (job / "documents.jsonl").read_text()
    # 236 bytes: its journal and results names fit in 255, and the temporary
    # file a results file is written through used to be 18 bytes too long.
    fits = job / ("m" * 230 + ".jsonl")
    fits.write_text(rows)
    # 243 bytes: the journal's name fits, the failures and results files' cannot.
    too_long = job / ("n" * 237 + ".jsonl")
    too_long.write_text(rows)
    async with sandbox_process(tmp_path) as url:
        env = danasign_env(url)
        refused = await bulk_send(too_long, "--provider", "danasign", env=env)
        sent_before = await sent_ids(url)
        ran = await bulk_send(fits, "--provider", "danasign", env=env)
        sent = await sent_ids(url)

    assert refused.returncode == 2
    assert "--failures" in refused.stderr
    assert "longer than the 255 bytes" in refused.stderr
    assert sent_before == []
    assert not any(name.startswith("n") and name != too_long.name for name in names(job))
    assert ran.returncode == 0, ran.stderr
    assert sorted(sent) == EXAMPLE_IDS
    results = read_jsonl(fits.with_name(f"{fits.name}.results.jsonl"))
    assert sorted(record["key"] for record in results) == EXAMPLE_IDS
    assert not [name for name in names(job) if name.endswith(".tmp")]


async def test_a_manifest_named_in_bytes_that_are_not_utf8_gets_its_failures_written(
    tmp_path: Path,
) -> None:
    # The name reaches the records as lone surrogates (surrogateescape); the
    # failures file, UTF-8, takes their escapes instead of stopping the run.
    job = example_job(tmp_path).parent
    manifest = job / os.fsdecode(b"lote-\xe9.jsonl")
    write_jsonl(manifest, [document_row("missing", "pdfs/nowhere.pdf")])
    async with sandbox_process(tmp_path) as url:
        result = await bulk_send(manifest, "--provider", "danasign", env=danasign_env(url))

    assert result.returncode == 1, result.stderr
    failures = manifest.with_name(f"{manifest.name}.failures.jsonl")
    (record,) = read_jsonl(failures)
    assert (record["key"], record["status"]) == ("missing", "failed")
    assert record["error"].startswith("lote-\udce9.jsonl line 1: ")  # the escape, read back
