"""The fleet: one submitted job sent by 1, 2 or 4 ``signing-async worker`` processes.

Each run has a PostgreSQL of its own (from the ``pgserver`` wheel's
binaries, as the fleet tests start it: data, socket and log in a temporary
folder, no TCP port) and its own worker processes, started and warmed up
(a small job sent) before the measurement. The measured section submits
the job (``signing_async.fleet.submit``: items stored, one queue task per
chunk) and waits until the job has nothing pending or in flight; the
workers send it to the minimal server's ``createdocument``, which answers
after the case's latency.

Besides items/s it reports the CPU time the work cost, per item, in the
worker processes and in PostgreSQL (every ``postgres`` process, the
backends that ended during the run included: the postmaster's reaped
children's time), read from ``/proc``: it runs on Linux only.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from ._payloads import pdf_bytes
from ._sandbox import ROLE, WIDGET
from ._server import API_TOKEN
from ._workloads import SIGNER, Workload, configure_server, register

ROOT = Path(__file__).resolve().parent.parent

WARM_UP_CHUNKS = 2
"""Chunks per worker sent before the measurement (imports done, connections open)."""

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name (field 3 first)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a live process."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / _TICKS


def tree_cpu(parent: int) -> float:
    """CPU seconds of ``parent``, its live children, and its children that ended."""
    fields = _stat(parent)
    total = sum(int(field) for field in fields[11:15])  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            child = _stat(int(entry.name))
        except (OSError, ValueError):  # ended while being read
            continue
        if int(child[1]) == parent:
            total += int(child[11]) + int(child[12])
    return total / _TICKS


class _Fleet(Workload):
    """A PostgreSQL, ``workers`` worker processes, and a job of ``count`` tiny documents."""

    workers: ClassVar[int]

    @classmethod
    def unavailable(cls, params: dict[str, Any]) -> str | None:
        if not Path("/proc/self/stat").exists():
            return "reads CPU times from /proc (Linux only)"
        try:
            import procrastinate  # noqa: F401 - only checking that it is there

            from tests.fleet.postgres import postgres_bin

            postgres_bin()
        except ImportError as exc:
            return f"needs the fleet extra: {exc}"
        except RuntimeError as exc:
            return str(exc)
        return None

    async def setup(self) -> None:
        from tests.fleet.postgres import LocalPostgres

        configure_server(self.context.url, document_delay=self.params["latency"])
        self.folder = Path(tempfile.mkdtemp(prefix="fleet-", dir=self.context.workdir))
        self.pdf = self.folder / "contract.pdf"
        self.pdf.write_bytes(pdf_bytes(int(self.params["size"])))
        self.postgres = LocalPostgres()
        self.dsn = self.postgres.start()
        env = {
            **os.environ,
            "SIGNING_DANASIGN_SERVER_URL": self.context.url,
            "SIGNING_DANASIGN_API_TOKEN": API_TOKEN,
        }
        self.processes = [self._start_worker(number, env) for number in range(self.workers)]
        await self._until_workers_connect()
        chunk = int(self.params["chunk_size"])
        await self._send("warm-up", WARM_UP_CHUNKS * chunk * self.workers)

    def _start_worker(self, number: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
        """``signing-async worker``, named in PostgreSQL so that the setup sees it connected."""
        command = [
            sys.executable, "-m", "signing_async.cli", "worker",
            "--journal", f"{self.dsn}&application_name=bench-worker-{number}",
            "--concurrency", str(self.params["concurrency"]),
        ]  # fmt: skip
        with (self.folder / f"worker-{number}.log").open("wb") as log:
            return subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
                command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )

    async def _until_workers_connect(self) -> None:
        """Wait until every worker is connected (so none starts late in the measurement)."""
        import psycopg

        for _ in range(3000):
            self._check_workers()
            async with await psycopg.AsyncConnection.connect(self.dsn) as connection:
                row = await (
                    await connection.execute(
                        "SELECT count(DISTINCT application_name) FROM pg_stat_activity"
                        " WHERE application_name LIKE 'bench-worker-%'"
                    )
                ).fetchone()
            if row is not None and row[0] >= self.workers:
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("the workers did not connect in time")

    def _check_workers(self) -> None:
        for number, process in enumerate(self.processes):
            if process.poll() is not None:
                log = (self.folder / f"worker-{number}.log").read_text()[-2000:]
                raise RuntimeError(f"worker {number} exited with {process.returncode}: {log}")

    def _items(self, job: str, count: int) -> list[dict[str, Any]]:
        return [
            {
                "file": str(self.pdf),
                "title": f"Contract {job}-{index}",
                "signers": [{"role": ROLE, "name": SIGNER["name"], "email": SIGNER["email"]}],
                "placeholders": [{"role": ROLE, "widgets": [WIDGET]}],
                "metadata": {"external_id": f"{job}-{index:06d}"},
            }
            for index in range(count)
        ]

    async def _send(self, job: str, count: int) -> float:
        """Submit a job of ``count`` items and wait for its end; return the submit's seconds."""
        from signing_async.fleet import job_status, submit

        items = self._items(job, count)
        started = asyncio.get_running_loop().time()
        await submit(
            self.dsn,
            provider="danasign",
            items=items,
            job=job,
            chunk_size=int(self.params["chunk_size"]),
        )
        submitted = asyncio.get_running_loop().time() - started
        while True:
            status = await job_status(self.dsn, job=job)
            if status.pending == status.in_flight == 0:
                break
            self._check_workers()
            await asyncio.sleep(0.05)
        if status.succeeded != count:
            raise RuntimeError(f"{job}: {status}")
        return submitted

    def _cpu(self) -> tuple[float, float]:
        postmaster = int((self.postgres.data / "postmaster.pid").read_text().split()[0])
        workers = sum(process_cpu(process.pid) for process in self.processes)
        return workers, tree_cpu(postmaster)

    async def run(self) -> dict[str, Any]:
        count = int(self.params["count"])
        workers_before, postgres_before = self._cpu()
        submit_s = await self._send("bench", count)
        workers_after, postgres_after = self._cpu()
        ideal = self.workers * int(self.params["concurrency"]) / self.params["latency"]
        return {
            "requests": count,
            "submit_s": submit_s,
            "worker_cpu_s": workers_after - workers_before,
            "postgres_cpu_s": postgres_after - postgres_before,
            "ideal_items_per_s": ideal,
        }

    def server_snapshot(self) -> Any:
        """The server's counters, and the transaction ids PostgreSQL has handed out."""
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as connection:
            row = connection.execute("SELECT txid_current()").fetchone()
        return {**super().server_snapshot(), "txid": int(row[0]) if row else 0}

    def server_delta(self, before: Any, after: Any) -> dict[str, Any]:
        figures = super().server_delta(before, after)
        # Every transaction that wrote got an id (one more: the snapshot's own).
        figures["write_transactions"] = after["txid"] - before["txid"] - 1
        created = after["documents"] - before["documents"]
        if created != int(self.params["count"]):
            raise RuntimeError(f"the server created {created} documents for {self.params['count']}")
        return figures

    async def teardown(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.postgres.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@register("fleet/1-worker")
class OneWorker(_Fleet):
    """One worker process."""

    workers = 1


@register("fleet/2-workers")
class TwoWorkers(_Fleet):
    """Two worker processes."""

    workers = 2


@register("fleet/4-workers")
class FourWorkers(_Fleet):
    """Four worker processes."""

    workers = 4
