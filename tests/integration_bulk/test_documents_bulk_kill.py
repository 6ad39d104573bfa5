"""A documents bulk run killed with SIGKILL half-way, then rerun with its journal.

The sandbox runs in a process of its own, so what it created survives the
killed client; "half-way" is read from its request log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import anyio

import signing_async as sa

from ..sandbox_child import child_env, control, requests_of, sandbox_process
from .bulk_support import API_TOKEN, PDF, document

HERE = Path(__file__).parent
ROUTE = "danasign.createdocument"
COUNT = 40


async def all_held(url: str) -> bool:
    """Whether four requests are held, and every earlier one has finished."""
    log = (await control(url, "GET", "requests"))["requests"]
    armed = max(
        entry["started"]
        for entry in log
        if entry["route"] == "control" and entry["method"] == "POST"
    )
    entries = [entry for entry in log if entry["route"] == ROUTE]
    held = [entry for entry in entries if entry["started"] > armed and entry["finished"] is None]
    earlier = [entry for entry in entries if entry["started"] < armed]
    return len(held) == 4 and all(entry["finished"] is not None for entry in earlier)


async def test_a_run_killed_half_way_never_creates_a_document_twice(tmp_path: Path) -> None:
    journal = tmp_path / "documents.db"
    async with sandbox_process(tmp_path, seed=5) as url:
        # Slow enough that the kill lands half-way, not after the end.
        await control(url, "POST", "faults", {"route": ROUTE, "latency": [0.02, 0.05]})
        command = [sys.executable, str(HERE / "documents_child.py"), url, str(journal), str(COUNT)]
        with anyio.fail_after(60):  # a hang guard, not a speed check
            async with await anyio.open_process(
                command, env=child_env(HERE), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            ) as process:
                while len(await requests_of(url, ROUTE)) < COUNT // 2:
                    assert process.returncode is None, "the child ended before half-way"
                    await anyio.sleep(0.01)
                # Hold every request from now on: the four workers each end up
                # with one request the sandbox received and never answers.
                await control(url, "DELETE", "faults")
                await control(url, "POST", "faults", {"route": ROUTE, "latency": 30})
                while not await all_held(url):
                    assert process.returncode is None, "the child ended early"
                    await anyio.sleep(0.01)
                process.kill()  # SIGKILL: not one line of cleanup runs in the child
                await process.wait()
        if os.name == "posix":
            assert process.returncode == -signal.SIGKILL

        before = await requests_of(url, ROUTE)
        # The held four never got an answer: still in their latency, or given
        # up when the connection died. Either way the sandbox never read their
        # bodies (nor their external ids), so it created nothing for them.
        unanswered = [entry for entry in before if entry["status"] != 200]
        assert len(unanswered) == 4
        assert {entry["external_id"] for entry in unanswered} == {None}
        answered = {entry["external_id"] for entry in before if entry["status"] == 200}
        with contextlib.closing(sqlite3.connect(journal)) as db:
            states = dict(db.execute("SELECT key, state FROM items").fetchall())
        in_flight = {key for key, state in states.items() if state == "in_flight"}
        done = {key for key, state in states.items() if state == "succeeded"}
        assert len(in_flight) == 4  # the held four, marked before they left
        assert not in_flight & answered
        assert done == answered  # every answer that arrived was journaled
        assert set(states.values()) == {"succeeded", "in_flight"}
        assert len(done) >= COUNT // 2 - 4  # half arrived, up to four of them unanswered then

        await control(url, "DELETE", "faults")
        config = sa.DanaSignConfig(server_url=url, api_token=API_TOKEN)
        async with sa.SigningClient(danasign=config) as client:
            items = (document(index, PDF) for index in range(COUNT))
            run = client.documents.create_many(items, concurrency=4, journal=journal)
            async with run as outcomes:
                rerun = {outcome.key: outcome async for outcome in outcomes}
        after = await requests_of(url, ROUTE)

    assert len(rerun) == COUNT
    for key, outcome in rerun.items():
        if key in in_flight:
            assert outcome.status == "uncertain", outcome
            assert "in flight since" in str(outcome.error)
        elif key in done:
            assert outcome.status == "skipped", outcome
            assert isinstance(outcome.result, sa.CreatedDocument)
        else:
            assert outcome.status == "succeeded", outcome
    # No external id reached the sandbox twice, across both runs; the held
    # four (external id not read yet, None) were not sent again.
    sent = Counter(entry["external_id"] for entry in after)
    assert sent.pop(None) == 4
    assert set(sent) == {f"ext-{index}" for index in range(COUNT)} - in_flight
    assert max(sent.values()) == 1
