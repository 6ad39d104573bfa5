"""ByteStream and write_atomically: checked byte counts, nothing left behind on failure."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

import signing_async as sa
from signing_async._core.streaming import ByteStream, write_atomically

ROOT = Path(__file__).resolve().parents[2]


class Pieces:
    """A response body made of the given pieces; may stop to wait for the test."""

    def __init__(self, *pieces: bytes, pause_after: int | None = None) -> None:
        self.pieces = pieces
        self.pause_after = pause_after
        self.paused = anyio.Event()
        self.closed = False

    async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
        for index, piece in enumerate(self.pieces):
            if index == self.pause_after:
                self.paused.set()
                await anyio.sleep_forever()
            yield piece

    async def aclose(self) -> None:
        self.closed = True


def stream_of(*pieces: bytes, length: int | None = None) -> ByteStream:
    headers = {} if length is None else {"Content-Length": str(length)}
    return ByteStream(sa.Response(200, headers=headers, stream=Pieces(*pieces)), what="get it")


async def test_write_atomically(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"

    result = await write_atomically(stream_of(b"abc", b"def", length=6), target, what="get it")

    assert result == sa.DownloadedFile(target, 6, hashlib.sha256(b"abcdef").hexdigest())
    assert target.read_bytes() == b"abcdef"
    assert os.listdir(tmp_path) == ["out.bin"]


async def test_empty_body(tmp_path: Path) -> None:
    result = await write_atomically(stream_of(length=0), tmp_path / "e", what="get it")
    assert (result.size, result.sha256) == (0, hashlib.sha256(b"").hexdigest())


async def test_rejected_by_check(tmp_path: Path) -> None:
    seen: list[bytes] = []

    def check(path: Path) -> str | None:
        seen.append(path.read_bytes())
        assert path.parent == tmp_path
        assert path.name != "out.bin"
        return "looks wrong"

    with pytest.raises(sa.ResponseDecodeError, match="get it: looks wrong"):
        await write_atomically(stream_of(b"abc"), tmp_path / "out.bin", what="get it", check=check)

    assert seen == [b"abc"]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("pieces", "length"), [((b"abc",), 4), ((b"abc", b"de"), 4)])
async def test_wrong_length(tmp_path: Path, pieces: tuple[bytes, ...], length: int) -> None:
    with pytest.raises(sa.TransportError, match=f"get it: the body ended after \\d+ of {length}"):
        await write_atomically(stream_of(*pieces, length=length), tmp_path / "o", what="get it")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["\U0001f4c4" * 60 + ".zip", "é" * 120 + ".pdf", "a" * 255])
async def test_a_target_with_a_long_name_is_written(tmp_path: Path, name: str) -> None:
    # Names up to 255 bytes (emoji are 4 bytes each): the temporary file's
    # name, cut from the target's, must fit too.
    target = tmp_path / name
    result = await write_atomically(stream_of(b"abc"), target, what="get it")
    assert result.path == target
    assert os.listdir(tmp_path) == [name]
    assert target.read_bytes() == b"abc"


async def test_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "no" / "o"
    with pytest.raises(sa.ValidationError) as caught:
        await write_atomically(stream_of(b"abc"), target, what="get it")
    assert caught.value.field == "path"
    assert str(target) in caught.value.problem  # the path given, not the temporary file's
    assert ".part" not in str(caught.value)
    assert os.listdir(tmp_path) == []


async def test_cancelled_download_leaves_nothing(tmp_path: Path) -> None:
    body = Pieces(b"a" * 1000, b"b" * 1000, pause_after=1)
    stream = ByteStream(sa.Response(200, stream=body), what="get it")

    async def download() -> None:
        await write_atomically(stream, tmp_path / "o", what="get it")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        async with anyio.create_task_group() as group:
            group.start_soon(download)
            await body.paused.wait()
            assert len(os.listdir(tmp_path)) == 1  # the temporary file, half written
            group.cancel_scope.cancel()
        gc.collect()

    assert os.listdir(tmp_path) == []
    # The temporary file was closed, not left for the garbage collector.
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_byte_stream_reads_in_chunks() -> None:
    response = sa.Response(200, headers={"Content-Length": "10"}, content=b"0123456789")
    stream = ByteStream(response, what="x")

    assert stream.content_length == 10
    assert [c async for c in stream.iter_chunks(4)] == [b"0123", b"4567", b"89"]


@pytest.mark.parametrize(
    ("value", "expected"),
    # "²" and "١٢" are digits to str.isdigit(); HTTP's are ASCII (and int("²") raises,
    # as int() does past 4,300 digits).
    [
        ("12", 12),
        ("x", None),
        ("-1", None),
        ("²", None),
        ("١٢", None),
        ("1" * 5000, None),
        ("0" * 30 + "5", 5),  # leading zeros are legal
        ("0", 0),
        (str(2**63 - 1), 2**63 - 1),
    ],
)
def test_content_length_header(value: str, expected: int | None) -> None:
    assert sa.Response(200, headers={"content-length": value}).content_length == expected
    assert sa.Response(200).content_length is None


async def test_more_downloads_at_once_than_the_thread_limiter_holds(tmp_path: Path) -> None:
    # Each download opens, writes and closes its file in worker threads; 50 at
    # once, beyond the default limiter's 40 tokens, must all finish intact.
    bodies = {index: [bytes([index]) * 7] * 40 for index in range(50)}
    results: dict[int, sa.DownloadedFile] = {}

    async def download(index: int) -> None:
        stream = stream_of(*bodies[index], length=7 * 40)
        results[index] = await write_atomically(stream, tmp_path / f"{index}.bin", what="get it")

    async with anyio.create_task_group() as group:
        for index in bodies:
            group.start_soon(download, index)

    for index, pieces in bodies.items():
        content = b"".join(pieces)
        assert results[index].sha256 == hashlib.sha256(content).hexdigest()
        assert (tmp_path / f"{index}.bin").read_bytes() == content


async def test_a_download_of_several_batches_keeps_its_order(tmp_path: Path) -> None:
    # 20 MiB: the writer thread gets it in several batches while more is read.
    pieces = [bytes([index]) * (1 << 20) for index in range(20)]
    target = tmp_path / "big.bin"

    result = await write_atomically(stream_of(*pieces, length=20 << 20), target, what="get it")

    content = b"".join(pieces)
    assert result == sa.DownloadedFile(target, 20 << 20, hashlib.sha256(content).hexdigest())
    assert target.read_bytes() == content


_FULL_DISK_CHILD = """
import asyncio, json, os, resource, signal, sys
from pathlib import Path

import signing_async as sa
from signing_async._core.streaming import ByteStream, write_atomically

folder = Path(sys.argv[1])
# The file size limit stands in for a full disk: writing past it fails with
# EFBIG (once the signal that would kill the process is ignored).
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (2 << 20, 2 << 20))
pulled = 0
piece = b"x" * (1 << 20)


class Body:
    async def chunks(self):
        global pulled
        for _ in range(40):
            pulled += 1
            yield piece

    def iter_chunks(self, size):
        return self.chunks()

    async def aclose(self):
        pass


async def main():
    stream = ByteStream(sa.Response(200, stream=Body()), what="get it")
    try:
        await write_atomically(stream, folder / "o", what="get it")
    except sa.SigningError as exc:
        return {
            "error": exc.strerror if isinstance(exc, OSError) else None,
            "message": str(exc),
            "filename": getattr(exc, "filename", None),
            "pulled": pulled,
            "left": os.listdir(folder),
        }
    return {"error": None, "pulled": pulled, "left": os.listdir(folder)}


print(json.dumps(asyncio.run(main())))
"""


def test_disk_full_mid_download(tmp_path: Path) -> None:
    # In a child process: the file size limit it sets stands in for a full disk.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", _FULL_DISK_CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout)
    # A SigningError (and an OSError, errno kept) naming the operation and the target.
    assert result["error"] == "File too large"
    assert result["message"] == f"get it: cannot write {tmp_path / 'o'}: File too large"
    assert result["filename"] == str(tmp_path / "o")
    assert result["left"] == []  # no temporary file, no target
    assert result["pulled"] < 40  # reading stopped once writing failed
