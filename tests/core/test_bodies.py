"""Request bodies: Base64-in-JSON streamed exactly, forms, multipart."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import itertools
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from signing_async import ValidationError
from signing_async._core.bodies import (
    BASE64_CHUNK,
    ONE_PIECE_LIMIT,
    Base64,
    FilePart,
    form_body,
    json_body,
    multipart_body,
)
from signing_async._core.sources import CHUNK_SIZE, SMALL_FILE_LIMIT, Blob, load_source
from signing_async.transports import RequestBody, StreamBody

MiB = 1 << 20
SIZES = [
    *range(8),
    BASE64_CHUNK - 1,
    BASE64_CHUNK,
    BASE64_CHUNK + 1,
    2 * BASE64_CHUNK - 1,
    2 * BASE64_CHUNK + 1,
    3 * MiB + 2,
]


async def read(body: RequestBody) -> tuple[bytes, list[bytes]]:
    if isinstance(body, bytes):
        return body, [body]
    chunks = [chunk async for chunk in body.open()]
    return b"".join(chunks), chunks


def length(body: RequestBody) -> int:
    return len(body) if isinstance(body, bytes) else body.length


def reference(payload: Any, blobs: dict[int, bytes]) -> bytes:
    """What json.dumps makes of the payload with each document already in Base64."""

    def swap(value: Any) -> Any:
        if isinstance(value, Base64):
            return base64.b64encode(blobs[id(value)]).decode()
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    return json.dumps(swap(payload), ensure_ascii=False, separators=(",", ":")).encode()


def content(size: int) -> bytes:
    pattern = bytes((i * 7 + size) % 256 for i in range(256))
    return (pattern * (size // 256 + 1))[:size]


def memory_blob(data: bytes) -> Blob:
    return Blob("doc.pdf", len(data), data[:16], data=data)


async def test_without_documents_is_plain_json() -> None:
    payload = {"id": "1", "name": "Ñandú ☃", "list": [1, 2.5, None, True]}
    body = json_body(payload)
    assert body == json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.mark.parametrize("size", SIZES)
async def test_base64_in_json_from_memory(size: int) -> None:
    data = content(size)
    marker = Base64(memory_blob(data))
    payload = {"id": "x", "docs": [{"name": "a.pdf", "size": size, "content": marker}]}

    body = json_body(payload)
    produced, chunks = await read(body)

    assert produced == reference(payload, {id(marker): data})
    assert length(body) == len(produced)
    assert base64.b64decode(json.loads(produced)["docs"][0]["content"], validate=True) == data
    if size <= ONE_PIECE_LIMIT:
        assert isinstance(body, bytes)  # small: encoded in one piece, no stream to run
    else:
        # Streamed in pieces of about 1 MiB, never the whole document at once.
        assert isinstance(body, StreamBody)
        assert max(map(len, chunks)) <= CHUNK_SIZE


@pytest.mark.parametrize("size", SIZES)
async def test_base64_in_json_from_disk(size: int, tmp_path: Path) -> None:
    data = content(size)
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    blob = await load_source(path, field="f", default_name="x") if size else Blob("e", 0, b"", path)
    marker = Base64(blob)
    payload = {"content": marker, "tail": "ü"}

    body = json_body(payload)
    if 0 < size <= SMALL_FILE_LIMIT:
        # Read whole when loaded (one trip to a thread): encoded as from memory.
        assert body == reference(payload, {id(marker): data})
        return
    assert isinstance(body, StreamBody)
    first, chunks = await read(body)
    second, _ = await read(body)

    assert first == second == reference(payload, {id(marker): data})
    assert body.length == len(first)
    if size <= ONE_PIECE_LIMIT:
        # One read of the file, encoded whole, sent between the JSON before and
        # after it (never joined with them: that would copy it once more).
        encoded = base64.b64encode(data)
        head = b'{"content":"'
        parts = (head, encoded, first[len(head) + len(encoded) :])
        assert chunks == [part for part in parts if part]
    else:
        assert max(map(len, chunks)) <= CHUNK_SIZE


async def test_many_documents_and_unicode() -> None:
    datas = [content(n * 5 + 1) for n in range(12)]
    markers = [Base64(memory_blob(d)) for d in datas]
    payload = {
        "título": "contrato Ñ 😀",
        "docs": [{"i": i, "content": m, "note": '"quoted" \\ \n'} for i, m in enumerate(markers)],
        "after": {"nested": [markers[0].blob.name, "end"]},
    }

    body = json_body(payload)
    produced, _ = await read(body)

    assert produced == reference(payload, {id(m): d for m, d in zip(markers, datas, strict=True)})
    assert length(body) == len(produced)


async def test_same_document_twice() -> None:
    data = b"%PDF-twice"
    blob = memory_blob(data)
    body = json_body({"a": Base64(blob), "b": Base64(blob)})
    produced, _ = await read(body)
    encoded = base64.b64encode(data).decode()
    assert json.loads(produced) == {"a": encoded, "b": encoded}
    assert length(body) == len(produced)


async def test_documents_just_over_the_limit_in_all_are_streamed() -> None:
    half = content(ONE_PIECE_LIMIT // 2 + 1)
    body = json_body({"a": Base64(memory_blob(half)), "b": Base64(memory_blob(half))})
    assert isinstance(body, StreamBody)
    produced, chunks = await read(body)
    assert len(chunks) > 1
    encoded = base64.b64encode(half).decode()
    assert json.loads(produced) == {"a": encoded, "b": encoded}


@attrs.frozen
class RaggedBlob(Blob):
    """A blob whose reads come back short and uneven, as a pipe's might."""

    async def chunks(self, size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        assert self.data is not None
        cuts = [0, 1, 3, 4, 9, 10, 11, 50, 51]
        cuts = [c for c in cuts if c < len(self.data)] + [len(self.data)]
        for start, end in itertools.pairwise(cuts):
            yield self.data[start:end]


async def test_uneven_reads_still_make_one_base64_string() -> None:
    data = content(ONE_PIECE_LIMIT + 100)  # streamed, read in uneven pieces
    body = json_body({"c": Base64(RaggedBlob("r", len(data), data[:16], data=data))})
    assert isinstance(body, StreamBody)
    produced, _ = await read(body)
    assert produced == b'{"c":"' + base64.b64encode(data) + b'"}'
    assert body.length == len(produced)


def test_unknown_objects_are_refused() -> None:
    with pytest.raises(TypeError, match="object"):
        json_body({"x": object()})


@pytest.mark.parametrize("change", ["grow", "shrink"])
async def test_file_changing_size_mid_send_raises(change: str, tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    path.write_bytes(b"%PDF-" + b"x" * SMALL_FILE_LIMIT)  # streamed, not read when loaded
    blob = await load_source(path, field="docs[0]", default_name="x")
    body = json_body({"content": Base64(blob)})
    assert isinstance(body, StreamBody)
    with path.open("ab" if change == "grow" else "r+b") as file:
        if change == "grow":
            file.write(b"more")
        else:
            file.truncate(1000)

    with pytest.raises(ValidationError, match="changed while it was being sent"):
        await read(body)


def test_form_body() -> None:
    assert form_body({"grant_type": "client_credentials"}) == b"grant_type=client_credentials"
    assert form_body({"a": "x y&z", "b": "ñ"}) == b"a=x+y%26z&b=%C3%B1"


def parse_multipart(body: bytes, content_type: str) -> list[tuple[dict[str, str], bytes]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    assert message.is_multipart()
    parts: list[tuple[dict[str, str], bytes]] = []
    for part in message.iter_parts():
        params = dict((part.get_params(header="content-disposition") or [])[1:])
        params["content-type"] = part.get_content_type()
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        parts.append((params, payload))
    return parts


async def test_multipart_round_trip(tmp_path: Path) -> None:
    selfie = os.urandom(3 * MiB + 5)
    (tmp_path / "selfie.jpg").write_bytes(selfie)
    pdf = b"%PDF-1.4 contract\r\n--not-a-boundary\r\n"
    files = [
        FilePart(
            "user_selfie",
            await load_source(tmp_path / "selfie.jpg", field="s", default_name="x"),
            "image/jpeg",
        ),
        FilePart("document_sign", memory_blob(pdf), "application/pdf"),
    ]
    fields = [("tenant_id", "empresa-123"), ("email", "ana@example.com"), ("note", "ñ")]

    body, content_type = multipart_body(fields, files)
    first, chunks = await read(body)
    second, _ = await read(body)

    assert first == second
    assert body.length == len(first)
    assert content_type.startswith("multipart/form-data; boundary=")
    assert max(map(len, chunks)) <= CHUNK_SIZE
    parts = parse_multipart(first, content_type)
    assert [(p["name"], p.get("filename"), p["content-type"], data) for p, data in parts] == [
        ("tenant_id", None, "text/plain", b"empresa-123"),
        ("email", None, "text/plain", b"ana@example.com"),
        ("note", None, "text/plain", "ñ".encode()),
        ("user_selfie", "selfie.jpg", "image/jpeg", selfie),
        ("document_sign", "doc.pdf", "application/pdf", pdf),
    ]


async def test_multipart_boundaries_are_unique() -> None:
    _, first = multipart_body([("a", "1")], [])
    _, second = multipart_body([("a", "1")], [])
    assert first != second


async def test_multipart_quotes_names() -> None:
    blob = Blob('we"ird\r\nname.pdf', 3, b"abc", data=b"abc")
    body, content_type = multipart_body([('fi"eld', "v")], [FilePart("f", blob, "text/plain")])
    produced, _ = await read(body)

    assert body.length == len(produced)
    # No header injection: each part still has one Content-Disposition line.
    assert produced.count(b"Content-Disposition") == 2
    assert b"\r\nname.pdf" not in produced
    parts = parse_multipart(produced, content_type)
    assert [data for _, data in parts] == [b"v", b"abc"]


@pytest.mark.parametrize("size", [5, ONE_PIECE_LIMIT + 1])
async def test_documents_beside_what_only_the_standard_library_encodes(size: int) -> None:
    # orjson numbers the document, then gives up on the big integer; the
    # standard library numbers it again: the body must still hold it once.
    data = content(size)
    payload = {"doc": Base64(memory_blob(data)), "n": 2**70, "after": "ü"}
    body = json_body(payload)
    produced, _ = await read(body)
    assert json.loads(produced) == {
        "doc": base64.b64encode(data).decode(),
        "n": 2**70,
        "after": "ü",
    }
    assert length(body) == len(produced)
