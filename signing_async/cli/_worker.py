"""``signing-async worker --journal postgresql://...``: send the chunks of submitted jobs.

Credentials come from the ``SIGNING_*`` environment variables, as for every
command; the worker runs until it is interrupted (Ctrl-C, or SIGTERM from a
process manager: both stop it at once, which the journal makes safe, and
its chunks go to the other workers).
"""

from __future__ import annotations

import signal

import anyio
import click

from .._client import SigningClient
from .._core.bulk._dsn import is_dsn, safe_dsn
from .._core.errors import ConfigurationError, ValidationError
from ..transports import AiohttpTransport
from ..transports._network import network_from_env
from ._common import FLEET_EXTRA, USAGE, json_option, run_async
from ._output import Output

__all__ = ["worker"]


@click.command("worker")
@click.option(
    "--journal",
    required=True,
    metavar="postgresql://...",
    help="The PostgreSQL database jobs were submitted to (bulk-send --submit).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=256),
    default=16,
    show_default=True,
    help="Requests in flight at most, across the chunks this worker sends.",
)
@click.option(
    "--stalled-after",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds without a heartbeat after which a worker is taken for dead"
    " and its chunks are queued again.",
)
@json_option
@run_async
async def worker(out: Output, journal: str, concurrency: int, stalled_after: float) -> int:
    """Send the chunks of jobs submitted to a PostgreSQL journal, until interrupted.

    Run as many workers as you like, on any machines: they share the jobs,
    and nothing is sent twice. A worker killed mid-chunk leaves its unsent
    items to the others and its in-flight ones uncertain (see bulk-status).
    """
    if not is_dsn(journal):
        out.error("--journal must be a PostgreSQL database (postgresql://...)")
        return USAGE
    try:
        from ..fleet import run_worker
    except ImportError:
        out.error(FLEET_EXTRA)
        return USAGE

    try:
        # Built now, so that missing credentials fail before the worker starts.
        client = SigningClient.from_env(transport=AiohttpTransport(**network_from_env()))
    except (ConfigurationError, ValidationError) as exc:
        out.error(f"{exc} (see the README for the SIGNING_* environment variables)")
        return USAGE
    out.step(f"worker on {safe_dsn(journal)}, {concurrency} requests at a time; Ctrl-C stops it")
    async with anyio.create_task_group() as group:
        group.start_soon(_stop_on_sigterm, group.cancel_scope)
        await run_worker(
            journal,
            client_factory=lambda: client,
            concurrency=concurrency,
            stalled_after=stalled_after,
        )
    return 0


async def _stop_on_sigterm(scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM) as signals:
        async for _ in signals:
            scope.cancel()
            return
