"""The ``signing-async`` entry point: the [cli] import guard, --version, --help."""

from __future__ import annotations

import pytest
from cli_helpers import base_env, run_cli_process, run_python

import signing_async

# Set before anything imports the module, "import X" then fails as if X were not installed.
WITHOUT = "import sys; sys.modules[{module!r}] = None; from signing_async.cli import main; main()"


@pytest.mark.parametrize("module", ["click", "rich"])
def test_without_the_extra_it_prints_the_install_hint(module: str) -> None:
    result = run_python(WITHOUT.format(module=module))
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"({module} is missing)" in result.stderr
    assert "pip install 'signing-async[cli]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_another_failed_import_is_not_blamed_on_the_extra() -> None:
    result = run_python(WITHOUT.format(module="signing_async.cli._resources"))
    assert result.returncode == 1
    assert "signing-async[cli]" not in result.stderr
    assert "Traceback" in result.stderr
    assert "signing_async.cli._resources" in result.stderr


def test_version_and_help() -> None:
    # In a process of its own: ``python -m signing_async.cli`` end to end.
    version = run_cli_process("--version", env=base_env())
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"signing-async, version {signing_async.__version__}"

    helped = run_cli_process("--help", env=base_env())
    assert helped.returncode == 0, helped.stderr
    section = helped.stdout.partition("Commands:")[2]
    listed = {line.split()[0] for line in section.splitlines() if line.strip()}
    assert listed >= {"circuits", "contacts", "demo", "documents", "otp", "sandbox", "templates"}
