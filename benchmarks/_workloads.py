"""Workloads: what one variant does in its child process, registered by name.

A workload is created from a :class:`Context` in a fresh process. ``setup``
imports what it needs, creates its client and sends one warm-up request;
then the harness (``benchmarks._variant``) takes the memory baseline and a
snapshot of the server's counters, times ``run``, takes the counters again
and calls ``teardown``. ``run`` returns the work done (requests, bytes) plus
any figures of its own.

Adding a benchmark of another SDK call is a small addition: a workload class
for the SDK, one for the raw baseline if it has none yet, and a case in
``benchmarks._suite``. A workload that cannot run in this environment (an
optional library not installed) says so in :meth:`Workload.unavailable`; the
suite then reports it as "not available" rather than skipping it quietly.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ._server import CLIENT_ID, CLIENT_SECRET

__all__ = [
    "CHANNEL",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "REGISTRY",
    "SIGNER",
    "Context",
    "Workload",
    "configure_server",
    "load_all",
    "register",
    "run_many",
    "server_stats",
]

CHANNEL = "bench"
SIGNER = {"name": "Ana Benchmark", "email": "ana@example.com", "nif": "12345678Z"}


@dataclass(frozen=True)
class Context:
    """What a workload knows about its run.

    Attributes:
        url: The benchmark server, ``http://127.0.0.1:<port>``.
        params: The case's parameters (sizes, counts, concurrency, file paths).
        workdir: A folder of the run's temporary directory for files it writes.
    """

    url: str
    params: dict[str, Any]
    workdir: Path


class Workload:
    """One variant of one benchmark, run in its own process."""

    name: ClassVar[str]
    """``benchmark/variant``, e.g. ``upload/sdk-circuits``."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.params = context.params

    @classmethod
    def unavailable(cls, params: dict[str, Any]) -> str | None:
        """Why this workload cannot run with this SDK, or None when it can."""
        return None

    async def setup(self) -> None:
        """Create the client and send one warm-up request."""

    async def run(self) -> dict[str, Any]:
        """Do the measured work; return ``requests`` and/or ``bytes`` done, and any extra."""
        raise NotImplementedError

    async def teardown(self) -> None:
        """Close the client, remove what was written."""

    def server_snapshot(self) -> Any:
        """The server's counters (a blocking call, made outside the timed section)."""
        return server_stats(self.context.url)

    def server_delta(self, before: Any, after: Any) -> dict[str, Any]:
        """What the server did during the run, from two snapshots: figures for the result."""
        return {
            "server_cpu_s": after["cpu_seconds"] - before["cpu_seconds"],
            "length_mismatches": after["length_mismatches"] - before["length_mismatches"],
        }


REGISTRY: dict[str, type[Workload]] = {}

W = TypeVar("W", bound=type[Workload])


def register(name: str) -> Callable[[W], W]:
    """Class decorator: make a workload available under ``name``."""

    def decorate(cls: W) -> W:
        cls.name = name
        REGISTRY[name] = cls
        return cls

    return decorate


def load_all() -> dict[str, type[Workload]]:
    """Import every workload module and return the registry."""
    from . import (  # noqa: F401 - imported to register
        _bulk_tiny,
        _fleet,
        _raw,
        _sdk_danaconnect,
        _sdk_danasign,
    )

    return REGISTRY


async def run_many(count: int, concurrency: int, one: Callable[[int], Awaitable[object]]) -> None:
    """Call ``one(0) .. one(count - 1)`` with at most ``concurrency`` calls in flight.

    Every variant uses this same loop, so its cost is the same on both sides
    of a ratio.
    """
    numbers = itertools.count()

    async def worker() -> None:
        for index in numbers:
            if index >= count:
                return
            await one(index)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))


def server_stats(url: str) -> dict[str, Any]:
    """The server's counters (read with a blocking call, outside any timed section)."""
    with urllib.request.urlopen(f"{url}/_bench/stats", timeout=30) as answer:  # noqa: S310 - loopback
        stats: dict[str, Any] = json.load(answer)
    return stats


def configure_server(url: str, **settings: float) -> None:
    """Change the server's token lifetime or delay."""
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{url}/_bench/config",
        data=json.dumps(settings).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
        answer.read()
