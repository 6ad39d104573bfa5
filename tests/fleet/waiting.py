"""Waiting for workers in other tasks or processes: by polling the counts of the job."""

from __future__ import annotations

import anyio

from signing_async.fleet import JobStatus, job_status


async def wait_until_done(dsn: str, job: str) -> JobStatus:
    """Poll the job's counts until nothing is pending or in flight; return them."""
    while True:
        status = await job_status(dsn, job=job)
        if status.pending == status.in_flight == 0:
            return status
        await anyio.sleep(0.05)
