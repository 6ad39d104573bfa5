"""A hostile download host: bytes that look like a ZIP from the end are not taken for one.

Hand-made archives, served raw, must fail ``download_to`` with a
ResponseDecodeError and leave nothing behind; and no bytes at all, random or
a mutated real archive, make the check raise, or pass unless ``zipfile`` can
open every entry's local header.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import signing_async as sa
from signing_async.danaconnect._zip_check import zip_problem

from .server import HostileServer, RawRequest, answer, answer_json

PDF = b"%PDF-1.4 signed " + bytes(range(64))


def local_header(name: str, data: bytes, *, size: int | None = None) -> bytes:
    """A stored entry's local header and data (``size`` may lie about the data)."""
    encoded = name.encode()
    length = len(data) if size is None else size
    crc = zlib.crc32(data)
    fields = (b"PK\x03\x04", 20, 0, 0, 0, 0, crc, length, length, len(encoded), 0)
    return struct.pack("<4s5H3L2H", *fields) + encoded + data


def central_entry(name: str, data: bytes, offset: int, *, size: int | None = None) -> bytes:
    """A central-directory entry for a stored file whose local header is at ``offset``."""
    encoded = name.encode()
    length = len(data) if size is None else size
    crc = zlib.crc32(data)
    fields = (
        b"PK\x01\x02", 20, 20, 0, 0, 0, 0, crc, length, length, len(encoded), 0, 0, 0, 0, 0,
        offset,
    )  # fmt: skip
    return struct.pack("<4s6H3L5H2L", *fields) + encoded


def end_record(entries: int, size: int, offset: int) -> bytes:
    return struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, size, offset, 0)


def archive(*files: tuple[str, bytes]) -> bytes:
    """A real archive, as zipfile writes it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as writer:
        for name, content in files:
            writer.writestr(name, content)
    return buffer.getvalue()


def _bogus_offset() -> bytes:
    # The case reported: a local header, junk, and an end record whose offset is made up.
    return local_header("a.pdf", PDF) + b"junk" * 40 + end_record(0, 0, 123_456)


def _bogus_offset_with_an_entry() -> bytes:
    head = local_header("a.pdf", PDF) + b"junk" * 40
    directory = central_entry("a.pdf", PDF, 0)
    return head + directory + end_record(1, len(directory), len(head) + 999)


def _entry_pointing_into_junk() -> bytes:
    first = local_header("a.pdf", PDF)
    junk = b"junk" * 40
    directory = central_entry("a.pdf", PDF, 0) + central_entry("b.pdf", PDF, len(first) + 8)
    return first + junk + directory + end_record(2, len(directory), len(first) + len(junk))


def _data_running_into_the_directory() -> bytes:
    first = local_header("a.pdf", PDF, size=len(PDF) + 500)
    directory = central_entry("a.pdf", PDF, 0, size=len(PDF) + 500)
    return first + directory + end_record(1, len(directory), len(first))


def _entries_overlapping() -> bytes:
    first = local_header("a.pdf", PDF)
    directory = central_entry("a.pdf", PDF, 0) + central_entry("b.pdf", PDF, 0)
    return first + directory + end_record(2, len(directory), len(first))


def _local_header_for_another_name() -> bytes:
    first = local_header("a.pdf", PDF)
    directory = central_entry("z.pdf", PDF, 0)
    return first + directory + end_record(1, len(directory), len(first))


def _data_before_the_archive() -> bytes:
    return local_header("x.pdf", b"prefix") + archive(("a.pdf", PDF))


CRAFTED = [
    pytest.param(_bogus_offset(), id="header-junk-bogus-end-record"),
    pytest.param(_bogus_offset_with_an_entry(), id="bogus-directory-offset"),
    pytest.param(_entry_pointing_into_junk(), id="entry-pointing-into-junk"),
    pytest.param(_data_running_into_the_directory(), id="data-into-the-directory"),
    pytest.param(_entries_overlapping(), id="overlapping-entries"),
    pytest.param(_local_header_for_another_name(), id="local-header-for-another-name"),
    pytest.param(_data_before_the_archive(), id="data-before-the-archive"),
]


def test_the_crafted_archives_all_carry_an_end_record_zipfile_finds(tmp_path: Path) -> None:
    # What the old check asked (the magic number and an end record) holds for
    # every crafted archive: the tests below need more to reject them.
    for param in CRAFTED:
        body = param.values[0]
        assert isinstance(body, bytes)
        (tmp_path / "x.zip").write_bytes(body)
        assert body.startswith(b"PK\x03\x04")
        assert zipfile.is_zipfile(tmp_path / "x.zip")


async def download(body: bytes, target: Path) -> sa.DownloadedFile:
    async def handler(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        if request.path == "/oauth2/token":
            await answer_json(writer, 200, json.dumps({"access_token": "t", "expires_in": 3600}))
        else:
            await answer(writer, 200, body, {"Content-Type": "application/zip"})

    async with HostileServer(handler) as server:
        config = sa.DanaConnectConfig(
            client_id="id",
            client_secret="secret",
            channel="acme",
            base_url=server.url,
            download_base_url=server.url,
        )
        async with sa.SigningClient(danaconnect=config) as client:
            return await client.circuits.download_to("658936", target)


@pytest.mark.parametrize("body", CRAFTED)
async def test_a_crafted_archive_fails_the_download_and_leaves_nothing(
    body: bytes, tmp_path: Path
) -> None:
    with pytest.raises(sa.ResponseDecodeError, match="ZIP") as caught:
        await download(body, tmp_path / "signed.zip")
    assert str(caught.value).startswith("DANAconnect download circuit 658936: ")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(archive(("a.pdf", PDF), ("evidence/b.pdf", PDF * 3)), id="two-entries"),
        pytest.param(archive(), id="empty-archive"),
        pytest.param(
            local_header("a.pdf", PDF)
            + central_entry("a.pdf", PDF, 0)
            + end_record(1, 46 + 5, len(local_header("a.pdf", PDF))),
            id="hand-made",
        ),
    ],
)
async def test_a_sound_archive_is_downloaded(body: bytes, tmp_path: Path) -> None:
    downloaded = await download(body, tmp_path / "signed.zip")
    assert downloaded.size == len(body)
    assert (tmp_path / "signed.zip").read_bytes() == body


# --- Properties of the check itself -------------------------------------------


def opens(data: bytes) -> bool:
    """Whether zipfile reads the directory and every entry's local header."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as reader:
            for info in reader.infolist():
                try:
                    with reader.open(info):
                        pass
                except (NotImplementedError, RuntimeError):
                    pass  # encryption or a compression method: a feature, not the structure
    except (zipfile.BadZipFile, EOFError, NotImplementedError, ValueError, struct.error):
        return False
    return True


entry_files = st.lists(
    st.tuples(st.text("abcxyz019_-.éñ☃", min_size=1, max_size=12), st.binary(max_size=300)),
    min_size=0,
    max_size=4,
    unique_by=lambda item: item[0],
)


@st.composite
def real_archives(draw: st.DrawFn) -> bytes:
    files = draw(entry_files)
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as writer:
        for name, content in files:
            writer.writestr(name, content)
    return buffer.getvalue()


@st.composite
def mutated_archives(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(real_archives()))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, len(data)))
        kind = draw(
            st.sampled_from(["flip", "cut", "insert", "delete", "prepend", "append", "signature"])
        )
        if kind == "flip" and where < len(data):
            data[where] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del data[where:]
        elif kind == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=40))
        elif kind == "delete":
            del data[where : where + draw(st.integers(1, 40))]
        elif kind == "prepend":
            data[:0] = draw(st.binary(min_size=1, max_size=40))
        elif kind == "append":
            data += draw(st.binary(min_size=1, max_size=40))
        elif kind == "signature":
            data[where : where + 4] = draw(
                st.sampled_from([b"PK\x01\x02", b"PK\x03\x04", b"PK\x05\x06", b"PK\x06\x06"])
            )
    return bytes(data)


any_bytes = st.one_of(
    st.binary(max_size=400),
    st.binary(max_size=400).map(lambda tail: b"PK\x03\x04" + tail),
    st.binary(max_size=400).map(lambda tail: b"PK\x03\x04" + tail + end_record(0, 0, 0)),
    mutated_archives(),
)


@settings(
    max_examples=300,
    deadline=None,
    # One file in the test's own folder, rewritten by each example.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=any_bytes)
def test_no_bytes_make_the_check_raise_or_pass_unless_zipfile_opens_them(
    tmp_path: Path, data: bytes
) -> None:
    path = tmp_path / "download.zip"
    path.write_bytes(data)
    problem = zip_problem(path)
    assert problem is None or isinstance(problem, str)
    if problem is None:
        assert opens(data)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=real_archives())
def test_every_archive_zipfile_writes_passes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "download.zip"
    path.write_bytes(data)
    assert zip_problem(path) is None
