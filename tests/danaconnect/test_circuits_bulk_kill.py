"""A bulk run killed with SIGKILL half-way, then rerun with the same journal."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
from anyio.streams.text import TextReceiveStream

import signing_async as sa

from .circuit_server import CircuitServer, circuit_item

HERE = Path(__file__).parent
ROOT = HERE.parent.parent


async def read_outcomes(process: anyio.abc.Process, wanted: int) -> list[dict[str, str]]:
    """The child's outcome lines, once it has printed ``wanted`` of them."""
    assert process.stdout is not None
    text = ""
    async for chunk in TextReceiveStream(process.stdout):
        text += chunk
        lines = text.split("\n")[:-1]
        if len(lines) >= wanted:
            return [json.loads(line) for line in lines]
    raise AssertionError(f"the child stopped early; it printed {text!r}")


async def test_a_run_killed_half_way_never_creates_a_circuit_twice(tmp_path: Path) -> None:
    journal = tmp_path / "circuits.db"
    # c-0 … c-9 are answered at once. c-10 and c-11 are created but never
    # answered, c-12 and c-13 never even created: with four workers, the
    # child then has exactly those four in flight when it is killed.
    faults = {
        "c-10": ["hold-created"],
        "c-11": ["hold-created"],
        "c-12": ["hold"],
        "c-13": ["hold"],
    }
    async with CircuitServer(faults) as server:
        command = [sys.executable, str(HERE / "bulk_child.py"), server.base_url, str(journal), "20"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
        with anyio.fail_after(60):  # a hang guard, not a speed check
            async with await anyio.open_process(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            ) as process:
                printed = await read_outcomes(process, 10)
                await server.wait_for(lambda: server.held == 4)
                process.kill()  # SIGKILL: not one line of cleanup runs in the child
                await process.wait()
        assert process.returncode not in (0, None)
        if os.name == "posix":
            assert process.returncode == -signal.SIGKILL
        # Outcomes come in completion order: compare as sets.
        assert {(line["key"], line["status"]) for line in printed} == {
            (f"c-{i}", "succeeded") for i in range(10)
        }
        with contextlib.closing(sqlite3.connect(journal)) as db:
            states = dict(db.execute("SELECT key, state FROM items").fetchall())
        assert states == {
            **{f"c-{i}": "succeeded" for i in range(10)},
            **{f"c-{i}": "in_flight" for i in range(10, 14)},
        }
        received_before = dict(server.received)
        assert set(received_before) == {f"c-{i}" for i in range(14)}

        async with server.client() as client:
            items = [circuit_item(index) for index in range(20)]
            async with client.circuits.start_many(
                items, concurrency=4, journal=journal
            ) as outcomes:
                rerun = {outcome.key: outcome async for outcome in outcomes}

    assert len(rerun) == 20
    for index in range(10):
        outcome = rerun[f"c-{index}"]
        assert outcome.status == "skipped"
        assert outcome.result == sa.Circuit(
            circuit_id=f"circ-c-{index}", link=f"{server.base_url}/sign/c-{index}"
        )
    for index in range(10, 14):
        outcome = rerun[f"c-{index}"]
        assert outcome.status == "uncertain", outcome
        assert "in flight since" in str(outcome.error)
    for index in range(14, 20):
        assert rerun[f"c-{index}"].status == "succeeded"
    # Nothing the first run had sent was sent again, and nothing exists twice.
    for key, count in received_before.items():
        assert server.received[key] == count == 1
    assert all(count == 1 for count in server.created.values())
    assert server.created["c-10"] == server.created["c-11"] == 1
    assert server.created["c-12"] == server.created["c-13"] == 0
