"""Waiting for workers in other tasks or processes: by polling the counts of the job."""

from __future__ import annotations

from collections.abc import Callable

import anyio

from signing_async.fleet import JobStatus, job_status


async def wait_for_status(dsn: str, job: str, done: Callable[[JobStatus], bool]) -> JobStatus:
    """Poll the job's counts until ``done`` holds for them; return them."""
    while True:
        status = await job_status(dsn, job=job)
        if done(status):
            return status
        await anyio.sleep(0.05)


async def wait_until_done(dsn: str, job: str) -> JobStatus:
    """Poll the job's counts until nothing is pending or in flight; return them."""
    return await wait_for_status(dsn, job, lambda status: status.pending == status.in_flight == 0)
