"""Fixtures for the S.O.F.I.A. tests: clients on a MockTransport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sofia_support import config

from signing_async import MockTransport, RetryPolicy, SigningClient
from signing_async.transports import RecordedRequest

Handler = Callable[[RecordedRequest], Any]
MakeClient = Callable[..., tuple[SigningClient, MockTransport]]


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    """Build clients answering from a handler; closed after the test.

    Backoff is zero so that retries cost no time.
    """
    clients: list[SigningClient] = []

    def make(handler: Handler, **overrides: Any) -> tuple[SigningClient, MockTransport]:
        transport = MockTransport(handler)
        client = SigningClient(
            sofia=config(**overrides),
            transport=transport,
            retry=RetryPolicy(backoff_initial=0.0),
        )
        clients.append(client)
        return client, transport

    yield make
    for client in clients:
        await client.aclose()
