"""Against real loopback servers: two host names on one port, big uploads, dropped connections."""

from __future__ import annotations

import asyncio
import hashlib
import json
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import BodyPartReader, web
from aiohttp.test_utils import TestServer
from sofia_support import BASIC, JPEG, PNG, config, created, signed, signed_pdf

from signing_async import SigningClient, TransportError

HASH = "f00dfeed-1234"
MIB = 1 << 20


class Recorder:
    """A loopback API + storage server that remembers who sent what."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []  # (host, path, Authorization)
        self.parts: dict[str, dict[str, Any]] = {}
        self.json_length = 0
        self.content_length: int | None = None
        self.pdf = signed_pdf(HASH)
        self.port = 0

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * MIB)
        app.router.add_post("/sign_document", self.sign)
        app.router.add_post("/create_signature", self.create)
        app.router.add_get("/storage/signed.pdf", self.file)
        app.router.add_get("/files/signed.pdf", self.file)
        return app

    def _record(self, request: web.Request) -> None:
        self.seen.append((request.host, request.path, request.headers.get("Authorization")))

    async def sign(self, request: web.Request) -> web.Response:
        self._record(request)
        url = f"http://localhost:{self.port}/storage/signed.pdf"
        return web.json_response(signed(url=url, signature_hash=HASH))

    async def create(self, request: web.Request) -> web.Response:
        self._record(request)
        self.content_length = request.content_length
        if request.content_type == "application/json":
            # Counted, not parsed: the point is what reaches the server, streamed.
            async for chunk in request.content.iter_chunked(MIB):
                self.json_length += len(chunk)
        else:
            reader = await request.multipart()
            async for part in reader:
                assert isinstance(part, BodyPartReader)
                digest, size, head = hashlib.sha256(), 0, b""
                while chunk := await part.read_chunk(MIB):
                    head = head or chunk[:16]
                    digest.update(chunk)
                    size += len(chunk)
                self.parts[part.name or ""] = {
                    "size": size,
                    "sha256": digest.hexdigest(),
                    "head": head,
                    "type": part.headers.get("Content-Type"),
                }
        return web.json_response(created(), status=201)

    async def file(self, request: web.Request) -> web.Response:
        self._record(request)
        return web.Response(body=self.pdf, content_type="application/pdf")


@pytest.fixture
async def server() -> AsyncIterator[Recorder]:
    recorder = Recorder()
    test_server = TestServer(recorder.app(), host="127.0.0.1")
    await test_server.start_server()
    recorder.port = test_server.port or 0
    try:
        yield recorder
    finally:
        await test_server.close()


async def test_credentials_reach_only_the_api_origin(server: Recorder, tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{server.port}"
    async with SigningClient(sofia=config(base_url=base)) as client:
        signature = await client.otp_signatures.sign("txn-987654", "123456")
        assert signature.signed_document_url.startswith("http://localhost:")
        elsewhere = await client.otp_signatures.download_signed(signature, tmp_path / "a.pdf")
        own = await client.otp_signatures.download_signed(
            f"{base}/files/signed.pdf", tmp_path / "b.pdf"
        )
    assert server.seen == [
        (f"127.0.0.1:{server.port}", "/sign_document", BASIC),
        (f"localhost:{server.port}", "/storage/signed.pdf", None),
        (f"127.0.0.1:{server.port}", "/files/signed.pdf", BASIC),
    ]
    assert elsewhere.hash_verified is True
    assert (tmp_path / "a.pdf").read_bytes() == server.pdf
    assert own.sha256 == hashlib.sha256(server.pdf).hexdigest()


def _sparse_pdf(path: Path, size: int) -> bytes:
    head = b"%PDF-1.7\n%big\n"
    with path.open("wb") as file:
        file.write(head)
        file.truncate(size)  # a hole: no disk space used, reads as zeros
    return head


async def _create_big(server: Recorder, tmp_path: Path, encoding: str, size: int) -> int:
    document = tmp_path / "big.pdf"
    _sparse_pdf(document, size)
    base = f"http://127.0.0.1:{server.port}"
    async with SigningClient(sofia=config(base_url=base, upload_encoding=encoding)) as client:
        tracemalloc.start()
        try:
            result = await client.otp_signatures.create(
                transaction_id="txn-987654",
                user_selfie=JPEG,
                image_front=PNG,
                document_sign=document,
                phone="+573001234567",
                email="user@example.com",
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.status == "PENDING_OTP"
    return peak


async def test_multipart_upload_of_200_mib_streams(server: Recorder, tmp_path: Path) -> None:
    size = 200 * MIB
    peak = await _create_big(server, tmp_path, "multipart", size)
    document = server.parts["document_sign"]
    assert document["size"] == size
    assert document["head"].startswith(b"%PDF-1.7")
    assert document["type"] == "application/pdf"
    assert server.parts["user_selfie"]["sha256"] == hashlib.sha256(JPEG).hexdigest()
    assert server.parts["image_front"]["type"] == "image/png"
    # Client and server together hold a few chunks at a time, never the document.
    assert peak < 40 * MIB, f"peak traced memory {peak / MIB:.1f} MiB"


async def test_json_upload_of_200_mib_streams(server: Recorder, tmp_path: Path) -> None:
    size = 200 * MIB
    peak = await _create_big(server, tmp_path, "json", size)
    assert server.content_length == server.json_length
    assert server.json_length > 4 * size // 3  # the Base64 of the document is all there
    assert peak < 40 * MIB, f"peak traced memory {peak / MIB:.1f} MiB"


async def test_create_after_a_dropped_connection_is_sent_once(tmp_path: Path) -> None:
    connections = 0
    received: list[int] = []

    async def drop_after_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        body = await reader.readexactly(length)
        received.append(len(body))
        writer.transport.abort()  # the request arrived; the answer never comes

    raw_server = await asyncio.start_server(drop_after_body, "127.0.0.1", 0)
    port = raw_server.sockets[0].getsockname()[1]
    try:
        async with SigningClient(sofia=config(base_url=f"http://127.0.0.1:{port}")) as client:
            with pytest.raises(TransportError) as caught:
                await client.otp_signatures.create(
                    transaction_id="txn-1",
                    user_selfie=JPEG,
                    image_front=PNG,
                    document_sign=b"%PDF-1.4\n" + b"x" * 5000,
                    phone="3001234567",
                    email="user@example.com",
                )
    finally:
        raw_server.close()
        await raw_server.wait_closed()
    assert connections == 1
    assert len(received) == 1
    assert received[0] > 5000
    assert caught.value.request_sent is True
    assert json.dumps(str(caught.value))  # a plain, printable message
