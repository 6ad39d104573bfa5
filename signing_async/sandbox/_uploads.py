"""Checking uploaded documents and images: Base64 decoding and magic numbers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ._blobs import Blob, SpilledString, decode_base64

__all__ = ["Invalid", "decode_upload", "discard", "image_kind", "is_pdf"]

_JPEG = b"\xff\xd8\xff"
_PNG = b"\x89PNG\r\n\x1a\n"


class Invalid(ValueError):
    """A request field is invalid; the message names the field and the problem."""


def is_pdf(blob: Blob) -> bool:
    """Whether the blob starts with the PDF magic ``%PDF-``."""
    return blob.head.startswith(b"%PDF-")


def image_kind(blob: Blob) -> str | None:
    """``"jpeg"`` or ``"png"`` by magic number, else ``None``."""
    if blob.head.startswith(_JPEG):
        return "jpeg"
    if blob.head.startswith(_PNG):
        return "png"
    return None


def discard(blob: Blob) -> None:
    """Delete a blob's file, if it has one."""
    if blob.path is not None:
        blob.path.unlink(missing_ok=True)


async def decode_upload(value: Any, field: str, folder: Path) -> Blob:
    """Decode a Base64 field of a JSON body into a blob.

    Raises:
        Invalid: If the value is missing, empty or not Base64.
    """
    if not isinstance(value, str | SpilledString) or value == "":
        raise Invalid(f"{field}: must be a non-empty Base64 string")
    try:
        if isinstance(value, SpilledString):
            # Long documents are decoded off the event loop: other requests go on.
            return await asyncio.to_thread(decode_base64, value, folder)
        return decode_base64(value, folder)
    except ValueError as exc:
        raise Invalid(f"{field}: {exc}") from None


async def decode_pdf(value: Any, field: str, folder: Path) -> Blob:
    """Decode a Base64 field that must hold a PDF.

    Raises:
        Invalid: If the value is missing, not Base64 or not a PDF.
    """
    blob = await decode_upload(value, field, folder)
    if blob.size == 0:
        raise Invalid(f"{field}: is empty")
    if not is_pdf(blob):
        discard(blob)
        raise Invalid(f"{field}: is not a PDF (it does not start with %PDF-)")
    return blob
