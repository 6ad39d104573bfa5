"""Circuits over real sockets: the fake DANAconnect served on loopback, the default transport."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import signing_async as sa
from signing_async._core.sources import REQUEST_READ_LIMIT, SMALL_FILE_LIMIT

from .fake import FakeDanaConnect


@pytest.fixture
async def server(signed_zip: bytes) -> AsyncIterator[FakeDanaConnect]:
    async with FakeDanaConnect() as server:
        server.zip_bytes = signed_zip
        yield server


@pytest.fixture
async def live_client(server: FakeDanaConnect) -> AsyncIterator[sa.SigningClient]:
    async with server.client() as client:
        yield client


def counts(server: FakeDanaConnect) -> dict[str, int]:
    """How many requests each endpoint received."""
    return {"token": server.tokens, "start": len(server.bodies), "download": server.downloads}


SIGNER = {"name": "Ana", "email": "ana@example.com", "nif": "1"}


async def test_start_and_download(
    live_client: sa.SigningClient, server: FakeDanaConnect, pdf_bytes: bytes, tmp_path: Path
) -> None:
    big = pdf_bytes + os.urandom(2 << 20)
    (tmp_path / "big.pdf").write_bytes(big)

    circuit = await live_client.circuits.start(id="1", signer=SIGNER, docs=tmp_path / "big.pdf")
    downloaded = await live_client.circuits.download_to("c-1", tmp_path / "signed.zip")

    assert circuit.circuit_id == "circ-1"
    doc = json.loads(server.bodies[0])["docs"][0]
    assert (doc["name"], doc["size"]) == ("big.pdf", len(big))
    assert base64.b64decode(doc["content"]) == big
    assert (tmp_path / "signed.zip").read_bytes() == server.zip_bytes
    assert downloaded.size == len(server.zip_bytes)
    assert counts(server) == {"token": 1, "start": 1, "download": 1}


async def test_start_is_not_replayed_after_a_drop(
    live_client: sa.SigningClient, server: FakeDanaConnect, pdf_bytes: bytes
) -> None:
    server.faults["1"] = ["drop"]

    with pytest.raises(sa.TransportError) as caught:
        await live_client.circuits.start(id="1", signer=SIGNER, docs=pdf_bytes)

    assert caught.value.request_sent is True
    assert "start circuit 1" in str(caught.value)
    assert server.received["1"] == 1  # the server did get the whole request
    assert server.created["1"] == 0
    assert counts(server)["start"] == 1


@pytest.mark.parametrize("failure", ["drop", "503"])
async def test_download_is_retried(
    live_client: sa.SigningClient, server: FakeDanaConnect, tmp_path: Path, failure: str
) -> None:
    server.download_faults.extend([failure, failure])

    downloaded = await live_client.circuits.download_to("c-1", tmp_path / "signed.zip")

    assert downloaded.size == len(server.zip_bytes)
    assert server.downloads == 3
    assert os.listdir(tmp_path) == ["signed.zip"]


async def test_truncated_download_leaves_nothing(
    live_client: sa.SigningClient, server: FakeDanaConnect, tmp_path: Path
) -> None:
    server.download_faults.append("truncate")

    with pytest.raises(sa.TransportError):
        await live_client.circuits.download_to("c-1", tmp_path / "signed.zip")

    assert os.listdir(tmp_path) == []


async def test_conflict_on_download(
    live_client: sa.SigningClient, server: FakeDanaConnect, tmp_path: Path
) -> None:
    server.download_faults.append("409")

    with pytest.raises(sa.ConflictError, match=r"c-77.*circuit not completed"):
        await live_client.circuits.download_to("c-77", tmp_path / "signed.zip")
    assert os.listdir(tmp_path) == []


async def test_download_stream(live_client: sa.SigningClient, server: FakeDanaConnect) -> None:
    async with live_client.circuits.download("c-1") as stream:
        assert stream.content_length == len(server.zip_bytes)
        body = b"".join([chunk async for chunk in stream.iter_chunks(10_000)])
    assert body == server.zip_bytes


async def test_document_changing_mid_send(
    live_client: sa.SigningClient, server: FakeDanaConnect, pdf_bytes: bytes, tmp_path: Path
) -> None:
    # Larger than a file read whole when loaded: streamed, so read when sent.
    streamed = pdf_bytes + b"\n" * SMALL_FILE_LIMIT
    path = tmp_path / "doc.pdf"
    path.write_bytes(streamed)
    # The body is read after the token round trip: grow the file meanwhile.
    server.on_token = lambda: path.write_bytes(streamed * 3)

    with pytest.raises(sa.SigningError, match="changed while it was being sent"):
        await live_client.circuits.start(id="1", signer=SIGNER, docs=path)

    # Part of the body may have gone out: it is not replayed.
    assert counts(server)["start"] <= 1


async def test_a_circuit_of_many_small_documents_holds_one_piece_of_them(
    live_client: sa.SigningClient, server: FakeDanaConnect, pdf_bytes: bytes, tmp_path: Path
) -> None:
    # Each file is small enough to be read whole when loaded; together they
    # are not. Rewritten between the load and the send (during the token
    # round trip), a file read whole goes out as it was, a streamed one as it is.
    size = 48 * 1024
    paths = [tmp_path / f"doc-{index}.pdf" for index in range(24)]
    for path in paths:
        path.write_bytes(pdf_bytes + b"a" * (size - len(pdf_bytes)))
    server.on_token = lambda: [
        path.write_bytes(pdf_bytes + b"b" * (size - len(pdf_bytes))) for path in paths
    ]

    await live_client.circuits.start(id="1", signer=SIGNER, docs=paths)

    sent = [base64.b64decode(doc["content"]) for doc in json.loads(server.bodies[0])["docs"]]
    held = REQUEST_READ_LIMIT // size  # 21 of the 24
    assert [content[-1:] for content in sent] == [b"a"] * held + [b"b"] * (len(paths) - held)
    assert all(len(content) == size for content in sent)
