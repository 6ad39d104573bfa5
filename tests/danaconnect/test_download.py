"""Downloading a circuit's ZIP: streamed, checked, atomic, retried when safe."""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import signing_async as sa
from signing_async._core import streaming

from .fake import FakeDanaConnect, json_response, make_zip

MiB = 1 << 20


class ChunkedStream:
    """A response body arriving in pieces, which can look at the folder as it goes."""

    def __init__(self, pieces: list[bytes], folder: Path | None = None) -> None:
        self.pieces = pieces
        self.folder = folder
        self.seen_while_streaming: list[list[tuple[str, int]]] = []
        self.closed = False

    async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            if self.folder is not None:
                self.seen_while_streaming.append(
                    sorted((p.name, p.stat().st_size) for p in self.folder.iterdir())
                )
            if isinstance(piece, BaseException):
                raise piece
            assert len(piece) <= size
            yield piece

    async def aclose(self) -> None:
        self.closed = True


def zip_response(body: bytes, *, length: int | None = None) -> sa.Response:
    return sa.Response(
        200,
        headers={"Content-Length": str(len(body) if length is None else length)},
        content=body,
    )


async def test_download_to_writes_the_zip(
    client: sa.SigningClient, fake: FakeDanaConnect, tmp_path: Path
) -> None:
    target = tmp_path / "signed.zip"

    downloaded = await client.circuits.download_to("658936", target)

    assert downloaded == sa.DownloadedFile(
        target, len(fake.zip_bytes), hashlib.sha256(fake.zip_bytes).hexdigest()
    )
    assert target.read_bytes() == fake.zip_bytes
    assert zipfile.ZipFile(target).namelist() == ["contract-signed.pdf", "evidence.pdf"]
    assert os.listdir(tmp_path) == ["signed.zip"]


async def test_download_to_without_checksum_writes_the_same_file_and_no_hash(
    client: sa.SigningClient, fake: FakeDanaConnect, tmp_path: Path
) -> None:
    target = tmp_path / "signed.zip"

    downloaded = await client.circuits.download_to("658936", target, checksum=False)

    assert downloaded == sa.DownloadedFile(target, len(fake.zip_bytes), "")
    assert target.read_bytes() == fake.zip_bytes
    assert os.listdir(tmp_path) == ["signed.zip"]


@pytest.mark.parametrize(
    ("answer", "error_type", "error"),
    [
        (zip_response(b"%PDF-1.4 a pdf, not a zip"), sa.ResponseDecodeError, "not a ZIP"),
        (
            zip_response(b"PK\x03\x04 short", length=100),
            sa.TransportError,
            r"ended after \d+ of 100 bytes",
        ),
    ],
    ids=["not-a-zip", "short"],
)
async def test_download_to_without_checksum_still_checks_the_file(
    client: sa.SigningClient,
    fake: FakeDanaConnect,
    tmp_path: Path,
    answer: sa.Response,
    error_type: type[Exception],
    error: str,
) -> None:
    fake.download_script.append(answer)

    with pytest.raises(error_type, match=error):
        await client.circuits.download_to("1", tmp_path / "x.zip", checksum=False)

    assert os.listdir(tmp_path) == []


async def test_download_to_accepts_a_string_path_and_replaces_a_file(
    client: sa.SigningClient, fake: FakeDanaConnect, tmp_path: Path
) -> None:
    target = tmp_path / "signed.zip"
    target.write_bytes(b"old")

    downloaded = await client.circuits.download_to("1", str(target))

    assert downloaded.path == target
    assert target.read_bytes() == fake.zip_bytes


async def test_download_to_streams_to_disk(
    client: sa.SigningClient, fake: FakeDanaConnect, tmp_path: Path
) -> None:
    body = make_zip({"big.bin": os.urandom(40 * MiB)})
    pieces = [body[i : i + MiB] for i in range(0, len(body), MiB)]
    stream = ChunkedStream(pieces, tmp_path)
    fake.download_script.append(
        sa.Response(200, headers={"Content-Length": str(len(body))}, stream=stream)
    )

    downloaded = await client.circuits.download_to("1", tmp_path / "out.zip")

    assert downloaded.size == len(body)
    assert downloaded.sha256 == hashlib.sha256(body).hexdigest()
    # Before each piece arrives, the earlier ones are in a temporary file beside
    # the target (the target does not exist yet), behind the network by at most
    # the writer's bounded queue: memory does not grow with the download.
    assert len(pieces) == 41
    lag = (streaming._AHEAD + 2) * streaming._BATCH
    for index, listing in enumerate(stream.seen_while_streaming):
        assert len(listing) == 1
        name, size = listing[0]
        assert name.startswith(".out.zip.")
        assert name.endswith(".part")
        assert index * MiB - lag <= size <= index * MiB
    assert stream.seen_while_streaming[-1][0][1] > 0
    assert stream.closed
    assert os.listdir(tmp_path) == ["out.zip"]


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(
            lambda zip_bytes: zip_response(zip_bytes, length=len(zip_bytes) + 10), id="short"
        ),
        pytest.param(lambda zip_bytes: zip_response(b"<html>not a zip</html>"), id="html"),
        pytest.param(lambda zip_bytes: zip_response(b"PK\x03\x04 garbage"), id="bad-zip"),
        pytest.param(lambda zip_bytes: zip_response(zip_bytes[:-30]), id="cut-zip"),
    ],
)
async def test_bad_download_leaves_nothing(
    client: sa.SigningClient, fake: FakeDanaConnect, tmp_path: Path, answer: object
) -> None:
    fake.download_script.append(answer(fake.zip_bytes))  # type: ignore[operator]
    target = tmp_path / "signed.zip"

    with pytest.raises((sa.TransportError, sa.ResponseDecodeError)) as caught:
        await client.circuits.download_to("658936", target)

    assert "download circuit 658936" in str(caught.value)
    assert os.listdir(tmp_path) == []


async def test_short_body_is_a_transport_error(
    client: sa.SigningClient, fake: FakeDanaConnect, tmp_path: Path
) -> None:
    fake.download_script.append(zip_response(fake.zip_bytes, length=len(fake.zip_bytes) + 1))

    with pytest.raises(sa.TransportError, match=r"ended after \d+ of \d+ bytes"):
        await client.circuits.download_to("1", tmp_path / "x.zip")


async def test_not_a_zip_is_a_decode_error(
    client: sa.SigningClient, fake: FakeDanaConnect, tmp_path: Path
) -> None:
    fake.download_script.append(zip_response(b"%PDF-1.4 a pdf, not a zip"))

    with pytest.raises(sa.ResponseDecodeError, match="not a ZIP"):
        await client.circuits.download_to("1", tmp_path / "x.zip")


async def test_connection_lost_mid_body_leaves_nothing(
    client: sa.SigningClient, fake: FakeDanaConnect, tmp_path: Path
) -> None:
    stream = ChunkedStream([fake.zip_bytes[:100], sa.TransportError("reset")])  # type: ignore[list-item]
    fake.download_script.append(
        sa.Response(200, headers={"Content-Length": str(len(fake.zip_bytes))}, stream=stream)
    )

    with pytest.raises(sa.TransportError, match="reset"):
        await client.circuits.download_to("1", tmp_path / "x.zip")

    assert os.listdir(tmp_path) == []
    assert stream.closed


async def test_failed_download_keeps_an_existing_file(
    client: sa.SigningClient, fake: FakeDanaConnect, tmp_path: Path
) -> None:
    target = tmp_path / "signed.zip"
    target.write_bytes(b"previous")
    fake.download_script.append(zip_response(b"nope"))

    with pytest.raises(sa.ResponseDecodeError):
        await client.circuits.download_to("1", target)

    assert target.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["signed.zip"]


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(json_response(503, {"error": "busy"}), id="503"),
        pytest.param(json_response(502, {"error": "bad gateway"}), id="502"),
        pytest.param(sa.ConnectError("refused"), id="connect"),
        pytest.param(sa.TransportError("dropped", request_sent=True), id="dropped"),
    ],
)
async def test_download_to_retried(
    client: sa.SigningClient, fake: FakeDanaConnect, tmp_path: Path, failure: object
) -> None:
    fake.download_script.extend([failure, failure])  # type: ignore[list-item]

    downloaded = await client.circuits.download_to("1", tmp_path / "x.zip")

    assert downloaded.size == len(fake.zip_bytes)
    assert len(fake.download_requests) == 3
    assert os.listdir(tmp_path) == ["x.zip"]


async def test_conflict_names_the_circuit(
    client: sa.SigningClient, fake: FakeDanaConnect, tmp_path: Path
) -> None:
    fake.download_script.extend([json_response(409, {"error": "circuit not completed"})] * 2)

    with pytest.raises(sa.ConflictError) as caught:
        await client.circuits.download_to("658936", tmp_path / "x.zip")
    assert "658936" in str(caught.value)
    assert "circuit not completed" in str(caught.value)
    assert caught.value.status == 409
    assert caught.value.provider == "DANAconnect"

    with pytest.raises(sa.ConflictError, match="658936"):
        async with client.circuits.download("658936"):
            pass  # pragma: no cover - never entered

    assert len(fake.download_requests) == 2
    assert os.listdir(tmp_path) == []


async def test_download_yields_a_stream(client: sa.SigningClient, fake: FakeDanaConnect) -> None:
    async with client.circuits.download("1") as stream:
        assert isinstance(stream, sa.ByteStream)
        assert stream.content_length == len(fake.zip_bytes)
        chunks = [chunk async for chunk in stream.iter_chunks(100)]

    assert b"".join(chunks) == fake.zip_bytes
    assert all(len(chunk) <= 100 for chunk in chunks)
    assert len(chunks) == -(-len(fake.zip_bytes) // 100)


async def test_download_stream_without_content_length(
    client: sa.SigningClient, fake: FakeDanaConnect
) -> None:
    fake.download_script.append(sa.Response(200, content=fake.zip_bytes))

    async with client.circuits.download("1") as stream:
        assert stream.content_length is None
        body = b"".join([chunk async for chunk in stream.iter_chunks()])

    assert body == fake.zip_bytes


async def test_download_stream_that_ends_early_raises(
    client: sa.SigningClient, fake: FakeDanaConnect
) -> None:
    fake.download_script.append(zip_response(fake.zip_bytes, length=len(fake.zip_bytes) * 2))

    async with client.circuits.download("1") as stream:
        with pytest.raises(sa.TransportError, match="download circuit 1"):
            async for _ in stream.iter_chunks():
                pass


async def test_download_closes_the_response(
    client: sa.SigningClient, fake: FakeDanaConnect
) -> None:
    stream = ChunkedStream([fake.zip_bytes])
    fake.download_script.append(sa.Response(200, stream=stream))

    with pytest.raises(RuntimeError, match="caller"):
        async with client.circuits.download("1"):
            raise RuntimeError("the caller failed")

    assert stream.closed
