"""The ``Sandbox``: the emulator on a real loopback socket, in-process or as a server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from aiohttp import web

# The sandbox is tooling: it sits above the providers and imports the client
# and their configs directly (they never import the sandbox).
from .._client import SigningClient
from ._app import make_app
from ._danaconnect import DANACONNECT, complete
from ._emulations import configs, credential_lines
from ._faults import Fault, FaultSet
from ._log import LoggedRequest
from ._sofia import SOFIA
from ._state import SandboxCredentials, SandboxState
from .danasign import DANASIGN, move_document

__all__ = ["Sandbox", "run", "serve"]

# Handlers still running at shutdown (say, held by a latency fault) get this
# long to finish before they are cancelled.
_SHUTDOWN_TIMEOUT = 1.0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class Sandbox:
    """A local emulator of DANAconnect, DANAsign and S.O.F.I.A. on one port.

    Example:
        >>> async with Sandbox() as sb:  # doctest: +SKIP
        ...     client = sb.client()
        ...     sb.faults.add(Fault(route="danaconnect.start_circuit", status=503, times=1))

    Args:
        host: The address to listen on.
        port: The port; ``0`` picks a free one (read it back from :attr:`url`).
        token_lifetime: ``expires_in`` of the DANAconnect tokens it issues.
        seed: Seeds the random draws of faults (probabilities, jittered
            latency), so a run can be repeated.
        credentials: The credentials to accept; the default ones otherwise.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token_lifetime: float = 3600.0,
        seed: int | None = None,
        *,
        credentials: SandboxCredentials | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.state = SandboxState(credentials=credentials, token_lifetime=token_lifetime, seed=seed)
        self.app = make_app(self.state)
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Start listening (``async with`` does this for you).

        Raises:
            RuntimeError: If the sandbox was already started.
        """
        if self._runner is not None:
            raise RuntimeError("the sandbox is already started")
        runner = web.AppRunner(
            self.app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
            # Compressed request bodies are refused (415) by the application;
            # aiohttp must not inflate them, without a limit, before it runs.
            auto_decompress=False,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        # With port 0 the kernel chose the port: read it back from the socket.
        self.port = int(runner.addresses[0][1])
        self.state.base_url = f"http://{_url_host(self.host)}:{self.port}"
        self.state.storage_url = f"http://localhost:{self.port}"

    async def aclose(self) -> None:
        """Stop listening and delete the sandbox's files."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        self.state.close()

    @property
    def url(self) -> str:
        """The API base URL, e.g. ``http://127.0.0.1:54321``.

        Raises:
            RuntimeError: Before the sandbox is started.
        """
        if self.state.base_url is None:
            raise RuntimeError("the sandbox is not started")
        return self.state.base_url

    @property
    def storage_url(self) -> str:
        """The storage base URL: same port, host name ``localhost``.

        S.O.F.I.A. signed files are served from here, a host other than the
        API's, as in production.
        """
        if self.state.storage_url is None:
            raise RuntimeError("the sandbox is not started")
        return self.state.storage_url

    @property
    def credentials(self) -> SandboxCredentials:
        """The credentials the sandbox accepts."""
        return self.state.credentials

    @property
    def token_lifetime(self) -> float:
        """``expires_in`` (seconds) of tokens issued from now on."""
        return self.state.token_lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError(f"token_lifetime must be > 0, got {seconds!r}")
        self.state.token_lifetime = float(seconds)

    @property
    def faults(self) -> FaultSet:
        """The armed faults: ``add(Fault(...))``, ``remove(fault)``, ``clear()``."""
        return self.state.faults

    @property
    def requests(self) -> list[LoggedRequest]:
        """The request log, in arrival order (a copy of the list)."""
        return self.state.log.entries

    def requests_for(self, route: str) -> list[LoggedRequest]:
        """The logged requests of one route, e.g. ``"danaconnect.token"``."""
        return self.state.log.for_route(route)

    def max_in_flight(self, route: str | None = None) -> int:
        """The most requests handled at once, for one route or overall."""
        return self.state.log.max_in_flight(route)

    def created_count(self, external_id: str) -> int:
        """How many DANAsign documents were created with this ``metadata.externalId``.

        Documents created from a template count too.
        """
        return self.app[DANASIGN].created_count(external_id)

    def reset(self) -> None:
        """Clear every object, the request log and the faults."""
        self.state.reset()

    async def complete_circuit(self, circuit_id: str) -> None:
        """Act as the signer of a DANAconnect circuit, as ``/_sandbox/circuits/{id}/complete``.

        Raises:
            KeyError: No such circuit.
        """
        if not await complete(self.app[DANACONNECT], circuit_id):
            raise KeyError(f"no circuit {circuit_id!r}")

    def otp(self, transaction_id: str) -> str:
        """The OTP the S.O.F.I.A. signer received, as ``/_sandbox/otp/{id}``.

        Raises:
            KeyError: No such transaction.
        """
        return self.app[SOFIA].transactions[transaction_id].otp

    def set_document_status(self, document_id: str, status: str) -> None:
        """Move a DANAsign document along, as ``/_sandbox/documents/{id}/status``.

        Raises:
            KeyError: No such document.
            ValueError: An unknown status.
        """
        move_document(self.app[DANASIGN].documents[document_id], status)

    def client(self, **overrides: Any) -> SigningClient:
        """A ``signing_async.SigningClient`` configured for this sandbox.

        Args:
            **overrides: Extra keyword arguments for ``SigningClient`` (for
                example ``retry=`` or ``transport=``), or replacements for the
                ``danaconnect``, ``danasign`` and ``sofia`` configs.

        Returns:
            A ``signing_async.SigningClient``; use it with ``async with``.
        """
        options: dict[str, Any] = configs(self.url, self.credentials)
        options.update(overrides)
        return SigningClient(**options)

    def __repr__(self) -> str:
        where = self.state.base_url or "not started"
        return f"<Sandbox {where}>"


def _write_ready_file(path: Path, url: str) -> None:
    # Written under another name and renamed, so a poller never reads half a URL.
    descriptor, temporary = tempfile.mkstemp(prefix=".ready-", dir=path.parent or Path("."))
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(url + "\n")
    os.replace(temporary, path)


async def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    token_lifetime: float = 3600.0,
    seed: int | None = None,
    ready_file: str | os.PathLike[str] | None = None,
    stop: asyncio.Event | None = None,
    out: TextIO | None = None,
    faults: Sequence[Fault] = (),
) -> None:
    """Run a sandbox until ``stop`` is set or the process gets SIGINT/SIGTERM.

    Prints the URL and the credentials, one line each, once listening.

    Args:
        host: The address to listen on.
        port: The port (``0`` picks a free one).
        token_lifetime: ``expires_in`` of issued tokens.
        seed: Seed for fault draws.
        ready_file: A file to write the URL to once listening.
        stop: An event that stops the server when set.
        out: Where to print (standard output by default).
        faults: Faults in force from the start.
    """
    stream = out or sys.stdout
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not available off the main thread or on Windows: Ctrl-C still works there.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    ready_path = Path(ready_file) if ready_file is not None else None
    try:
        async with Sandbox(host, port, token_lifetime=token_lifetime, seed=seed) as sandbox:
            for fault in faults:
                sandbox.faults.add(fault)
            lines = [
                f"sandbox listening on {sandbox.url} (storage host {sandbox.storage_url})",
                *credential_lines(sandbox.credentials),
            ]
            print("\n".join(lines), file=stream, flush=True)
            if ready_path is not None:
                _write_ready_file(ready_path, sandbox.url)
            await stop.wait()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
        if ready_path is not None:
            ready_path.unlink(missing_ok=True)


def run(
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    token_lifetime: float = 3600.0,
    seed: int | None = None,
    ready_file: str | os.PathLike[str] | None = None,
    faults: Sequence[Fault] = (),
) -> None:
    """Run a sandbox server in this process until SIGINT or SIGTERM.

    Args:
        host: The address to listen on.
        port: The port (``0`` picks a free one).
        token_lifetime: ``expires_in`` of issued tokens.
        seed: Seed for fault draws.
        ready_file: A file to write the URL to once listening (and to delete
            on exit), for parents that start the sandbox in a child process.
        faults: Faults in force from the start.
    """
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve(
                host,
                port,
                token_lifetime=token_lifetime,
                seed=seed,
                ready_file=ready_file,
                faults=faults,
            )
        )
