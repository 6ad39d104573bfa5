"""The DANAconnect flow once more on ``HttpxTransport`` (asyncio backend), against the sandbox."""

from __future__ import annotations

import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

import signing_async as sa
from signing_async.sandbox import Fault, Sandbox

from .support import FAST_RETRY, SIGNER, WAIT, Samples, listing


@pytest.fixture
async def httpx_client(sb: Sandbox) -> AsyncIterator[sa.SigningClient]:
    async with sb.client(transport=sa.HttpxTransport(), retry=FAST_RETRY) as client:
        yield client


async def test_circuit_flow_on_httpx(
    sb: Sandbox, httpx_client: sa.SigningClient, files: Samples, tmp_path: Path
) -> None:
    target = tmp_path / "signed.zip"
    with anyio.fail_after(WAIT):
        circuit = await httpx_client.circuits.start(
            id="httpx-1", signer=SIGNER, docs=[files.contract, files.annex]
        )
        with pytest.raises(sa.ConflictError) as early:
            await httpx_client.circuits.download_to(circuit.circuit_id, target)
        await sb.complete_circuit(circuit.circuit_id)
        sb.faults.add(Fault(route="danaconnect.download", status=503, times=1))
        downloaded = await httpx_client.circuits.download_to(circuit.circuit_id, target)
        streamed = bytearray()
        async with httpx_client.circuits.download(circuit.circuit_id) as stream:
            async for chunk in stream.iter_chunks(32 * 1024):
                streamed += chunk

    assert circuit.circuit_id in str(early.value)
    with zipfile.ZipFile(target) as archive:
        assert archive.read("contract.pdf").startswith(files.contract.read_bytes())
        assert archive.read("annex.pdf").startswith(files.annex.read_bytes())
    assert bytes(streamed) == target.read_bytes()
    assert downloaded.size == len(streamed)
    assert listing(tmp_path) == ["in", "signed.zip"]
    assert len(sb.requests_for("danaconnect.token")) == 1
    statuses = [entry.status for entry in sb.requests_for("danaconnect.download")]
    assert statuses == [409, 503, 200, 200]


async def test_a_dropped_start_on_httpx_is_not_replayed(
    sb: Sandbox, httpx_client: sa.SigningClient, files: Samples
) -> None:
    sb.faults.add(Fault(route="danaconnect.start_circuit", drop="after", times=1))
    with anyio.fail_after(WAIT), pytest.raises(sa.TransportError) as caught:
        await httpx_client.circuits.start(id="httpx-2", signer=SIGNER, docs=files.contract)
    assert caught.value.request_sent is True
    assert [entry.status for entry in sb.requests_for("danaconnect.start_circuit")] == [None]
    await sb.complete_circuit("658936")  # it exists all the same
