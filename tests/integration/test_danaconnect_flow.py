"""DANAconnect end to end: start a circuit, wait for the signer, download the signed ZIP."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import anyio
import pytest

import signing_async as sa
from signing_async.sandbox import Fault, Sandbox

from .support import SIGNER, WAIT, Samples, listing


async def start_three(client: sa.SigningClient, files: Samples, id: str = "order-1") -> sa.Circuit:
    return await client.circuits.start(
        id=id,
        signer=SIGNER,
        docs=[files.contract, files.annex, sa.Document(files.terms, "terms.pdf")],
    )


async def test_the_whole_circuit_flow(
    sb: Sandbox, client: sa.SigningClient, files: Samples, tmp_path: Path
) -> None:
    target = tmp_path / "signed.zip"
    with anyio.fail_after(WAIT):
        circuit = await start_three(client, files)
        with pytest.raises(sa.ConflictError) as early:
            await client.circuits.download_to(circuit.circuit_id, target)
        await sb.complete_circuit(circuit.circuit_id)
        downloaded = await client.circuits.download_to(circuit.circuit_id, target)
        streamed = bytearray()
        async with client.circuits.download(circuit.circuit_id) as stream:
            announced = stream.content_length
            async for chunk in stream.iter_chunks(64 * 1024):
                streamed += chunk

    assert circuit.link is not None
    assert circuit.link.endswith(f"/sign/{circuit.circuit_id}")
    # The 409 names the circuit and carries the server's text; nothing was written.
    assert early.value.status == 409
    assert circuit.circuit_id in str(early.value)
    assert "circuit not completed" in str(early.value)
    assert "DANAconnect" in str(early.value)

    content = target.read_bytes()
    assert downloaded.path == target
    assert downloaded.size == len(content)
    assert downloaded.sha256 == hashlib.sha256(content).hexdigest()
    originals = {
        "contract.pdf": files.contract.read_bytes(),
        "annex.pdf": files.annex.read_bytes(),
        "terms.pdf": files.terms,
    }
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == sorted(originals)
        for name, original in originals.items():
            signed = archive.read(name)
            # The signed copy keeps the original bytes and appends the signature.
            assert signed.startswith(original)
            assert len(signed) > len(original)
    assert bytes(streamed) == content
    assert announced == len(content)
    assert listing(tmp_path) == ["in", "signed.zip"]

    # One token for the whole flow; every call carried it.
    assert len(sb.requests_for("danaconnect.token")) == 1
    starts = sb.requests_for("danaconnect.start_circuit")
    assert [entry.status for entry in starts] == [200]
    assert [entry.status for entry in sb.requests_for("danaconnect.download")] == [409, 200, 200]


async def test_download_is_retried_on_503(
    sb: Sandbox, client: sa.SigningClient, files: Samples, tmp_path: Path
) -> None:
    circuit = await start_three(client, files)
    await sb.complete_circuit(circuit.circuit_id)
    sb.faults.add(Fault(route="danaconnect.download", status=503, times=1))
    with anyio.fail_after(WAIT):
        downloaded = await client.circuits.download_to(circuit.circuit_id, tmp_path / "a.zip")
    assert [entry.status for entry in sb.requests_for("danaconnect.download")] == [503, 200]
    assert zipfile.is_zipfile(downloaded.path)
    assert listing(tmp_path) == ["a.zip", "in"]


async def test_download_waits_for_retry_after_on_429(
    sb: Sandbox, client: sa.SigningClient, files: Samples, tmp_path: Path
) -> None:
    circuit = await start_three(client, files)
    await sb.complete_circuit(circuit.circuit_id)
    # retry-after-ms says 50 ms (Retry-After rounds up to 1 s): the SDK takes the exact one.
    sb.faults.add(Fault(route="danaconnect.download", status=429, retry_after=0.05, times=1))
    with anyio.fail_after(WAIT):
        downloaded = await client.circuits.download_to(circuit.circuit_id, tmp_path / "a.zip")
    assert [entry.status for entry in sb.requests_for("danaconnect.download")] == [429, 200]
    assert zipfile.is_zipfile(downloaded.path)


async def test_a_retry_after_beyond_a_minute_fails_at_once(
    sb: Sandbox, client: sa.SigningClient, files: Samples, tmp_path: Path
) -> None:
    circuit = await start_three(client, files)
    await sb.complete_circuit(circuit.circuit_id)
    sb.faults.add(Fault(route="danaconnect.download", status=429, retry_after=120, times=1))
    with anyio.fail_after(WAIT), pytest.raises(sa.RateLimitError) as caught:
        await client.circuits.download_to(circuit.circuit_id, tmp_path / "a.zip")
    assert caught.value.retry_after == 120
    assert caught.value.status == 429
    assert [entry.status for entry in sb.requests_for("danaconnect.download")] == [429]
    assert listing(tmp_path) == ["in"]


async def test_a_truncated_download_leaves_nothing_behind(
    sb: Sandbox, client: sa.SigningClient, files: Samples, tmp_path: Path
) -> None:
    circuit = await start_three(client, files)
    await sb.complete_circuit(circuit.circuit_id)
    sb.faults.add(Fault(route="danaconnect.download", truncate=True, times=1))
    out = tmp_path / "out"
    out.mkdir()
    with anyio.fail_after(WAIT), pytest.raises(sa.TransportError) as caught:
        await client.circuits.download_to(circuit.circuit_id, out / "signed.zip")
    assert not isinstance(caught.value, sa.RequestTimeout)
    assert "DANAconnect" in str(caught.value)
    assert circuit.circuit_id in str(caught.value)
    # Neither the target nor a temporary file: the folder is as it was.
    assert listing(out) == []
    # A body cut short is not retried by the session: one request.
    assert len(sb.requests_for("danaconnect.download")) == 1
    # The next try, without the fault, succeeds.
    with anyio.fail_after(WAIT):
        downloaded = await client.circuits.download_to(circuit.circuit_id, out / "signed.zip")
    assert listing(out) == ["signed.zip"]
    assert zipfile.is_zipfile(downloaded.path)


async def test_a_truncated_streaming_download_raises(
    sb: Sandbox, client: sa.SigningClient, files: Samples
) -> None:
    circuit = await start_three(client, files)
    await sb.complete_circuit(circuit.circuit_id)
    sb.faults.add(Fault(route="danaconnect.download", truncate=True, times=1))
    seen: list[tuple[int, int | None]] = []

    async def drain() -> None:
        async with client.circuits.download(circuit.circuit_id) as stream:
            received = 0
            try:
                async for chunk in stream.iter_chunks(16 * 1024):
                    received += len(chunk)
            finally:
                seen.append((received, stream.content_length))

    with anyio.fail_after(WAIT), pytest.raises(sa.TransportError):
        await drain()
    ((received, announced),) = seen
    assert announced is not None
    assert received < announced
