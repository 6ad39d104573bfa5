"""``signing-async sandbox`` as a server: initial faults, SIGTERM, bad options."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from cli_helpers import SandboxProcess, base_env, run_cli

FAULT = {"route": "danasign.templates.list", "status": 503, "times": 1}


def test_an_initial_fault_is_honoured_and_sigterm_stops_cleanly(tmp_path: Path) -> None:
    server = SandboxProcess(tmp_path, "--fault", json.dumps(FAULT), "--seed", "7")
    try:
        armed = server.call("GET", "/_sandbox/faults")["faults"]
        assert [(f["route"], f["status"], f["times"]) for f in armed] == [(FAULT["route"], 503, 1)]

        result = run_cli("templates", "list", env=server.env())
        # The 503 was answered once and retried by the SDK; the user sees the list.
        assert result.returncode == 0, result.stderr
        assert result.lines[0] == "id\tname\tdescription"
        assert len(result.lines) > 2
        assert server.statuses("danasign.templates.list") == [503, 200]
        assert server.call("GET", "/_sandbox/faults")["faults"] == []  # fired its one time

        assert server.ready_file.exists()
        assert server.terminate() == 0
        assert not server.ready_file.exists()
        assert server.stderr_file.read_text(encoding="utf-8") == ""
    finally:
        server.kill()


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        ("[1]", "must be a JSON object"),
        ("not json", "Expecting value"),
        ('{"route": "*", "colour": "red"}', "unknown fault field(s): colour"),
        ('{"status": 99}', "status must be an HTTP status code"),
    ],
)
def test_a_bad_fault_is_a_usage_error(fault: str, problem: str, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    result = run_cli(
        "sandbox", "--port", "0", "--ready-file", ready, "--fault", fault, env=base_env()
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Invalid value for '--fault'" in result.stderr
    assert problem in result.stderr
    assert not ready.exists()


def test_a_port_in_use_is_one_error_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(
            "sandbox",
            "--port",
            str(port),
            "--ready-file",
            tmp_path / "ready",
            env=base_env(),
        )
    assert str(port) in result.single_error()
    assert not (tmp_path / "ready").exists()
