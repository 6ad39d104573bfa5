"""The fake DANAconnect behind a ``MockTransport``, and a client wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import signing_async as sa

from .fake import CHANNEL, CLIENT_ID, CLIENT_SECRET, FakeDanaConnect, make_zip


@pytest.fixture
def signed_zip(pdf_bytes: bytes) -> bytes:
    """The ZIP a completed circuit downloads as."""
    return make_zip({"contract-signed.pdf": pdf_bytes, "evidence.pdf": pdf_bytes})


@pytest.fixture
def fake(signed_zip: bytes) -> FakeDanaConnect:
    """The scripted DANAconnect."""
    return FakeDanaConnect(zip_bytes=signed_zip)


@pytest.fixture
def transport(fake: FakeDanaConnect) -> sa.MockTransport:
    """A mock transport answered by ``fake``."""
    return sa.MockTransport(fake)


@pytest.fixture
def config() -> sa.DanaConnectConfig:
    """DANAconnect settings with the default hosts."""
    return sa.DanaConnectConfig(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, channel=CHANNEL, subdomain="acme"
    )


@pytest.fixture
def retry() -> sa.RetryPolicy:
    """The default policy, without waits."""
    return sa.RetryPolicy(backoff_initial=0)


@pytest.fixture
async def client(
    config: sa.DanaConnectConfig, transport: sa.MockTransport, retry: sa.RetryPolicy
) -> AsyncIterator[sa.SigningClient]:
    """A client talking to ``fake``."""
    async with sa.SigningClient(danaconnect=config, transport=transport, retry=retry) as client:
        yield client


@pytest.fixture
def signer() -> sa.CircuitSigner:
    """A valid signer."""
    return sa.CircuitSigner(name="Ana Pérez", email="ana@example.com", nif="12345678Z")
