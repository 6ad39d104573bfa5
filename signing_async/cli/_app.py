"""The ``signing-async`` command group."""

from __future__ import annotations

import click

from .._version import __version__
from ._bulk import bulk_send
from ._bulk_status import bulk_status
from ._check import check
from ._demo import demo
from ._resources import circuits, contacts, documents, otp, templates
from ._sandbox import sandbox
from ._worker import worker

__all__ = ["cli"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="signing-async")
def cli() -> None:
    """Async SDK for DANAconnect, DANAsign and S.O.F.I.A. e-signatures.

    Provider credentials come from SIGNING_* environment variables (see the
    README). `signing-async demo` needs none: it runs against an embedded sandbox.
    `signing-async check` tries your accounts with read-only calls.

    \b
    Exit status: 0 done; 1 a call failed (or bulk items failed); 2 bad usage;
    3 a bulk run stopped early; 130 interrupted; 141 output closed by its
    reader (| head).
    """


for command in (demo, sandbox, circuits, documents, contacts, templates, otp):
    cli.add_command(command)
cli.add_command(bulk_send)
cli.add_command(bulk_status)
cli.add_command(check)
cli.add_command(worker)
