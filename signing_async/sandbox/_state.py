"""State shared by every part of one sandbox: credentials, clock, log, faults, files."""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

import attrs
from aiohttp import web

from ._blobs import make_workdir
from ._faults import FaultSet
from ._log import RequestLog

__all__ = ["STATE_KEY", "Component", "SandboxCredentials", "SandboxState"]


@attrs.frozen(kw_only=True)
class SandboxCredentials:
    """The credentials the sandbox accepts.

    They are fixed and public (sandbox-only), but still kept out of ``repr``
    like every credential the SDK handles.
    """

    danaconnect_client_id: str = "sandbox-client"
    danaconnect_client_secret: str = attrs.field(default="sandbox-secret", repr=False)
    channel: str = "sandbox"
    danasign_api_token: str = attrs.field(default="sandbox-api-token", repr=False)
    danasign_readonly_token: str = attrs.field(default="sandbox-readonly-token", repr=False)
    sofia_client_id: str = "sofia-client"
    sofia_client_secret: str = attrs.field(default="sofia-secret", repr=False)
    sofia_tenant_id: str = "sandbox-tenant"


class Component(Protocol):
    """A provider emulation that holds state of its own."""

    def reset(self) -> None:
        """Forget everything created since start (seeded data comes back)."""


class SandboxState:
    """Everything one sandbox knows; handlers reach it through ``app[STATE_KEY]``."""

    def __init__(
        self,
        *,
        credentials: SandboxCredentials | None = None,
        token_lifetime: float = 3600.0,
        seed: int | None = None,
    ) -> None:
        if token_lifetime <= 0:
            raise ValueError(f"token_lifetime must be > 0, got {token_lifetime!r}")
        self.credentials = credentials or SandboxCredentials()
        self.seed = seed
        # Fault draws only; nothing secret comes from this generator.
        self.rng = random.Random(seed)  # noqa: S311
        self.initial_token_lifetime = float(token_lifetime)
        self.token_lifetime = float(token_lifetime)
        self.faults = FaultSet(self.rng)
        self.log = RequestLog()
        # Set once the server listens; until then URLs come from the request.
        self.base_url: str | None = None
        self.storage_url: str | None = None
        # Created on first use, so a sandbox that never stores a file leaves none.
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._components: list[Component] = []
        self._closed = False

    @property
    def workdir(self) -> Path:
        """The sandbox's private folder for stored documents and archives."""
        if self._closed:
            raise RuntimeError("the sandbox is closed")
        if self._workdir is None:
            self._workdir = make_workdir()
        return Path(self._workdir.name)

    def register(self, component: Component) -> None:
        """Include a component in :meth:`reset`."""
        self._components.append(component)

    def url_for(self, request: web.BaseRequest) -> str:
        """The API's base URL as clients reach it."""
        return self.base_url or f"{request.scheme}://{request.host}"

    def storage_url_for(self, request: web.BaseRequest) -> str:
        """The storage host's base URL (signed S.O.F.I.A. files)."""
        return self.storage_url or self.url_for(request)

    def reset(self) -> None:
        """Clear every object, the log and the faults; restore lifetime and seed."""
        for component in self._components:
            component.reset()
        self.log.clear()
        self.faults.clear()
        self.token_lifetime = self.initial_token_lifetime
        if self.seed is not None:
            self.rng.seed(self.seed)
        if self._workdir is None:
            return
        for child in self.workdir.iterdir():
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

    def close(self) -> None:
        """Delete the sandbox's files. Safe to call more than once."""
        if not self._closed:
            self._closed = True
            if self._workdir is not None:
                self._workdir.cleanup()


STATE_KEY = web.AppKey("signing_async_sandbox_state", SandboxState)
