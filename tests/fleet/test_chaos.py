"""Chaos: four worker processes on one job, SIGKILLed at random, against a hostile provider.

The provider (:mod:`tests.fleet.chaos_provider`, a process of its own) is
slow by a few milliseconds, refuses with 503s, creates documents and then
drops the connection or answers 504. Workers are killed with SIGKILL at
random moments and restarted, until the job has nothing pending or in
flight. Whatever happened, the journal's promise must hold:

- no external id was created twice at the provider;
- every item ended ``succeeded``, ``failed`` or ``uncertain``;
- every ``succeeded`` item was created exactly once, every ``failed`` one
  never.

Once through the Python API (``submit`` and ``run_worker``), once through
the command line (``bulk-send --submit`` and ``signing-async worker``).
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import psycopg

from signing_async._core.bulk._pg_schema import OWNER_LOCK_CLASS
from signing_async.fleet import submit

from ..bulk_cli.cli_support import document_row, environment, write_jsonl
from ..cli_run import run_cli_async
from ..conftest import MINIMAL_PDF
from ..sandbox_child import ROOT, child_env
from .chaos_provider import API_TOKEN, ChaosProvider
from .waiting import wait_until_done

ITEMS = 1500
CHUNK_SIZE = 40
WORKERS = 4
STALLED_AFTER = 1.5
"""Seconds after which a killed worker's chunk goes back to the queue."""
MIN_KILLS = 8
MAX_KILLS = 14
"""Workers killed at random while work is left; after that the job is left to finish."""


@asynccontextmanager
async def chaos_provider(folder: Path, seed: int) -> AsyncIterator[str]:
    """Run the chaos provider in a process of its own; yield its URL."""
    port_file = folder / "chaos.port"
    command = [sys.executable, "-m", "tests.fleet.chaos_provider"]
    command += ["--port-file", str(port_file), "--seed", str(seed)]
    with (folder / "chaos.log").open("wb") as log:
        process = await anyio.open_process(command, env=child_env(), cwd=ROOT, stderr=log)
    async with process:
        try:
            with anyio.fail_after(30):  # a hang guard, not a speed check
                while not port_file.exists():
                    assert process.returncode is None, (folder / "chaos.log").read_text()
                    await anyio.sleep(0.02)
            yield f"http://127.0.0.1:{int(port_file.read_text())}"
        finally:
            process.kill()


def provider_stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/_chaos/stats", timeout=30) as answer:  # noqa: S310 - loopback
        stats: dict[str, Any] = json.load(answer)
    return stats


class Fleet:
    """Worker processes in numbered slots; any of them killed and restarted at will.

    Each process connects with an ``application_name`` of its own, so that
    PostgreSQL can tell which of them has requests in flight.
    """

    def __init__(self, dsn: str, command: Callable[[str], list[str]], env: dict[str, str],
                 logs: Path) -> None:  # fmt: skip
        self.dsn = dsn
        self.command = command
        self.env = env
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []
        self.names: list[str] = []
        self.started = 0
        self.kills = 0
        self.kills_in_flight = 0

    def start(self, slot: int | None = None) -> None:
        name = f"chaos-worker-{self.started}"
        log = (self.logs / f"{name}.log").open("wb")
        self.started += 1
        process = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
            self.command(f"{self.dsn}&application_name={name}"),
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        if slot is None:
            self.processes.append(process)
            self.names.append(name)
        else:
            self.processes[slot], self.names[slot] = process, name

    def kill_and_restart(self, slot: int, *, in_flight: bool = False) -> None:
        process = self.processes[slot]
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            self.kills += 1
            self.kills_in_flight += in_flight
        process.wait()
        self.start(slot)

    def sending(self, job: str) -> list[int]:
        """The slots whose worker holds items of ``job`` in flight right now."""
        with psycopg.connect(self.dsn) as connection:
            rows = connection.execute(
                "SELECT DISTINCT a.application_name FROM pg_locks l"
                " JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s"
                " AND l.objsubid = 2 AND l.objid::bigint IN (SELECT owner FROM"
                " signing_async.items WHERE job = %s AND state = 'in_flight')",
                (OWNER_LOCK_CLASS, job),
            ).fetchall()
        names = {name for (name,) in rows}
        return [slot for slot, name in enumerate(self.names) if name in names]

    def crashed(self) -> list[str]:
        """The workers that exited by themselves (none should)."""
        return [
            f"{name}: exit {process.returncode}"
            for name, process in zip(self.names, self.processes, strict=True)
            if process.poll() is not None and process.returncode != -signal.SIGKILL
        ]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()


async def run_with_chaos(job: str, fleet: Fleet, rng: random.Random) -> None:
    """Start the workers, kill and restart them at random while work is left, wait for the end.

    Every other kill waits for a worker with requests in flight and kills
    it, the moment the journal's promise is hardest to keep; the others fall
    on any worker, starting, idle or busy.
    """
    for _ in range(WORKERS):
        fleet.start()
    try:
        async with anyio.create_task_group() as group:

            async def killer() -> None:
                while fleet.kills < MAX_KILLS:
                    await anyio.sleep(rng.uniform(0.2, 1.0))
                    if fleet.kills % 2:
                        fleet.kill_and_restart(rng.randrange(WORKERS))
                        continue
                    while True:
                        busy = fleet.sending(job)
                        if busy:
                            fleet.kill_and_restart(rng.choice(busy), in_flight=True)
                            break
                        await anyio.sleep(0.02)

            group.start_soon(killer)
            with anyio.fail_after(150):  # a hang guard, not a speed check
                await wait_until_done(fleet.dsn, job)
            group.cancel_scope.cancel()
        assert not fleet.crashed(), fleet.crashed()
    finally:
        fleet.stop()


def item_states(dsn: str, job: str) -> dict[str, str]:
    with psycopg.connect(dsn) as connection:
        rows = connection.execute(
            "SELECT key, state FROM signing_async.items WHERE job = %s", (job,)
        ).fetchall()
    return dict(rows)


def check_the_promise(
    states: dict[str, str], keys: list[str], stats: dict[str, Any], seed: int
) -> None:
    """The assertions of both variants: nothing twice, everything accounted for."""
    created: dict[str, int] = stats["created"]
    twice = {key: count for key, count in created.items() if count > 1}
    assert twice == {}, f"{len(twice)} keys created more than once: {sorted(twice)[:10]}"
    assert sorted(states) == sorted(keys)
    assert set(states.values()) <= {"succeeded", "failed", "uncertain"}, states
    by_state: dict[str, list[str]] = {}
    for key, state in states.items():
        by_state.setdefault(state, []).append(key)
    succeeded, failed = by_state.get("succeeded", []), by_state.get("failed", [])
    uncertain = by_state.get("uncertain", [])
    assert [key for key in succeeded if created.get(key) != 1] == []
    assert [key for key in failed if key in created] == []
    assert set(created) <= set(keys)
    # The provider really drew every fault; a document created without an
    # answer (dropped, 504) is uncertain, never succeeded nor failed.
    faults = stats["faults"]
    assert all(faults.get(kind, 0) >= 1 for kind in ("503", "drop", "504", "stubborn_503")), faults
    assert len(uncertain) >= faults["drop"] + faults["504"]
    stubborn = [key for key in keys if ChaosProvider(seed=seed).is_stubborn(key)]
    assert stubborn, "the seed picked no key that always gets a 503"
    assert all(states[key] in ("failed", "uncertain") for key in stubborn)
    assert any(states[key] == "failed" for key in stubborn)


def documents(folder: Path, count: int) -> list[dict[str, Any]]:
    pdf = folder / "contract.pdf"
    pdf.write_bytes(MINIMAL_PDF)
    return [document_row(f"doc-{index}", str(pdf)) for index in range(count)]


def python_worker(url: str) -> Callable[[str], list[str]]:
    def command(dsn: str) -> list[str]:
        return [
            sys.executable, "-m", "tests.fleet.worker_process", "--dsn", dsn, "--url", url,
            "--token", API_TOKEN, "--stalled-after", str(STALLED_AFTER),
        ]  # fmt: skip

    return command


def cli_worker(dsn: str) -> list[str]:
    return [
        sys.executable, "-m", "signing_async.cli", "worker", "--journal", dsn,
        "--concurrency", "16", "--stalled-after", str(STALLED_AFTER),
    ]  # fmt: skip


def check_the_chaos(fleet: Fleet, states: dict[str, str], stats: dict[str, Any]) -> None:
    """The workers really were killed, some with requests in flight, which became uncertain."""
    assert fleet.kills >= MIN_KILLS
    assert fleet.kills_in_flight >= MIN_KILLS // 2
    uncertain = sum(state == "uncertain" for state in states.values())
    # Beyond the documents the provider created without answering.
    assert uncertain > stats["faults"]["drop"] + stats["faults"]["504"]


async def test_killed_workers_never_create_a_document_twice(dsn: str, tmp_path: Path) -> None:
    seed = 15
    items = documents(tmp_path, ITEMS)
    keys = [row["metadata"]["external_id"] for row in items]
    async with chaos_provider(tmp_path, seed) as url:
        status = await submit(
            dsn, provider="danasign", items=items, job="chaos", chunk_size=CHUNK_SIZE
        )
        assert (status.total, status.pending) == (ITEMS, ITEMS)
        fleet = Fleet(dsn, python_worker(url), child_env(), tmp_path)
        await run_with_chaos("chaos", fleet, random.Random(seed))  # noqa: S311 - kills, not cryptography
        stats = provider_stats(url)
    states = item_states(dsn, "chaos")
    check_the_promise(states, keys, stats, seed)
    check_the_chaos(fleet, states, stats)


async def test_killed_cli_workers_never_create_a_document_twice(dsn: str, tmp_path: Path) -> None:
    seed = 16
    rows = documents(tmp_path, ITEMS)
    keys = [row["metadata"]["external_id"] for row in rows]
    manifest = write_jsonl(tmp_path / "job.jsonl", rows)
    async with chaos_provider(tmp_path, seed) as url:
        env = environment(SIGNING_DANASIGN_SERVER_URL=url, SIGNING_DANASIGN_API_TOKEN=API_TOKEN)
        submitted = await run_cli_async(
            "bulk-send", manifest, "--provider", "danasign", "--journal", dsn,
            "--job", "chaos-cli", "--submit", "--chunk-size", str(CHUNK_SIZE), env=env,
        )  # fmt: skip
        assert submitted.returncode == 0, submitted
        assert provider_stats(url)["requests"] == 0  # --submit sends nothing itself
        fleet = Fleet(dsn, cli_worker, env, tmp_path)
        await run_with_chaos("chaos-cli", fleet, random.Random(seed))  # noqa: S311 - kills, not cryptography
        stats = provider_stats(url)
    states = item_states(dsn, "chaos-cli")
    check_the_promise(states, keys, stats, seed)
    check_the_chaos(fleet, states, stats)


def test_the_chaos_provider_draws_the_same_stubborn_keys_for_a_seed() -> None:
    first, again, other = (ChaosProvider(seed=seed) for seed in (15, 15, 16))
    keys = [f"doc-{index}" for index in range(ITEMS)]

    def picked(provider: ChaosProvider) -> list[str]:
        return [key for key in keys if provider.is_stubborn(key)]

    assert picked(first) == picked(again)
    assert picked(first) != picked(other)
    assert 0 < len(picked(first)) < ITEMS // 50
