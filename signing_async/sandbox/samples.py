"""Sample files for demos, tests and benchmarks: PDFs, JPEG and PNG images.

Everything here is generated with the standard library, deterministically.

Example:
    >>> from signing_async.sandbox import samples
    >>> pdf = samples.make_pdf(pages=2, size=10_000)
    >>> len(pdf), pdf[:5]
    (10000, b'%PDF-')
"""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from collections.abc import Mapping
from pathlib import Path

from ._pdf import info_update, pdf_parts
from ._pdf import read_info as _read_info

__all__ = ["add_info", "make_jpeg", "make_pdf", "make_png", "read_info", "write_pdf"]

A4 = (595, 842)


def make_pdf(
    pages: int = 1,
    *,
    text: str = "signing_async sample",
    size: int | None = None,
    page_size: tuple[float, float] = A4,
) -> bytes:
    """Make a small valid PDF.

    Args:
        pages: Number of pages (at least 1); each shows ``text`` and its number.
        text: The line written on every page (Latin-1; other characters show
            as ``?``).
        size: When given, the PDF is padded with an unreferenced filler stream
            to exactly this many bytes.
        page_size: Width and height in points (A4 by default).

    Returns:
        The PDF bytes.

    Raises:
        ValueError: If ``pages`` < 1, the page size is not positive, or
            ``size`` is smaller than the unpadded PDF.
    """
    return b"".join(pdf_parts(pages, text, page_size, size))


def write_pdf(
    path: str | os.PathLike[str],
    pages: int = 1,
    *,
    text: str = "signing_async sample",
    size: int | None = None,
    page_size: tuple[float, float] = A4,
) -> Path:
    """Write a sample PDF to ``path``, streaming, and return the path.

    The file is written under a temporary name in the same folder and renamed
    into place, so a reader never sees half a file. Arguments as
    :func:`make_pdf`; large ``size`` values never sit in memory.

    Returns:
        The target path.
    """
    target = Path(path)
    parts = pdf_parts(pages, text, page_size, size)  # validates before touching disk
    first = next(parts)
    descriptor, temporary = tempfile.mkstemp(prefix=".sample-", suffix=".pdf", dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(first)
            for part in parts:
                handle.write(part)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def add_info(pdf: bytes, info: Mapping[str, str]) -> bytes:
    """Return ``pdf`` with an incremental update setting its Info entries.

    The original bytes are kept unchanged as a prefix (as a real signature
    would keep them), followed by a new Info object and trailer.

    Args:
        pdf: A complete PDF.
        info: Entries such as ``{"Producer": "...", "SignatureHash": "..."}``;
            keys must be plain PDF names (letters, digits, ``_ . -``).

    Raises:
        ValueError: If the PDF has no readable trailer or a key is not a name.
    """

    def read_at(offset: int, length: int) -> bytes:
        return pdf[offset : offset + length]

    return pdf + info_update(read_at, len(pdf), info)


def read_info(pdf: bytes) -> dict[str, str]:
    """Read the string entries of a PDF's Info dictionary.

    Returns:
        The entries of the last revision's Info dictionary, ``{}`` if none.

    Raises:
        ValueError: If the PDF has no readable trailer.
    """
    return _read_info(pdf)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def make_png(width: int = 16, height: int = 16, rgb: tuple[int, int, int] = (37, 99, 235)) -> bytes:
    """Make a small valid PNG: a ``width`` x ``height`` RGB image with a diagonal.

    Returns:
        The PNG bytes (they start with the ``\\x89PNG\\r\\n\\x1a\\n`` signature).
    """
    if width < 1 or height < 1:
        raise ValueError("width and height must be >= 1")
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type "None" for each scanline
        for x in range(width):
            rows += bytes((255, 255, 255)) if x == y else bytes(rgb)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _png_chunk(b"IEND", b"")
    )


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def make_jpeg() -> bytes:
    """Make a tiny valid baseline JPEG: a 16 x 16 mid-grey image.

    Mid-grey makes every DCT coefficient zero after the level shift, so the
    scan is two one-bit codes per block (DC difference 0, end of block) with
    one-symbol Huffman tables.

    Returns:
        The JPEG bytes (they start with ``\\xff\\xd8\\xff``).
    """
    width = height = 16
    jfif = _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    quant = _segment(0xDB, b"\x00" + b"\x01" * 64)  # table 0, 8-bit, all ones
    frame = _segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    # Class/id, 16 counts of code lengths, then the symbols: one 1-bit code each.
    dc_table = _segment(0xC4, b"\x00" + b"\x01" + b"\x00" * 15 + b"\x00")
    ac_table = _segment(0xC4, b"\x10" + b"\x01" + b"\x00" * 15 + b"\x00")
    scan_header = _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    # Four blocks x ("0" DC, "0" EOB) = eight zero bits: one byte.
    scan = b"\x00"
    return (
        b"\xff\xd8" + jfif + quant + frame + dc_table + ac_table + scan_header + scan + b"\xff\xd9"
    )
