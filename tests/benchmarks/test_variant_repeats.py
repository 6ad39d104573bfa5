"""A child measures its workload ``repeats`` times and reports the fastest run."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from benchmarks import _variant
from benchmarks._workloads import Context, Workload


class Clock:
    """Stands in for ``time``: only the workload moves it, so no real timing is involved."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now

    def process_time(self) -> float:
        return self.now


class Slowing(Workload):
    """Each run takes longer than the one before, and says which one it was."""

    clock = Clock()
    runs = 0
    snapshots = 0

    async def run(self) -> dict[str, Any]:
        self.runs += 1
        self.clock.now += self.runs
        return {"requests": 1, "run": self.runs}

    def server_snapshot(self) -> Any:
        self.snapshots += 1
        return {"cpu_seconds": 0.0, "length_mismatches": 0}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(_variant, "time", fake)
    monkeypatch.setattr(Slowing, "clock", fake)
    return fake


def test_repeats_keep_the_fastest_run(tmp_path: Path, clock: Clock) -> None:
    workload = Slowing(Context("http://127.0.0.1:9", {"repeats": 3}, tmp_path))

    result = asyncio.run(_variant.measure(workload, None))

    assert workload.runs == 3
    assert workload.snapshots == 6  # the server's figures are each run's own
    assert (result["run"], result["wall_s"], result["cpu_s"]) == (1, 1.0, 1.0)
    assert result["status"] == "ok"


def test_one_run_without_repeats(tmp_path: Path, clock: Clock) -> None:
    workload = Slowing(Context("http://127.0.0.1:9", {}, tmp_path))

    result = asyncio.run(_variant.measure(workload, None))

    assert (workload.runs, result["run"]) == (1, 1)
