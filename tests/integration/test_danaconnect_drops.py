"""Dropped connections: a circuit start that may have arrived is never sent twice.

When the server closes the connection without answering, aiohttp reports a
server disconnect whether or not the server had read the request, so the SDK
cannot prove the request went unread: it says ``request_sent=True`` and does
not replay a POST. A GET is replayed, since fetching twice is harmless.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import anyio
import pytest

import signing_async as sa
from signing_async.sandbox import Fault, Sandbox, samples

from .support import SIGNER, WAIT

PDF = samples.make_pdf(text="Dropped")


async def start(client: sa.SigningClient, id: str) -> sa.Circuit:
    return await client.circuits.start(id=id, signer=SIGNER, docs=sa.Document(PDF, "d.pdf"))


async def test_a_start_dropped_after_the_server_acted_is_not_replayed(
    sb: Sandbox, client: sa.SigningClient, tmp_path: Path
) -> None:
    first = await start(client, "first")
    sb.faults.add(Fault(route="danaconnect.start_circuit", drop="after", times=1))

    with anyio.fail_after(WAIT), pytest.raises(sa.TransportError) as caught:
        await start(client, "dropped")

    assert caught.value.request_sent is True
    assert not isinstance(caught.value, sa.ConnectError | sa.RequestTimeout)
    assert "start circuit dropped" in str(caught.value)
    assert [entry.status for entry in sb.requests_for("danaconnect.start_circuit")] == [200, None]
    # The circuit exists although its answer was lost: the next id was taken,
    # and its ZIP holds the document of the dropped request.
    lost = str(int(first.circuit_id) + 1)
    await sb.complete_circuit(lost)
    with anyio.fail_after(WAIT):
        downloaded = await client.circuits.download_to(lost, tmp_path / "lost.zip")
    with zipfile.ZipFile(downloaded.path) as archive:
        assert archive.read("d.pdf").startswith(PDF)
    following = await start(client, "following")
    assert following.circuit_id == str(int(first.circuit_id) + 2)


async def test_a_start_dropped_before_the_server_acted_is_reported_as_maybe_sent(
    sb: Sandbox, client: sa.SigningClient
) -> None:
    first = await start(client, "first")
    sb.faults.add(Fault(route="danaconnect.start_circuit", drop="before", times=1))

    with anyio.fail_after(WAIT), pytest.raises(sa.TransportError) as caught:
        await start(client, "dropped")

    # The connection was lost after the request was written: the SDK cannot
    # tell this apart from a drop after the server acted, so it says so.
    assert caught.value.request_sent is True
    assert not isinstance(caught.value, sa.ConnectError)
    assert [entry.status for entry in sb.requests_for("danaconnect.start_circuit")] == [200, None]
    # Here the server did nothing: no circuit was created.
    with pytest.raises(KeyError):
        await sb.complete_circuit(str(int(first.circuit_id) + 1))
    following = await start(client, "following")
    assert following.circuit_id == str(int(first.circuit_id) + 1)


async def test_a_dropped_download_is_replayed(
    sb: Sandbox, client: sa.SigningClient, tmp_path: Path
) -> None:
    circuit = await start(client, "first")
    await sb.complete_circuit(circuit.circuit_id)
    sb.faults.add(Fault(route="danaconnect.download", drop="before", times=1))

    with anyio.fail_after(WAIT):
        downloaded = await client.circuits.download_to(circuit.circuit_id, tmp_path / "a.zip")

    assert [entry.status for entry in sb.requests_for("danaconnect.download")] == [None, 200]
    assert zipfile.is_zipfile(downloaded.path)
