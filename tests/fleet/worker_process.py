"""A fleet worker in a process of its own, for tests and benchmarks that kill or count them.

``python -m tests.fleet.worker_process --dsn DSN --url URL --token T`` runs
:func:`signing_async.fleet.run_worker` with a DANAsign client for ``URL``
until it is killed. Retries back off for milliseconds, not seconds, so that a
run with injected 503s ends soon.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

import signing_async as sa
from signing_async.fleet import run_worker

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and run the worker until the process is killed."""
    parser = argparse.ArgumentParser(prog="python -m tests.fleet.worker_process")
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--url", required=True, help="the DANAsign server")
    parser.add_argument("--token", required=True, help="its API token")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--stalled-after", type=float, default=1.5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    def client() -> sa.SigningClient:
        return sa.SigningClient(
            danasign=sa.DanaSignConfig(server_url=args.url, api_token=args.token),
            retry=sa.RetryPolicy(backoff_initial=0.005, backoff_max=0.05),
        )

    asyncio.run(
        run_worker(
            args.dsn,
            client_factory=client,
            concurrency=args.concurrency,
            stalled_after=args.stalled_after,
        )
    )


if __name__ == "__main__":
    main()
