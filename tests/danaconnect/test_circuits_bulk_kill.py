"""Bulk runs killed with SIGKILL, then rerun with the same journal: nothing created twice."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import anyio
from anyio.streams.text import TextReceiveStream

import signing_async as sa

from .fake import FakeDanaConnect, circuit_item

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
    async with FakeDanaConnect(faults) as server:
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


# Today's fault mix of the documents run under faults, plus gateways that lose
# the answer after the upstream created the circuit.
GATEWAY_MIX = [
    ("503", 0.10),  # refused, nothing created
    ("drop-created", 0.05),  # created, then the connection is lost
    ("429", 0.02),  # slow down (Retry-After: 0), nothing created
    ("504-created", 0.05),  # created, then a gateway timeout
    ("502-created", 0.05),  # created, then a bad gateway
]
GATEWAY_COUNT = 300
REFUSED_ONCE = ["c-0", "c-150"]  # a 400 (validation refusal) to their first attempt


async def run_child(
    server: FakeDanaConnect, journal: Path, kill_after: int | None, pause: float
) -> tuple[list[dict[str, str]], bool]:
    """One bulk run in a child process; killed once the server received ``kill_after`` more.

    Returns the outcome lines the child printed and whether it was killed.
    """
    command = [
        sys.executable,
        str(HERE / "bulk_child.py"),
        server.base_url,
        str(journal),
        str(GATEWAY_COUNT),
        "8",  # concurrency
        "0.005",  # the longest backoff, in seconds
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
    lines: list[dict[str, str]] = []
    start = server.received.total()
    with anyio.fail_after(120):  # a hang guard, not a speed check
        async with await anyio.open_process(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        ) as process:
            assert process.stdout is not None
            stdout = process.stdout

            async def read() -> None:
                text = ""
                async for chunk in TextReceiveStream(stdout):
                    text += chunk
                    *complete, text = text.split("\n")
                    lines.extend(json.loads(line) for line in complete)

            async def kill(after: int) -> None:
                await server.wait_for(lambda: server.received.total() - start >= after)
                await anyio.sleep(pause)
                if process.returncode is None:
                    process.kill()  # SIGKILL: not one line of cleanup runs in the child

            async with anyio.create_task_group() as group:
                group.start_soon(read)
                if kill_after is not None:
                    group.start_soon(kill, kill_after)
                await process.wait()
                # A run that ended on its own before the kill came has nothing left to kill.
                group.cancel_scope.cancel()
    killed = process.returncode != 0
    if killed and os.name == "posix":
        assert process.returncode == -signal.SIGKILL
    return lines, killed


async def test_runs_killed_at_random_under_gateway_errors_never_create_twice(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "circuits.db"
    rng = random.Random(20240602)  # noqa: S311 - kill moments, not cryptography
    faults = {key: ["400"] for key in REFUSED_ONCE}
    # Each run's outcome lines, and what the server had created and received when it ended.
    runs: list[tuple[list[dict[str, str]], Counter[str], Counter[str]]] = []
    kills = 0
    async with FakeDanaConnect(faults, mix=GATEWAY_MIX, latency=(0.0, 0.002), seed=7) as server:
        # Killed at random moments (after a random number of requests reached
        # the server, and a random pause) until a run gets to its end.
        while True:
            kill_after = rng.randint(10, 60) if kills < 4 else None
            lines, killed = await run_child(server, journal, kill_after, rng.uniform(0, 0.01))
            runs.append((lines, Counter(server.created), Counter(server.received)))
            if not killed:
                break
            kills += 1
        with contextlib.closing(sqlite3.connect(journal)) as db:
            states = dict(db.execute("SELECT key, state FROM items").fetchall())

    keys = {f"c-{index}" for index in range(GATEWAY_COUNT)}
    final = runs[-1][0]
    # The last run reached every item, and gave each one outcome.
    assert sorted(line["key"] for line in final) == sorted(keys)
    assert set(states) == keys
    # 0 keys created twice, across every run.
    assert max(server.created.values()) == 1
    assert not server.created.keys() - keys
    # 0 items created but reported failed: in every run, an item reported
    # failed did not exist when that run ended (nothing resends it in that run).
    failed_before_last: set[str] = set()
    for number, (lines, created_by_then, received_by_then) in enumerate(runs, 1):
        for line in lines:
            if line["status"] == "failed":
                assert created_by_then[line["key"]] == 0, line
                if number < len(runs):
                    key = line["key"]
                    last_answer = server.history[key][received_by_then[key] - 1]
                    if last_answer == "400":
                        # Refused for what it holds: reported again, never resent.
                        assert server.received[key] == received_by_then[key], line
                    else:
                        # Certainly not created, and transient: a rerun sent it again.
                        assert server.received[key] > received_by_then[key], line
                    failed_before_last.add(key)
    # Likewise in the journal: failed means "certainly not created".
    assert all(server.created[key] == 0 for key, state in states.items() if state == "failed")
    # What a gateway answered after the upstream acted is uncertain, and was
    # never sent again, in that run or a later one.
    statuses = {line["key"]: line["status"] for line in final}
    gateway_keys = {
        key
        for key, faults in server.history.items()
        if "502-created" in faults or "504-created" in faults
    }
    for key in gateway_keys:
        assert statuses[key] == "uncertain", (key, server.history[key])
        assert server.history[key][-1] in ("502-created", "504-created"), server.history[key]

    # The run did go through what it is meant to test.
    assert kills == 4
    assert server.drawn["504-created"] > 0
    assert server.drawn["502-created"] > 0
    assert server.drawn["503"] > 0
    assert len(gateway_keys) == server.drawn["504-created"] + server.drawn["502-created"]
    assert "c-0" in failed_before_last  # refused in the first run, long before its kill
    assert statuses["c-0"] == "failed"  # and reported failed again by every later run
    assert server.received["c-0"] == 1
