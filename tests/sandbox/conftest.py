"""Fixtures for the sandbox tests: a running sandbox and a plain aiohttp client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sandbox_helpers import TokenFactory, basic

from signing_async.sandbox import Sandbox


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=1234) as sandbox:
        yield sandbox


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # A fresh connection per request: dropped connections in fault tests must
    # not leave a half-dead keep-alive connection for the next request.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


@pytest.fixture
def dc_token(sb: Sandbox, http: aiohttp.ClientSession) -> TokenFactory:
    """Fetches a fresh DANAconnect access token."""

    async def fetch() -> str:
        creds = sb.credentials
        async with http.post(
            f"{sb.url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            headers={
                "Authorization": basic(creds.danaconnect_client_id, creds.danaconnect_client_secret)
            },
        ) as response:
            assert response.status == 200
            data: dict[str, Any] = await response.json()
            return str(data["access_token"])

    return fetch


@pytest.fixture
def sofia_auth(sb: Sandbox) -> dict[str, str]:
    """Headers with the S.O.F.I.A. Basic credentials."""
    creds = sb.credentials
    return {"Authorization": basic(creds.sofia_client_id, creds.sofia_client_secret)}


@pytest.fixture
def ds_headers(sb: Sandbox) -> dict[str, str]:
    """Headers with the full-scope DANAsign API token for /api/1.0 routes."""
    return {"x-api-token": sb.credentials.danasign_api_token}
