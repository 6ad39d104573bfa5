"""The command line as the tests run it: in this process (click's CliRunner), or as a child.

In process is the default: the same command group ``signing-async`` runs,
with exactly the environment given, standard output captured (so plain
mode, as when piped). A child process is for what only a process shows: the
entry point itself, a signal, a closed pipe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import attrs
from click.testing import CliRunner

from signing_async.cli._app import cli

LIMIT = 60.0
"""A bound (seconds) on one run: a hang fails the test. Never an assertion on speed."""


@attrs.frozen
class CliResult:
    """What one run of the command line did."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """Standard output, line by line."""
        return self.stdout.splitlines()

    def json_lines(self) -> list[Any]:
        """Standard output parsed as JSON lines (fails the test if one is not JSON)."""
        return [json.loads(line) for line in self.lines]

    def fields(self) -> dict[str, str]:
        """A plain result's ``key: value`` lines as a mapping."""
        pairs = (line.partition(": ") for line in self.lines)
        return {key: value for key, sep, value in pairs if sep}

    def single_error(self, status: int = 1) -> str:
        """The one ``error: ...`` line on stderr of a failed run, without the prefix.

        Args:
            status: The exit status the run must have ended with (2: bad usage).
        """
        assert self.returncode == status, self
        assert "Traceback" not in self.stderr, self.stderr
        lines = self.stderr.splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith("error: "), lines
        return lines[0].removeprefix("error: ")


def secrets_in(env: Mapping[str, str]) -> list[str]:
    """The secret values among the SIGNING_* variables (tokens and client secrets)."""
    return [
        value
        for key, value in env.items()
        if key.startswith("SIGNING_") and key.endswith(("_SECRET", "_TOKEN")) and value
    ]


def _checked(result: CliResult, env: Mapping[str, str]) -> CliResult:
    # Whatever happened, no token or client secret of env may have been printed.
    for secret in secrets_in(env):
        assert secret not in result.stdout, f"a secret leaked to stdout: {result.stdout!r}"
        assert secret not in result.stderr, f"a secret leaked to stderr: {result.stderr!r}"
    return result


@contextmanager
def _working_directory(folder: Path | None) -> Iterator[None]:
    if folder is None:
        yield
        return
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def run_cli(*args: str | Path, env: Mapping[str, str], cwd: Path | None = None) -> CliResult:
    """Run ``signing-async ARGS`` in this process, with exactly ``env`` as its environment.

    An exception the command lets escape is reported as the interpreter
    would report it in a process of its own: a traceback on stderr, status 1.
    Every run is checked for leaked secrets, as :func:`run_cli_process` does.
    """
    # Variables of this process that env leaves out are unset for the run.
    changes: dict[str, str | None] = {key: None for key in os.environ if key not in env}
    changes.update({key: value for key, value in env.items() if os.environ.get(key) != value})
    with _working_directory(cwd):
        outcome = CliRunner().invoke(
            cli, [str(arg) for arg in args], env=changes, prog_name="signing-async"
        )
    stderr = outcome.stderr
    if outcome.exception is not None and not isinstance(outcome.exception, SystemExit):
        assert outcome.exc_info is not None
        stderr += "".join(traceback.format_exception(*outcome.exc_info))
    return _checked(CliResult(outcome.exit_code, outcome.stdout, stderr), env)


async def run_cli_async(
    *args: str | Path, env: Mapping[str, str], cwd: Path | None = None
) -> CliResult:
    """:func:`run_cli` from an async test: in a worker thread, so the test's loop keeps running."""

    def run() -> CliResult:
        return run_cli(*args, env=env, cwd=cwd)

    with anyio.fail_after(LIMIT):
        return await anyio.to_thread.run_sync(run)


def run_cli_process(
    *args: str | Path, env: Mapping[str, str], cwd: Path | None = None
) -> CliResult:
    """Run ``python -m signing_async.cli ARGS`` in a child process, stdout piped (plain mode)."""
    completed = subprocess.run(  # noqa: S603 - this interpreter, fixed module, test arguments
        [sys.executable, "-m", "signing_async.cli", *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=dict(env),
        cwd=cwd,
        check=False,
        timeout=LIMIT,
    )
    return _checked(CliResult(completed.returncode, completed.stdout, completed.stderr), env)
