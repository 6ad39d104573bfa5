"""Circuits over real sockets: a small DANAconnect on 127.0.0.1 and the default transport."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web

import signing_async as sa

from ..conftest import Serve
from .conftest import CHANNEL, CLIENT_ID, CLIENT_SECRET


class Server:
    """Counts requests; each endpoint's next answers can be replaced by a behaviour."""

    def __init__(self, zip_bytes: bytes) -> None:
        self.zip_bytes = zip_bytes
        self.counts = {"token": 0, "start": 0, "download": 0}
        self.bodies: list[bytes] = []
        self.next: dict[str, list[str]] = {"token": [], "start": [], "download": []}
        self.on_token: Callable[[], object] | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 << 20)
        app.router.add_post("/oauth2/token", self.token)
        app.router.add_post("/api/v1/biometric/start_circuit/{channel}", self.start)
        app.router.add_get(
            "/api/v1/biometric/document_circuit/{channel}/circuit/{circuit}", self.download
        )
        return app

    def behaviour(self, endpoint: str) -> str:
        self.counts[endpoint] += 1
        queue = self.next[endpoint]
        return queue.pop(0) if queue else "ok"

    async def token(self, request: web.Request) -> web.Response:
        self.behaviour("token")
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"error": "invalid_client"}, status=401)
        if self.on_token is not None:
            self.on_token()
        return web.json_response({"access_token": "loopback-token", "expires_in": 3600})

    async def start(self, request: web.Request) -> web.StreamResponse:
        mode = self.behaviour("start")
        body = await request.read()
        self.bodies.append(body)
        if mode == "drop":
            return drop(request)
        if request.headers.get("Authorization") != "Bearer loopback-token":
            return web.json_response({"error": "unauthorized"}, status=401)
        circuit = json.loads(body)["id"]
        return web.json_response({"circuitId": f"c-{circuit}", "link": "https://x/sign"})

    async def download(self, request: web.Request) -> web.StreamResponse:
        mode = self.behaviour("download")
        if mode == "drop":
            return drop(request)
        if mode == "503":
            return web.json_response({"error": "busy"}, status=503, headers={"Retry-After": "0"})
        if mode == "409":
            return web.json_response({"error": "circuit not completed"}, status=409)
        response = web.StreamResponse(
            headers={"Content-Type": "application/zip", "Content-Length": str(len(self.zip_bytes))}
        )
        await response.prepare(request)
        if mode == "truncate":
            await response.write(self.zip_bytes[: len(self.zip_bytes) // 2])
            return drop(request)
        for start in range(0, len(self.zip_bytes), 64 * 1024):
            await response.write(self.zip_bytes[start : start + 64 * 1024])
        await response.write_eof()
        return response


def drop(request: web.Request) -> web.Response:
    """Close the connection without an answer."""
    assert request.transport is not None
    request.transport.close()
    return web.Response()


@pytest.fixture
async def server(signed_zip: bytes) -> Server:
    return Server(signed_zip)


@pytest.fixture
async def live_client(server: Server, serve: Serve) -> AsyncIterator[sa.SigningClient]:
    base = await serve(server.app())
    config = sa.DanaConnectConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        channel=CHANNEL,
        base_url=base,
        download_base_url=base,
    )
    async with sa.SigningClient(
        danaconnect=config, retry=sa.RetryPolicy(backoff_initial=0)
    ) as client:
        yield client


SIGNER = {"name": "Ana", "email": "ana@example.com", "nif": "1"}


async def test_start_and_download(
    live_client: sa.SigningClient, server: Server, pdf_bytes: bytes, tmp_path: Path
) -> None:
    big = pdf_bytes + os.urandom(2 << 20)
    (tmp_path / "big.pdf").write_bytes(big)

    circuit = await live_client.circuits.start(id="1", signer=SIGNER, docs=tmp_path / "big.pdf")
    downloaded = await live_client.circuits.download_to("c-1", tmp_path / "signed.zip")

    assert circuit.circuit_id == "c-1"
    doc = json.loads(server.bodies[0])["docs"][0]
    assert (doc["name"], doc["size"]) == ("big.pdf", len(big))
    assert base64.b64decode(doc["content"]) == big
    assert (tmp_path / "signed.zip").read_bytes() == server.zip_bytes
    assert downloaded.size == len(server.zip_bytes)
    assert server.counts == {"token": 1, "start": 1, "download": 1}


async def test_start_is_not_replayed_after_a_drop(
    live_client: sa.SigningClient, server: Server, pdf_bytes: bytes
) -> None:
    server.next["start"].append("drop")

    with pytest.raises(sa.TransportError) as caught:
        await live_client.circuits.start(id="1", signer=SIGNER, docs=pdf_bytes)

    assert caught.value.request_sent is True
    assert "start circuit 1" in str(caught.value)
    assert server.counts["start"] == 1
    assert len(server.bodies) == 1  # the server did get the whole request


@pytest.mark.parametrize("failure", ["drop", "503"])
async def test_download_is_retried(
    live_client: sa.SigningClient, server: Server, tmp_path: Path, failure: str
) -> None:
    server.next["download"].extend([failure, failure])

    downloaded = await live_client.circuits.download_to("c-1", tmp_path / "signed.zip")

    assert downloaded.size == len(server.zip_bytes)
    assert server.counts["download"] == 3
    assert os.listdir(tmp_path) == ["signed.zip"]


async def test_truncated_download_leaves_nothing(
    live_client: sa.SigningClient, server: Server, tmp_path: Path
) -> None:
    server.next["download"].append("truncate")

    with pytest.raises(sa.TransportError):
        await live_client.circuits.download_to("c-1", tmp_path / "signed.zip")

    assert os.listdir(tmp_path) == []


async def test_conflict_on_download(
    live_client: sa.SigningClient, server: Server, tmp_path: Path
) -> None:
    server.next["download"].append("409")

    with pytest.raises(sa.ConflictError, match=r"c-77.*circuit not completed"):
        await live_client.circuits.download_to("c-77", tmp_path / "signed.zip")
    assert os.listdir(tmp_path) == []


async def test_download_stream(live_client: sa.SigningClient, server: Server) -> None:
    async with live_client.circuits.download("c-1") as stream:
        assert stream.content_length == len(server.zip_bytes)
        body = b"".join([chunk async for chunk in stream.iter_chunks(10_000)])
    assert body == server.zip_bytes


async def test_document_changing_mid_send(
    live_client: sa.SigningClient, server: Server, pdf_bytes: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf_bytes)
    # The body is read after the token round trip: grow the file meanwhile.
    server.on_token = lambda: path.write_bytes(pdf_bytes * 3)

    with pytest.raises(sa.SigningError, match="changed while it was being sent"):
        await live_client.circuits.start(id="1", signer=SIGNER, docs=path)

    # Part of the body may have gone out: it is not replayed.
    assert server.counts["start"] <= 1
