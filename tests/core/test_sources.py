"""Document sources: paths, bytes and Documents become Blobs read in pieces."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

import signing_async as sa
from signing_async._core import sources
from signing_async._core.bodies import Base64, json_body
from signing_async._core.sources import (
    REQUEST_READ_LIMIT,
    SHARED_READ_LIMIT,
    SMALL_FILE_LIMIT,
    Blob,
    Document,
    RequestFiles,
    document_sources,
    file_path,
    load_source,
    read_file,
)


async def test_bytes(pdf_bytes: bytes) -> None:
    for source in (pdf_bytes, bytearray(pdf_bytes), memoryview(pdf_bytes)):
        blob = await load_source(source, field="f", default_name="default.pdf")  # type: ignore[arg-type]
        assert (blob.name, blob.size, blob.head, blob.path) == (
            "default.pdf",
            len(pdf_bytes),
            pdf_bytes[:16],
            None,
        )
        assert b"".join([c async for c in blob.chunks()]) == pdf_bytes


async def test_paths(tmp_path: Path, pdf_bytes: bytes) -> None:
    big = pdf_bytes + bytes(SMALL_FILE_LIMIT)
    path = tmp_path / "contract.pdf"
    path.write_bytes(big)
    for source in (path, str(path)):
        blob = await load_source(source, field="f", default_name="default.pdf")
        assert (blob.name, blob.size, blob.head, blob.path, blob.data) == (
            "contract.pdf",
            len(big),
            pdf_bytes[:16],
            path,
            None,
        )


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What load_source and Blob.chunks run off the event loop, in order, and where.

    ``"read"`` on the file thread, ``"worker: read"`` on one of anyio's.
    """
    made: list[str] = []
    in_file_thread = sources.run_in_file_thread
    run_sync = sources.anyio.to_thread.run_sync

    async def on_file_thread(function: Any, *args: Any) -> Any:
        made.append(function.__name__)
        return await in_file_thread(function, *args)

    async def on_worker_thread(function: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(f"worker: {function.__name__}")
        return await run_sync(function, *args, **kwargs)

    monkeypatch.setattr(sources, "run_in_file_thread", on_file_thread)
    monkeypatch.setattr(sources.anyio.to_thread, "run_sync", on_worker_thread)
    return made


@pytest.mark.parametrize("size", [1, 17, SMALL_FILE_LIMIT])
async def test_a_small_file_is_read_in_the_trip_that_finds_its_size(
    tmp_path: Path, trips: list[str], size: int
) -> None:
    data = bytes(index % 251 for index in range(size))
    path = tmp_path / "small.pdf"
    path.write_bytes(data)
    blob = await load_source(path, field="f", default_name="d")
    assert (blob.name, blob.size, blob.head, blob.path, blob.data) == (
        "small.pdf",
        size,
        data[:16],
        None,
        data,
    )
    assert b"".join([chunk async for chunk in blob.chunks()]) == data
    assert trips == ["_probe_regular"]


async def test_a_file_one_byte_over_the_limit_is_streamed(tmp_path: Path, trips: list[str]) -> None:
    data = bytes(index % 251 for index in range(SMALL_FILE_LIMIT + 1))
    path = tmp_path / "big.pdf"
    path.write_bytes(data)
    blob = await load_source(path, field="f", default_name="d")
    assert (blob.size, blob.path, blob.data) == (len(data), path, None)
    assert b"".join([chunk async for chunk in blob.chunks()]) == data
    # The content came in a trip of its own, on the file thread too.
    assert trips == ["_probe_regular", "read"]


async def test_a_file_over_the_shared_read_limit_is_read_in_worker_threads(
    tmp_path: Path, trips: list[str]
) -> None:
    # Its pieces are large: read in parallel, they overlap instead of queueing.
    data = bytes(index % 251 for index in range(SHARED_READ_LIMIT + 1))
    path = tmp_path / "large.pdf"
    path.write_bytes(data)
    blob = await load_source(path, field="f", default_name="d")
    assert b"".join([chunk async for chunk in blob.chunks()]) == data
    assert trips == ["_probe_regular", "worker: read"]


async def test_a_small_file_is_sent_as_it_was_when_loaded(tmp_path: Path) -> None:
    path = tmp_path / "contract.pdf"
    path.write_bytes(b"%PDF-1.7 first version")
    blob = await load_source(path, field="f", default_name="d")
    path.write_bytes(b"%PDF-1.7 rewritten meanwhile, and longer")
    body = json_body({"file": Base64(blob)})
    assert isinstance(body, bytes)
    assert json.loads(body) == {"file": base64.b64encode(b"%PDF-1.7 first version").decode()}


async def test_a_request_holds_at_most_its_read_limit_of_small_files(tmp_path: Path) -> None:
    # A request of many small documents (a circuit) reads them whole only
    # while they fit in REQUEST_READ_LIMIT; the rest are streamed when sent.
    size = 60 * 1024
    files = RequestFiles()
    in_memory = bytes(SMALL_FILE_LIMIT)  # the caller's memory: counts for nothing
    for source in (in_memory, Document(in_memory, "named.pdf")):
        assert (await files.load(source, field="docs[0]", default_name="d")).data == in_memory
    blobs = [await files.load(in_memory, field="docs[0]", default_name="d")]
    for index in range(1, 21):
        path = tmp_path / f"{index}.pdf"
        path.write_bytes(bytes([index]) * size)
        source = Document(path, f"n{index}.pdf") if index % 2 else path
        blobs.append(await files.load(source, field=f"docs[{index}]", default_name="d"))
    read_whole = [blob for blob in blobs[1:] if blob.data is not None]
    assert len(read_whole) == REQUEST_READ_LIMIT // size  # 17: the first ones, until no room
    assert all(blob.path is None for blob in read_whole)
    assert all(blob.path is not None and blob.data is None for blob in blobs[1 + len(read_whole) :])
    for index, blob in enumerate(blobs[1:], start=1):
        assert b"".join([chunk async for chunk in blob.chunks()]) == bytes([index]) * size
    # A file that fits what room is left is still read whole.
    last = tmp_path / "last.pdf"
    last.write_bytes(b"x" * (REQUEST_READ_LIMIT - len(read_whole) * size))
    assert (await files.load(last, field="docs[21]", default_name="d")).data is not None


async def test_a_file_that_grows_past_the_limit_while_probed_is_streamed_at_its_new_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "growing.pdf"
    path.write_bytes(b"%PDF-" + bytes(100))
    fstat = sources.os.fstat
    grown: list[int] = []

    def growing(fd: int) -> os.stat_result:
        status = fstat(fd)
        if not grown:  # it grows once, between its size and its read
            grown.append(fd)
            with path.open("ab") as file:
                file.write(bytes(SMALL_FILE_LIMIT))
        return status

    monkeypatch.setattr(sources.os, "fstat", growing)
    blob = await load_source(path, field="f", default_name="d")
    assert (blob.size, blob.path, blob.data) == (105 + SMALL_FILE_LIMIT, path, None)
    assert b"".join([chunk async for chunk in blob.chunks()]) == path.read_bytes()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
async def test_a_fifo_is_refused_at_once_without_waiting_for_a_writer(tmp_path: Path) -> None:
    # No writer ever comes: opening the FIFO to read it would wait for one,
    # in a thread nothing can cancel, and the process could not exit.
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)
    try:
        with pytest.raises(sa.ValidationError, match="not a regular file") as caught:
            await asyncio.wait_for(load_source(fifo, field="docs[0]", default_name="d"), 30)
    finally:
        # Had a reader been left waiting (the bug), it is let go.
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert caught.value.field == "docs[0]"
    assert str(fifo) in str(caught.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
async def test_a_file_swapped_for_a_fifo_before_it_is_sent_fails_without_waiting(
    tmp_path: Path,
) -> None:
    # Streamed pieces are read on the file thread: a FIFO put at the path
    # after the probe must not hold it waiting for a writer.
    path = tmp_path / "contract.pdf"
    path.write_bytes(b"%PDF-" + bytes(SMALL_FILE_LIMIT))
    blob = await load_source(path, field="f", default_name="d")
    assert blob.path == path
    path.unlink()
    os.mkfifo(path)
    let_go: list[str] = []

    def writer_comes() -> None:
        # Had the read waited on the FIFO, a writer lets it go (and the test fails).
        let_go.append("the read waited for a writer")
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))

    watchdog = asyncio.get_running_loop().call_later(30, writer_comes)
    try:
        with pytest.raises(sa.ValidationError, match="changed while it was being sent"):
            await asyncio.wait_for(_read_all(blob), 60)
        assert let_go == []
        small = tmp_path / "small.pdf"
        small.write_bytes(b"%PDF-1.7")
        loaded = await asyncio.wait_for(load_source(small, field="f", default_name="d"), 60)
        assert loaded.data == b"%PDF-1.7"
    finally:
        watchdog.cancel()


async def _read_all(blob: Blob) -> bytes:
    return b"".join([chunk async for chunk in blob.chunks()])


def test_read_file_reads_a_regular_file_as_it_was_loaded_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "contract.pdf"
    path.write_bytes(b"%PDF-1.7 loaded")
    assert read_file(path, 15) == b"%PDF-1.7 loaded"
    assert read_file(path, 14) is None  # it grew since
    assert read_file(path, 16) is None  # it shrank since
    assert read_file(tmp_path / "gone.pdf", 15) is None
    assert read_file(tmp_path, 15) is None  # a directory
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.pdf"
        os.mkfifo(fifo)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            reading = pool.submit(read_file, fifo, 15)
            try:
                assert reading.result(timeout=30) is None  # not waited on for a writer
            finally:
                if not reading.done():  # it waits: a writer lets it go, and the test fails
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


async def test_document_names_its_content(tmp_path: Path, pdf_bytes: bytes) -> None:
    path = tmp_path / "on-disk.pdf"
    path.write_bytes(pdf_bytes)

    from_path = await load_source(sa.Document(path, "shown.pdf"), field="f", default_name="d")
    from_bytes = await load_source(sa.Document(pdf_bytes, "mine.pdf"), field="f", default_name="d")

    assert (from_path.name, from_path.data) == ("shown.pdf", pdf_bytes)
    assert (from_bytes.name, from_bytes.data) == ("mine.pdf", pdf_bytes)
    assert "%PDF" not in repr(sa.Document(pdf_bytes, "mine.pdf"))


@pytest.mark.parametrize("size", [1, 5, 6, 7, 1 << 20, (1 << 20) + 1])
async def test_chunks_have_the_asked_size(tmp_path: Path, size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    for blob in (
        await load_source(path, field="f", default_name="d"),
        await load_source(data, field="f", default_name="d"),
    ):
        chunks = (
            [c async for c in blob.chunks(3)] if size < 10 else [c async for c in blob.chunks()]
        )
        step = 3 if size < 10 else 1 << 20
        assert b"".join(chunks) == data
        assert all(len(c) == step for c in chunks[:-1])
        assert 0 < len(chunks[-1]) <= step


async def test_errors_name_the_field(tmp_path: Path) -> None:
    (tmp_path / "empty.pdf").write_bytes(b"")
    cases = [
        (b"", "the document is empty"),
        (tmp_path / "missing.pdf", "no such file"),
        (tmp_path / "empty.pdf", "the document is empty"),
        (tmp_path, "is a directory"),
        (12, "expected a path, bytes or Document, not int"),
        (sa.Document(3.5, "x.pdf"), "not float"),  # type: ignore[arg-type]
    ]
    for source, problem in cases:
        with pytest.raises(sa.ValidationError) as caught:
            await load_source(source, field="file", default_name="d")  # type: ignore[arg-type]
        assert caught.value.field == "file"
        assert problem in caught.value.problem


def test_blob_repr_hides_content() -> None:
    assert "secret-bytes" not in repr(Blob("a", 12, b"secret-bytes", data=b"secret-bytes"))


async def test_a_path_with_nul_or_an_impossible_character_is_a_validation_error(
    tmp_path: Path,
) -> None:
    # Before: ValueError("embedded null byte") and UnicodeEncodeError, raw.
    for path, problem in [
        (str(tmp_path / "a\x00b.pdf"), "NUL"),
        (str(tmp_path / "a\ud800b.pdf"), "no file name can have"),
        ("", "the path is empty"),
    ]:
        with pytest.raises(sa.ValidationError) as caught:
            await load_source(path, field="docs[0]", default_name="d")
        assert caught.value.field == "docs[0]"
        assert problem in caught.value.problem


async def test_a_file_name_that_is_not_utf8_must_be_named_explicitly(
    tmp_path: Path, pdf_bytes: bytes
) -> None:
    # A name with a byte that is not UTF-8 opens (surrogateescape) but cannot be sent.
    path = tmp_path / os.fsdecode(b"contrat\xe9.pdf")
    path.write_bytes(pdf_bytes)

    with pytest.raises(sa.ValidationError) as caught:
        await load_source(path, field="file", default_name="d")
    assert "Document(content, name)" in caught.value.problem

    blob = await load_source(sa.Document(path, "contrato.pdf"), field="file", default_name="d")
    assert (blob.name, blob.size) == ("contrato.pdf", len(pdf_bytes))


@pytest.mark.parametrize("name", ["", "a\nb.pdf", "a\x00.pdf", "x\ud800.pdf", 12])
async def test_a_document_name_that_cannot_be_sent_is_refused(name: object) -> None:
    with pytest.raises(sa.ValidationError) as caught:
        await load_source(sa.Document(b"%PDF-1", name), field="file", default_name="d")  # type: ignore[arg-type]
    assert caught.value.field == "file"


def test_document_sources() -> None:
    pdf = sa.Document(b"%PDF-", "a.pdf")
    assert document_sources("a.pdf", "docs") == ["a.pdf"]
    assert document_sources(b"%PDF-", "docs") == [b"%PDF-"]
    assert document_sources(pdf, "docs") == [pdf]
    assert document_sources(Path("a.pdf"), "docs") == [Path("a.pdf")]
    assert document_sources(("a.pdf", b"%PDF-"), "docs") == ["a.pdf", b"%PDF-"]
    assert document_sources(iter(["a.pdf"]), "docs") == ["a.pdf"]
    for bad in (123, 1.5, None, {"a": 1}):
        with pytest.raises(sa.ValidationError, match="docs: expected a path, bytes, a Document"):
            document_sources(bad, "docs")


def test_file_path() -> None:
    assert file_path("a/b.zip", "path") == Path("a/b.zip")

    class Odd:
        def __fspath__(self) -> int:
            return 3

    for bad in (3, None, b"a.zip", Odd()):
        with pytest.raises(sa.ValidationError) as caught:
            file_path(bad, "path")
        assert caught.value.field == "path"
