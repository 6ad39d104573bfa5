"""The README's hand-written transport (examples/custom_transport.py) really works."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path
from types import ModuleType

import aiohttp
import pytest

import signing_async as sa
from signing_async.sandbox import Sandbox, samples

EXAMPLE = Path(__file__).parents[2] / "examples" / "custom_transport.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("custom_transport", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_example_transport_runs_a_provider_flow(tmp_path: Path) -> None:
    example = load_example()
    pdf = samples.write_pdf(tmp_path / "contract.pdf", pages=1, size=300_000)
    async with aiohttp.ClientSession() as session, Sandbox() as sb:
        transport = example.SessionTransport(session)
        async with sb.client(transport=transport) as client:
            contact = await client.contacts.create(name="Ana", email="ana@example.com")
            created = await client.documents.create(
                file=pdf,  # a streamed body: Base64 read from disk
                title="Contract",
                signers=[sa.Signer("Client", "Ana", "ana@example.com")],
                placeholders=[
                    sa.Placeholder("Client", [sa.Widget("signature", 1, 72, 600, 100, 40)])
                ],
                metadata=sa.DocumentMetadata(external_id="example-1"),
            )
        assert contact.object_id
        assert created.status == "sent"
        assert sb.created_count("example-1") == 1
        assert not session.closed  # the caller's session stays the caller's


async def test_the_example_transport_maps_a_refused_connection() -> None:
    example = load_example()
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with aiohttp.ClientSession() as session:
        transport = example.SessionTransport(session)
        config = sa.DanaSignConfig(server_url=f"http://127.0.0.1:{port}", api_token="t")
        async with sa.SigningClient(
            danasign=config, transport=transport, retry=sa.RetryPolicy(max_retries=0)
        ) as client:
            with pytest.raises(sa.ConnectError) as caught:
                await client.contacts.create(name="Ana", email="ana@example.com")
    assert caught.value.request_sent is False
