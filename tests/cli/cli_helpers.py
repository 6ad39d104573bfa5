"""Helpers for the CLI tests: the command's environment, and a sandbox server in a child process.

The command itself runs through :mod:`tests.cli_run` (in process, or as a child).

(A unique module name: conftest is not importable safely.)
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import signing_async
from tests.cli_run import CliResult, run_cli, run_cli_process

__all__ = ["CliResult", "SandboxProcess", "base_env", "run_cli", "run_cli_process", "run_python"]

# The checkout under test: children import the same code as the tests do.
ROOT = Path(signing_async.__file__).resolve().parents[1]

# Every wait in these tests is bounded by this (seconds); none is an assertion.
LIMIT = 60.0

# Variables that would change what the CLI prints (rich forces a terminal with
# them) or what it is configured with; the tests set what they need.
_DROPPED = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR", "COLUMNS")


def base_env(**extra: str) -> dict[str, str]:
    """The environment for a child: no SIGNING_* variables, this checkout first on the path."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SIGNING_") and key not in _DROPPED
    }
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)]
    )
    env.update(extra)
    return env


def run_python(code: str) -> CliResult:
    """Run ``python -c CODE`` in a child with this checkout on the path."""
    completed = subprocess.run(  # noqa: S603 - this interpreter, fixed test code
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=base_env(),
        check=False,
        timeout=LIMIT,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


# Loopback only, never through a proxy the environment may name.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class SandboxProcess:
    """``signing-async sandbox`` running in a child process.

    Args:
        folder: Where its ready file and captured output go.
        *options: Extra command-line options (``--fault ...``).
    """

    def __init__(self, folder: Path, *options: str) -> None:
        self.ready_file = folder / "sandbox.ready"
        self.stdout_file = folder / "sandbox.out"
        self.stderr_file = folder / "sandbox.err"
        command = [
            sys.executable,
            "-m",
            "signing_async.cli",
            "sandbox",
            "--port",
            "0",
            "--ready-file",
            str(self.ready_file),
            *options,
        ]
        with self.stdout_file.open("wb") as stdout, self.stderr_file.open("wb") as stderr:
            self.process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed module
                command, stdout=stdout, stderr=stderr, env=base_env()
            )
        try:
            self.url = self._wait_until_ready()
        except BaseException:
            self.kill()
            raise
        self.printed = self.stdout_file.read_text(encoding="utf-8")
        self.credentials = _parse_credentials(self.printed)

    def _wait_until_ready(self) -> str:
        deadline = time.monotonic() + LIMIT
        while not self.ready_file.exists():
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the sandbox exited with {self.process.returncode}: "
                    f"{self.stderr_file.read_text(encoding='utf-8')}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"the sandbox wrote no ready file within {LIMIT} s")
            time.sleep(0.02)  # polling a file; nothing is asserted on the time taken
        # The ready file is written under another name and renamed: never half a URL.
        return self.ready_file.read_text(encoding="utf-8").strip()

    def env(self, **extra: str) -> dict[str, str]:
        """SIGNING_* variables for all three providers, pointing at this sandbox."""
        creds = self.credentials
        variables = {
            "SIGNING_DANACONNECT_CLIENT_ID": creds["danaconnect"]["client_id"],
            "SIGNING_DANACONNECT_CLIENT_SECRET": creds["danaconnect"]["client_secret"],
            "SIGNING_DANACONNECT_CHANNEL": creds["danaconnect"]["channel"],
            "SIGNING_DANACONNECT_BASE_URL": self.url,
            "SIGNING_DANACONNECT_DOWNLOAD_URL": self.url,
            "SIGNING_DANASIGN_SERVER_URL": self.url,
            "SIGNING_DANASIGN_API_TOKEN": creds["danasign"]["api_token"],
            "SIGNING_SOFIA_CLIENT_ID": creds["sofia"]["client_id"],
            "SIGNING_SOFIA_CLIENT_SECRET": creds["sofia"]["client_secret"],
            "SIGNING_SOFIA_TENANT_ID": creds["sofia"]["tenant_id"],
            "SIGNING_SOFIA_BASE_URL": self.url,
        }
        return base_env(**{**variables, **extra})

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """One request to the sandbox (control routes, or API set-up); the decoded JSON."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - a loopback http:// URL we started
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        with _OPENER.open(request, timeout=LIMIT) as response:
            return json.loads(response.read())

    def statuses(self, route: str) -> list[int]:
        """The statuses the sandbox answered on ``route``, in order."""
        log = self.call("GET", "/_sandbox/requests")["requests"]
        return [entry["status"] for entry in log if entry["route"] == route]

    def terminate(self) -> int:
        """SIGTERM, then wait (bounded) for the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=LIMIT)

    def kill(self) -> None:
        """Stop it whatever state it is in (for teardown)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=LIMIT)


def _parse_credentials(printed: str) -> dict[str, dict[str, str]]:
    # Lines like "danasign: api_token=... readonly_token=...".
    credentials: dict[str, dict[str, str]] = {}
    for line in printed.splitlines():
        provider, sep, rest = line.partition(": ")
        if sep and provider in {"danaconnect", "danasign", "sofia"}:
            credentials[provider] = dict(re.findall(r"(\w+)=(\S+)", rest))
    return credentials
