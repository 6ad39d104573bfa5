"""``signing-async sandbox``: the emulator as a local server."""

from __future__ import annotations

import json

import click

from ..sandbox import Fault, run
from ..sandbox._faults import UnknownRoute

__all__ = ["sandbox"]


def _fault(_: click.Context, __: click.Parameter, values: tuple[str, ...]) -> list[Fault]:
    faults = []
    for value in values:
        try:
            data = json.loads(value)
            if not isinstance(data, dict):
                # Fault.from_json expects an object; a list or a number would fail inside it.
                raise ValueError("a fault must be a JSON object")
            faults.append(Fault.from_json(data))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            raise click.BadParameter(f"{value!r}: {exc}") from None
    return faults


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, help="Port (0 picks a free one).")
@click.option(
    "--token-lifetime",
    default=3600.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds a DANAconnect token lasts.",
)
@click.option("--seed", type=int, help="Seed for fault draws, for repeatable runs.")
@click.option("--ready-file", help="Write the URL to this file once listening.")
@click.option(
    "--fault",
    "faults",
    multiple=True,
    callback=_fault,
    metavar="JSON",
    help='A fault to inject, e.g. \'{"route": "danasign.createdocument", "status": 503, '
    '"probability": 0.1}\' (repeatable; also settable at run time: POST /_sandbox/faults).',
)
def sandbox(
    host: str,
    port: int,
    token_lifetime: float,
    seed: int | None,
    ready_file: str | None,
    faults: list[Fault],
) -> None:
    """Run the local emulator of all three APIs until Ctrl-C.

    It prints its URL and the credentials it accepts. Point a client at it
    with the SIGNING_* variables, or use it from tests. It exits with status 1
    when it cannot listen (the port is taken, say).
    """
    try:
        run(
            host,
            port,
            token_lifetime=token_lifetime,
            seed=seed,
            ready_file=ready_file,
            faults=faults,
        )
    except UnknownRoute as exc:
        click.echo(f"error: --fault: {exc}", err=True)
        raise SystemExit(2) from None
    except OSError as exc:
        # The port is taken, the address is not local, the ready file's folder
        # does not exist: the user's to fix, so one line and no traceback.
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
