"""The command line's manners: help, usage errors, Ctrl-C, a closed pipe, sandbox faults.

In process (click's CliRunner) wherever possible; a child process only for
what needs one: a real SIGINT, a real pipe closed by its reader.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner

from signing_async.cli._app import cli
from signing_async.sandbox import Fault, Sandbox
from signing_async.sandbox._faults import UnknownRoute

from ..sandbox_child import child_env
from .cli_support import EXAMPLES, document_row, write_jsonl

ROUTE = "danasign.createdocument"


def test_top_level_help_shows_whole_provider_names_and_the_operator_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
    assert lines["otp"].split(None, 1)[1] == "S.O.F.I.A. OTP signatures."
    assert {"bulk-send", "bulk-status", "check"} <= set(lines)


def test_bulk_send_help_documents_its_exit_codes() -> None:
    result = CliRunner().invoke(cli, ["bulk-send", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "3 stopped early: credentials or access refused, or the server unreachable" in text
    assert "130 interrupted" in text


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["contacts", "list", "--page-size", "500"], "500 is not in the range 1<=x<=100"),
        (["documents", "list", "sent", "--page-size", "0"], "0 is not in the range 1<=x<=100"),
        (["documents", "list", "bogus"], "'bogus' is not one of 'draft'"),
    ],
)
def test_bad_usage_exits_2_before_any_request(args: list[str], problem: str) -> None:
    # No server at all: a request would fail with exit 1, not 2.
    env = {"SIGNING_DANASIGN_SERVER_URL": "http://127.0.0.1:9", "SIGNING_DANASIGN_API_TOKEN": "t"}
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 2, result.output
    assert problem in result.stderr


def test_a_malformed_signer_is_bad_usage(tmp_path: Path) -> None:
    pdf = tmp_path / "c.pdf"
    shutil.copy(EXAMPLES / "pdfs" / "contract-1.pdf", pdf)
    env = {"SIGNING_DANASIGN_SERVER_URL": "http://127.0.0.1:9", "SIGNING_DANASIGN_API_TOKEN": "t"}
    result = CliRunner().invoke(
        cli,
        ["documents", "create", str(pdf), "--title", "T", "--signer", "Client,A",
         "--signature", "Client,1,50,700,100,40"],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--signer: expected 3 comma-separated values" in result.stderr


# -- the sandbox refuses a fault it could never fire ----------------------------


async def test_a_misspelled_fault_route_is_refused_naming_the_known_ones() -> None:
    async with Sandbox() as sb:
        with pytest.raises(UnknownRoute) as caught:
            sb.faults.add(Fault(route="danasign.createdocumnet", status=503))
        sb.faults.add(Fault(route=ROUTE, status=503, times=1))  # a real one is accepted
        sb.faults.add(Fault(route="*", latency=0.0, times=1))

        def post() -> tuple[int, dict[str, str]]:
            request = urllib.request.Request(  # noqa: S310 - the loopback sandbox
                f"{sb.url}/_sandbox/faults",
                data=json.dumps({"route": "sofia.create_signatur", "status": 500}).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            try:
                with opener.open(request, timeout=30) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read())

        status, body = await anyio.to_thread.run_sync(post)
        armed = len(list(sb.faults))
    assert "no route is named 'danasign.createdocumnet'" in str(caught.value)
    assert f"{ROUTE}," in str(caught.value)
    assert status == 400
    assert "sofia.create_signatur" in body["error"]
    assert ROUTE in body["error"]
    assert armed == 2


def test_the_sandbox_command_refuses_a_misspelled_fault_route(tmp_path: Path) -> None:
    fault = json.dumps({"route": "danasign.templates.lst", "status": 503})
    result = CliRunner().invoke(
        cli, ["sandbox", "--port", "0", "--fault", fault, "--ready-file", str(tmp_path / "r")]
    )
    assert result.exit_code == 2
    assert "no route is named 'danasign.templates.lst'" in result.stderr


# -- child processes: Ctrl-C and a closed pipe ----------------------------------


async def test_ctrl_c_says_how_many_items_were_in_flight_and_how_to_go_on(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES / "pdfs", tmp_path / "pdfs")
    manifest = write_jsonl(
        tmp_path / "job.jsonl",
        [document_row(f"doc-{i}", "pdfs/contract-1.pdf") for i in range(10)],
    )
    async with Sandbox() as sb:
        sb.faults.add(Fault(route=ROUTE, latency=3600.0))  # answers never come
        env = {
            **child_env(),
            "SIGNING_DANASIGN_SERVER_URL": sb.url,
            "SIGNING_DANASIGN_API_TOKEN": sb.credentials.danasign_api_token,
        }
        command = [sys.executable, "-m", "signing_async.cli", "bulk-send", str(manifest),
                   "--provider", "danasign", "--concurrency", "3"]  # fmt: skip
        with anyio.fail_after(60):  # a hang guard, not a speed check
            async with await anyio.open_process(command, env=env) as process:
                while True:  # until three requests are held by the sandbox
                    if len(sb.requests_for(ROUTE)) >= 3:
                        break
                    await anyio.sleep(0.02)
                process.send_signal(signal.SIGINT)
                assert process.stderr is not None
                stderr = b"".join([chunk async for chunk in process.stderr]).decode()
                await process.wait()
    assert process.returncode == 130
    assert "error: interrupted: 0 items done, 3 in flight when stopped" in stderr
    assert "the next run reports them uncertain" in stderr
    assert f"bulk-status {tmp_path / 'job.jsonl.journal.db'} --uncertain" in stderr
    assert "Run the same command again to send the rest" in stderr
    assert "Traceback" not in stderr


def test_output_cut_short_by_its_reader_ends_quietly() -> None:
    # As in `signing-async demo | head -2`.
    process = subprocess.Popen(
        [sys.executable, "-m", "signing_async.cli", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    first = [process.stdout.readline() for _ in range(2)]
    process.stdout.close()  # the reader goes away; the demo goes on printing
    stderr = process.stderr.read()
    returncode = process.wait(timeout=120)
    assert all(line.endswith(b"\n") for line in first)
    assert returncode == 141  # 128 + SIGPIPE, as Unix tools end
    assert stderr == b""
