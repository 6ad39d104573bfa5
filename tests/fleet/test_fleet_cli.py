"""The fleet on the command line: a PostgreSQL journal, --submit, worker, bulk-status."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from signing_async.sandbox import Sandbox

from ..bulk_cli.cli_support import danasign_env, document_row, write_jsonl
from ..cli_run import run_cli_async
from ..conftest import MINIMAL_PDF
from .waiting import wait_until_done


def manifest(folder: Path, count: int) -> Path:
    (folder / "contract.pdf").write_bytes(MINIMAL_PDF)
    rows = [document_row(f"doc-{index}", "contract.pdf") for index in range(count)]
    return write_jsonl(folder / "job.jsonl", rows)


async def test_bulk_send_shares_a_postgres_job_and_bulk_status_reads_it(
    dsn: str, tmp_path: Path
) -> None:
    jobs = manifest(tmp_path, 6)
    async with Sandbox() as sb:
        env = danasign_env(sb.url)
        args = ("--provider", "danasign", "--journal", dsn, "--job", "march", "--json")
        first = await run_cli_async("bulk-send", jobs, *args, env=env)
        assert first.returncode == 0, first
        summary = first.json_lines()[-1]
        assert (summary["succeeded"], summary["total"]) == (6, 6)
        assert summary["journal"] == f"{dsn} --job march"

        again = await run_cli_async("bulk-send", jobs, *args, env=env)
        assert again.json_lines()[-1]["skipped"] == 6
        assert all(sb.created_count(f"doc-{index}") == 1 for index in range(6))

    status = await run_cli_async(
        "bulk-status", "--journal", dsn, "--job", "march", "--json", env=env
    )
    assert status.returncode == 0, status
    (line,) = status.json_lines()
    assert (line["succeeded"], line["total"], line["kind"]) == (6, 6, "DANAsign documents")


async def test_submit_then_a_worker_process_sends_the_job_and_stops_on_sigterm(
    dsn: str, tmp_path: Path
) -> None:
    jobs = manifest(tmp_path, 12)
    async with Sandbox() as sb:
        env = danasign_env(sb.url)
        submitted = await run_cli_async(
            "bulk-send", jobs, "--provider", "danasign", "--journal", dsn,
            "--job", "april", "--submit", "--chunk-size", "5", env=env,
        )  # fmt: skip
        assert submitted.returncode == 0, submitted
        assert "12 items stored" in submitted.stdout
        assert sum(sb.created_count(f"doc-{index}") for index in range(12)) == 0

        worker = await anyio.open_process(
            [sys.executable, "-m", "signing_async.cli", "worker", "--journal", dsn,
             "--concurrency", "4"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            done = await wait_until_done(dsn, "april")
            assert done.succeeded == 12
            worker.send_signal(signal.SIGTERM)
            with anyio.fail_after(30):  # a bound on a hang, not a measure
                await worker.wait()
        finally:
            if worker.returncode is None:
                worker.kill()
        assert worker.returncode == 0
        assert all(sb.created_count(f"doc-{index}") == 1 for index in range(12))


async def test_fleet_options_are_checked_before_anything_is_sent(dsn: str, tmp_path: Path) -> None:
    jobs = manifest(tmp_path, 1)
    env = danasign_env("http://127.0.0.1:9")
    no_job = await run_cli_async(
        "bulk-send", jobs, "--provider", "danasign", "--journal", dsn, env=env
    )
    assert "--job" in no_job.single_error(status=2)
    sqlite_job = await run_cli_async(
        "bulk-send", jobs, "--provider", "danasign", "--job", "x", env=env
    )
    assert "needs a PostgreSQL --journal" in sqlite_job.single_error(status=2)
    submit_alone = await run_cli_async(
        "bulk-send", jobs, "--provider", "danasign", "--submit", env=env
    )
    assert "needs a PostgreSQL --journal" in submit_alone.single_error(status=2)
    status_no_job = await run_cli_async("bulk-status", dsn, env=env)
    assert "--job" in status_no_job.single_error(status=2)
    not_a_db = await run_cli_async("worker", "--journal", str(tmp_path / "x.db"), env=env)
    assert "PostgreSQL" in not_a_db.single_error(status=2)


@pytest.mark.parametrize(
    "form",
    [
        "postgresql://app:pw-s3cret@/db?host={folder}",
        # libpq takes the password in the query string too,
        "postgresql://app@/db?host={folder}&password=pw-s3cret",
        # quotes a badly percent-encoded one when it cannot parse it,
        "postgresql://app:pw-s3cret%zz@/db?host={folder}",
        # and takes several hosts (a failover pair), which no URL parser does.
        "postgresql://app:pw-s3cret@127.0.0.1:1,127.0.0.1:2/db?connect_timeout=5",
    ],
    ids=["userinfo", "query", "bad-escape", "two-hosts"],
)
async def test_an_unreachable_database_is_named_without_its_password(
    tmp_path: Path, form: str
) -> None:
    dsn = form.format(folder=tmp_path)
    env = danasign_env("http://127.0.0.1:9")
    result = await run_cli_async("bulk-status", dsn, "--job", "j", env=env)
    error = result.single_error(status=2)
    assert "PostgreSQL" in error
    assert "s3cret" not in result.stdout + result.stderr
