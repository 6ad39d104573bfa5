"""The ``signing-async`` command line (extra ``[cli]``: click and rich)."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Entry point of the ``signing-async`` console script."""
    try:
        from ._app import cli
    except ImportError as exc:  # click or rich missing
        sys.stderr.write(
            f"signing-async: the command line needs the [cli] extra ({exc.name} is missing):\n"
            "    python3 -m pip install 'signing-async[cli]'\n"
        )
        raise SystemExit(2) from None
    cli()
