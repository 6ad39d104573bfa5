"""SigningClient: lazy namespaces, configuration errors, lifecycle."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

import signing_async as sa


def make_config() -> sa.DanaConnectConfig:
    return sa.DanaConnectConfig(
        client_id="id", client_secret="secret", channel="acme", subdomain="acme"
    )


def test_public_names() -> None:
    assert sa.__all__ == sorted(sa.__all__)
    for name in sa.__all__:
        assert getattr(sa, name) is not None


def test_created_outside_an_event_loop() -> None:
    # aiohttp refuses to create a ClientSession without a running loop; the
    # default transport must therefore not create one before the first request.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = sa.SigningClient(danaconnect=make_config())
        transport = sa.AiohttpTransport()
    assert isinstance(client.circuits, sa.danaconnect.Circuits)
    assert isinstance(transport, sa.Transport)


async def test_unconfigured_provider() -> None:
    async with sa.SigningClient(transport=sa.MockTransport(lambda r: sa.Response(200))) as client:
        with pytest.raises(sa.ConfigurationError, match=r"danaconnect=DanaConnectConfig"):
            _ = client.circuits


async def test_namespace_is_created_once() -> None:
    async with sa.SigningClient(
        danaconnect=make_config(), transport=sa.MockTransport(lambda r: sa.Response(200))
    ) as client:
        assert client.circuits is client.circuits


async def test_lifecycle(pdf_bytes: bytes, tmp_path: Path) -> None:
    transport = sa.MockTransport(lambda r: sa.Response(200))
    client = sa.SigningClient(danaconnect=make_config(), transport=transport)
    async with client as entered:
        assert entered is client
        circuits = client.circuits
    assert transport.closed

    await client.aclose()  # twice is fine
    with pytest.raises(sa.ConfigurationError, match="closed"):
        _ = client.circuits
    with pytest.raises(sa.SigningError, match="closed"):
        await circuits.start(
            id="1", signer={"name": "A", "email": "a@example.com", "nif": "1"}, docs=pdf_bytes
        )
    with pytest.raises(sa.SigningError, match="closed"):
        await circuits.download_to("1", tmp_path / "unused.zip")
    assert transport.requests == []
    assert os.listdir(tmp_path) == []
