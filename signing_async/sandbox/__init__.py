"""A local emulator of the three provider APIs, for tests, demos and benchmarks.

One ``aiohttp.web`` application serves DANAconnect, DANAsign and S.O.F.I.A. on
one port, with their authentication, validation, status codes and error
bodies, plus fault injection, a request log and ``/_sandbox/`` control routes.

Example:
    >>> from signing_async.sandbox import Fault, Sandbox
    >>> async def main() -> None:  # doctest: +SKIP
    ...     async with Sandbox() as sb:
    ...         sb.faults.add(Fault(route="danaconnect.start_circuit", status=503, times=1))
    ...         async with sb.client() as client:
    ...             ...

Run it as a server with ``python -m signing_async.sandbox --port 8080``.
"""

from __future__ import annotations

from . import samples
from ._app import make_app
from ._faults import Fault, FaultSet
from ._log import LoggedRequest
from ._server import Sandbox, run, serve
from ._state import SandboxCredentials

__all__ = [
    "Fault",
    "FaultSet",
    "LoggedRequest",
    "Sandbox",
    "SandboxCredentials",
    "make_app",
    "run",
    "samples",
    "serve",
]
