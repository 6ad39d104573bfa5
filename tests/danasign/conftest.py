"""Fixtures for DANAsign tests: a client on a MockTransport, a real PDF."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from danasign_helpers import FAST, SERVER, TOKEN, Handler, MakeClient, make_pdf

import signing_async as sa


@pytest.fixture
def a4_pdf() -> bytes:
    """A one-page A4 PDF (595.28 x 841.89 pt, as PDF writers make it)."""
    return make_pdf((595.28, 841.89))


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    """Builds DANAsign clients on MockTransports; closes them afterwards."""
    clients: list[sa.SigningClient] = []

    def make(handler: Handler) -> tuple[sa.SigningClient, sa.MockTransport]:
        transport = sa.MockTransport(handler)
        client = sa.SigningClient(
            danasign=sa.DanaSignConfig(server_url=SERVER, api_token=TOKEN),
            transport=transport,
            retry=FAST,
        )
        clients.append(client)
        return client, transport

    yield make
    for client in clients:
        await client.aclose()
