"""Request body encoders: JSON with Base64 documents, forms and multipart.

Every encoder returns bytes or a replayable :class:`StreamBody` whose length is
known before the first byte is sent, so the request carries an exact
Content-Length and a retry can send it again. Documents are read in pieces:
memory stays flat whatever their size. Small documents (up to
:data:`ONE_PIECE_LIMIT` in all) are encoded in one piece instead: streaming
a 2 KiB contract in pieces cost more than the rest of its request.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import attrs

from .json_codec import dumps
from .sources import CHUNK_SIZE, Blob
from .transport import RequestBody, StreamBody, aclose_iterator

__all__ = ["Base64", "form_body", "json_body", "multipart_body"]

# A multiple of 3, so each piece encodes to Base64 without padding and the
# pieces concatenate into one valid Base64 string (768 KiB in, 1 MiB out).
BASE64_CHUNK = 3 * (CHUNK_SIZE // 4)

ONE_PIECE_LIMIT = CHUNK_SIZE
"""Documents of a body up to this many bytes in all are encoded in one piece:
the body is bytes when they are in memory; when they are on disk, a stream
of the JSON's pieces and each document encoded whole (one read of each
file). Larger ones are streamed."""


@attrs.frozen
class Base64:
    """Marks a place in a JSON payload where a document goes, Base64-encoded."""

    blob: Blob


def base64_length(size: int) -> int:
    """The length of the padded Base64 encoding of ``size`` bytes."""
    return 4 * -(-size // 3)


async def _base64_chunks(blob: Blob) -> AsyncIterator[bytes]:
    carry = b""
    chunks = blob.chunks(BASE64_CHUNK)
    try:
        async for chunk in chunks:
            # Only a short read mid-file breaks the multiple of 3; carry the rest over.
            data = carry + chunk if carry else chunk
            cut = len(data) - len(data) % 3
            carry = data[cut:]
            if cut:
                yield base64.b64encode(data[:cut])
    finally:
        await aclose_iterator(chunks)
    if carry:
        yield base64.b64encode(carry)


_MARKER = f"b64-{secrets.token_hex(16)}-"
"""Stands where a document goes while the JSON is rendered. Random per process
(not per call: this runs on every request), so no text in a payload can
collide with it by accident or by design."""

_PLACEHOLDER = re.compile(re.escape(_MARKER.encode()) + rb"(\d+)")


def json_body(payload: Mapping[str, Any]) -> RequestBody:
    """Encode ``payload`` as JSON, streaming every :class:`Base64` value.

    Without documents the result is plain bytes. With documents, the JSON
    is rendered once with unique placeholders, split around them, and the
    Base64 of each document goes in between: whole for small documents,
    streamed for the others.
    """
    found: list[Blob] = []
    marker = _MARKER
    inline = [ONE_PIECE_LIMIT]  # bytes of documents still allowed into the JSON itself

    def placeholder(value: object) -> str:
        if isinstance(value, Base64):
            blob = value.blob
            if blob.data is not None and blob.size <= inline[0]:
                # A small document in memory goes into the JSON as its text:
                # no placeholder to split around, no second join (most bulk items).
                inline[0] -= blob.size
                return base64.b64encode(blob.data).decode("ascii")
            found.append(blob)
            return f"{marker}{len(found) - 1}"
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")

    data = dumps(payload, default=placeholder)
    if not found:
        return data  # no documents: most requests
    # [text, index, text, index, ..., text]. Indices, not order: an encoder that
    # gave up half-way and left the rest to another has numbered some twice.
    parts = _PLACEHOLDER.split(data)
    pieces = parts[0::2]
    blobs = [found[int(index)] for index in parts[1::2]]
    if ONE_PIECE_LIMIT - inline[0] + sum(blob.size for blob in blobs) <= ONE_PIECE_LIMIT:
        return _one_piece(pieces, blobs)
    length = sum(map(len, pieces)) + sum(base64_length(blob.size) for blob in blobs)

    async def produce() -> AsyncIterator[bytes]:
        for piece, blob in zip(pieces, blobs, strict=False):
            yield piece
            # Closed with this generator (a cancelled upload), not by the
            # garbage collector: the file behind it is closed at once.
            chunks = _base64_chunks(blob)
            try:
                async for chunk in chunks:
                    yield chunk
            finally:
                await aclose_iterator(chunks)
        yield pieces[-1]

    return StreamBody(length, produce)


def _parts(pieces: list[bytes], encoded: list[bytes]) -> list[bytes]:
    """The JSON's pieces with the encoded documents in between, in order."""
    parts = [piece for pair in zip(pieces, encoded, strict=False) for piece in pair]
    parts.append(pieces[-1])
    return parts


def _one_piece(pieces: list[bytes], blobs: list[Blob]) -> RequestBody:
    """Small documents, encoded whole: bytes, or for files a stream of the parts (one read each)."""
    if all(blob.data is not None for blob in blobs):
        return b"".join(_parts(pieces, [base64.b64encode(blob.data or b"") for blob in blobs]))
    length = sum(map(len, pieces)) + sum(base64_length(blob.size) for blob in blobs)

    async def produce() -> AsyncIterator[bytes]:
        encoded = []
        for blob in blobs:
            data = blob.data
            if data is None:
                # One read of size + 1: a short answer proves the end in the same
                # trip to the thread, a full one that the file grew (which raises).
                data = b"".join([chunk async for chunk in blob.chunks(blob.size + 1)])
            encoded.append(base64.b64encode(data))
        # Part by part: joining them would copy the documents once more, into
        # a fresh allocation as large as they are (its page faults cost more
        # than the copy).
        for part in _parts(pieces, encoded):
            if part:
                yield part

    return StreamBody(length, produce)


def form_body(fields: Mapping[str, str]) -> bytes:
    """``application/x-www-form-urlencoded`` bytes."""
    return urlencode(fields).encode("ascii")


@attrs.frozen
class FilePart:
    """A file part of a multipart body."""

    name: str
    blob: Blob
    content_type: str


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def multipart_body(
    fields: Sequence[tuple[str, str]], files: Sequence[FilePart]
) -> tuple[StreamBody, str]:
    """A ``multipart/form-data`` body streaming its files from disk.

    Returns:
        The body and its Content-Type (with the boundary).
    """
    boundary = f"signing-async-{secrets.token_hex(16)}"
    dash = f"--{boundary}\r\n".encode()
    static: list[bytes] = []
    for name, value in fields:
        header = f'Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'
        static.append(dash + header.encode() + value.encode() + b"\r\n")
    heads: list[bytes] = []
    for part in files:
        header = (
            f'Content-Disposition: form-data; name="{_quote(part.name)}"; '
            f'filename="{_quote(part.blob.name)}"\r\nContent-Type: {part.content_type}\r\n\r\n'
        )
        heads.append(dash + header.encode())
    closing = f"--{boundary}--\r\n".encode()
    length = (
        sum(map(len, static))
        + sum(len(head) + part.blob.size + 2 for head, part in zip(heads, files, strict=True))
        + len(closing)
    )

    async def produce() -> AsyncIterator[bytes]:
        for piece in static:
            yield piece
        for head, part in zip(heads, files, strict=True):
            yield head
            chunks = part.blob.chunks()
            try:
                async for chunk in chunks:
                    yield chunk
            finally:
                await aclose_iterator(chunks)  # as in json_body
            yield b"\r\n"
        yield closing

    return StreamBody(length, produce), f"multipart/form-data; boundary={boundary}"
