"""``python -m signing_async.sandbox``: run the sandbox as a server."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ._server import run


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and serve until SIGINT/SIGTERM.

    Args:
        argv: The arguments (``sys.argv[1:]`` when ``None``).

    Returns:
        The process exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m signing_async.sandbox",
        description="Local emulator of the DANAconnect, DANAsign and S.O.F.I.A. APIs.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port (0 picks a free one)")
    parser.add_argument(
        "--token-lifetime", type=float, default=3600.0, help="seconds DANAconnect tokens last"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for fault draws")
    parser.add_argument(
        "--ready-file", default=None, help="write the URL to this file once listening"
    )
    args = parser.parse_args(argv)
    if args.token_lifetime <= 0:
        parser.error("--token-lifetime must be > 0")
    run(
        args.host,
        args.port,
        token_lifetime=args.token_lifetime,
        seed=args.seed,
        ready_file=args.ready_file,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
