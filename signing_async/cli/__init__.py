"""The ``signing-async`` command line (extra ``[cli]``: click and rich)."""

from __future__ import annotations

import sys

__all__ = ["main"]

# What the [cli] extra installs; only their absence earns the install hint.
_EXTRA = frozenset({"click", "rich"})


def main() -> None:
    """Entry point of the ``signing-async`` console script."""
    try:
        from ._app import cli
    except ImportError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in _EXTRA:
            # Any other failed import is a broken installation or a bug: the
            # install hint would send the user the wrong way, so let it show.
            raise
        sys.stderr.write(
            f"signing-async: the command line needs the [cli] extra ({missing} is missing):\n"
            "    python3 -m pip install 'signing-async[cli]'\n"
        )
        raise SystemExit(2) from None
    cli()
