"""The sandbox in a process of its own, and its ``/_sandbox/`` control routes.

For tests whose client must survive, or be killed, apart from the server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp
import anyio

ROOT = Path(__file__).resolve().parent.parent


def child_env(*extra: Path) -> dict[str, str]:
    """This environment without SIGNING_* variables, importing this checkout (and ``extra``)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SIGNING_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *(str(path) for path in extra)])
    return env


class SandboxChild(NamedTuple):
    """A sandbox running in a child process."""

    url: str
    pid: int


@asynccontextmanager
async def sandbox_process(folder: Path, *, seed: int | None = None) -> AsyncIterator[str]:
    """Run ``python -m signing_async.sandbox --port 0`` and yield its URL."""
    async with sandbox_child(folder, seed=seed) as child:
        yield child.url


@asynccontextmanager
async def sandbox_child(folder: Path, *, seed: int | None = None) -> AsyncIterator[SandboxChild]:
    """Like :func:`sandbox_process`, and yield the process id too (to watch its memory)."""
    ready = folder / "sandbox.ready"
    command = [sys.executable, "-m", "signing_async.sandbox", "--port", "0"]
    command += ["--ready-file", str(ready)]
    if seed is not None:
        command += ["--seed", str(seed)]
    async with await anyio.open_process(
        command, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as process:
        try:
            with anyio.fail_after(30):  # a hang guard, not a speed check
                while not ready.exists():
                    if process.returncode is not None:
                        raise AssertionError(f"the sandbox exited with {process.returncode}")
                    await anyio.sleep(0.02)
            yield SandboxChild(ready.read_text().strip(), process.pid)
        finally:
            if process.returncode is None:
                process.terminate()
            with anyio.move_on_after(10, shield=True):
                await process.wait()


async def control(url: str, method: str, path: str, payload: Any = None) -> Any:
    """Call one of the sandbox's ``/_sandbox/`` control routes; return its JSON."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{url}/_sandbox/{path}", json=payload) as response,
    ):
        assert response.status < 300, await response.text()
        return await response.json()


async def requests_of(url: str, route: str) -> list[dict[str, Any]]:
    """The sandbox's request log entries for ``route``."""
    log = await control(url, "GET", "requests")
    return [entry for entry in log["requests"] if entry["route"] == route]
