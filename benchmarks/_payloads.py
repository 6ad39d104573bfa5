"""The files the benchmarks send and serve: PDFs of a given size and a ZIP.

The content after the PDF header is random, so Base64 and the ZIP (stored,
not deflated) cost what they cost on real scans: nothing compresses.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

MIB = 1 << 20

_HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
_TRAILER = b"\n%%EOF\n"


def tiny_pdf() -> bytes:
    """A small PDF (about 1 KiB), held in memory: the payload of the token benchmark."""
    filler = bytes(range(256)) * 4
    return _HEADER + filler + _TRAILER


def pdf_bytes(size: int) -> bytes:
    """A PDF-looking document of exactly ``size`` bytes (at least 32), in memory."""
    filler = max(size - len(_HEADER) - len(_TRAILER), 0)
    return _HEADER + os.urandom(filler) + _TRAILER


def write_pdf(path: Path, size: int) -> Path:
    """Write a PDF-looking file of exactly ``size`` bytes (at least 32)."""
    size = max(size, len(_HEADER) + len(_TRAILER))
    remaining = size - len(_HEADER) - len(_TRAILER)
    with path.open("wb") as file:
        file.write(_HEADER)
        while remaining:
            piece = min(remaining, MIB)
            file.write(os.urandom(piece))
            remaining -= piece
        file.write(_TRAILER)
    return path


def write_zip(path: Path, size: int) -> Path:
    """Write a ZIP of about ``size`` bytes holding one stored (uncompressed) PDF."""
    remaining = max(size - 256, 1024)
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive,
        archive.open("signed-contract.pdf", "w", force_zip64=True) as entry,
    ):
        entry.write(_HEADER)
        while remaining:
            piece = min(remaining, MIB)
            entry.write(os.urandom(piece))
            remaining -= piece
        entry.write(_TRAILER)
    return path
