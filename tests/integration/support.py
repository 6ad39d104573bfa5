"""Helpers shared by the integration tests."""

from __future__ import annotations

import base64
from pathlib import Path

import aiohttp
import anyio
import attrs

import signing_async as sa
from signing_async.sandbox import LoggedRequest, Sandbox, SandboxCredentials

CREDENTIALS = SandboxCredentials(
    danaconnect_client_id="dc-client-4e1a",
    danaconnect_client_secret="dc-Secret-8f3a1c90",
    channel="acme",
    danasign_api_token="ds-ApiToken-51b7e2d4",
    danasign_readonly_token="ds-ReadOnly-0c94d6a1",
    sofia_client_id="sofia-client-93",
    sofia_client_secret="sofia-Secret-7d2e90b3",
    sofia_tenant_id="empresa-123",
)

FAST_RETRY = sa.RetryPolicy(backoff_initial=0.001, backoff_max=0.01)
"""Retries as the default policy does them, without the waits."""

SIGNER = sa.CircuitSigner(name="Ana Pérez", email="ana@example.com", nif="12345678Z")

WAIT = 30.0
"""A bound on any wait in these tests: a hang fails the test instead of stalling the run."""


@attrs.frozen
class Samples:
    """Sample inputs: PDFs on disk and in memory, a JPEG and a PNG."""

    contract: Path
    annex: Path
    terms: bytes
    jpeg: bytes
    png: bytes


def basic(user: str, password: str) -> str:
    """The value of a Basic Authorization header."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def bearer_tokens(entries: list[LoggedRequest]) -> list[str]:
    """The access tokens the requests carried, in order."""
    tokens = []
    for entry in entries:
        scheme, _, value = entry.headers.get("Authorization", "").partition(" ")
        assert scheme == "Bearer", f"{entry.route} carried no bearer token"
        tokens.append(value)
    return tokens


def listing(folder: Path) -> list[str]:
    """The names in ``folder``, hidden ones included, sorted."""
    return sorted(path.name for path in folder.iterdir())


async def sandbox_rejects(sb: Sandbox, token: str) -> bool:
    """Ask the sandbox itself whether it still accepts a DANAconnect access token.

    A download of an unknown circuit answers 404 to a live token and 401 to an
    expired one: the token is checked first.
    """
    url = f"{sb.url}/api/v1/biometric/document_circuit/{sb.credentials.channel}/circuit/probe"
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        assert response.status in (401, 404), response.status
        return response.status == 401


async def wait_until_rejected(sb: Sandbox, token: str) -> None:
    """Poll the sandbox until it says ``token`` has expired."""
    with anyio.fail_after(WAIT):
        # Polled, not timed: the sandbox's clock decides, whatever the machine's load.
        for _ in range(int(WAIT / 0.05)):
            if await sandbox_rejects(sb, token):
                return
            await anyio.sleep(0.05)
    raise AssertionError("the sandbox kept accepting the token")
