"""Fixtures for the CLI tests: one sandbox server process per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cli_helpers import SandboxProcess


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """``signing-async sandbox --port 0`` in a child process, shared by a module's tests."""
    server = SandboxProcess(tmp_path_factory.mktemp("sandbox"))
    try:
        yield server
    finally:
        try:
            server.terminate()
        finally:
            server.kill()
