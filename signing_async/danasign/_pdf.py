"""Optional check that widgets fit the PDF's pages, with pypdf (extra ``[pdf]``).

pypdf parses a whole file in memory, so only documents up to
:data:`PDF_CHECK_LIMIT` bytes are read, once, in a worker thread (parsing is
CPU work and must not block the event loop). Larger documents, documents
pypdf cannot parse (encrypted, damaged, unusual), and installs without pypdf
skip the check silently: DANAsign has the last word anyway.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import anyio.to_thread

from .._core.errors import ValidationError
from .._core.sources import Blob
from ._requests import Prefill, Widget

__all__ = ["PDF_CHECK_LIMIT", "check_boxes_fit", "page_sizes"]

PDF_CHECK_LIMIT = 64 * 1024 * 1024
"""Documents larger than this are not parsed for the page check."""

# Coordinates are whole points while page sizes are not (A4 is 595.28 x
# 841.89 pt): a box that ends on the rounded page edge is accepted.
_TOLERANCE = 0.5


@functools.cache
def pypdf_installed() -> bool:
    """Whether the optional extra can be imported; asked once (a failed import,
    asked per document, would search the whole path every time)."""
    try:
        import pypdf  # noqa: F401 - imported only to learn that it imports
    except ImportError:
        return False
    return True


def _read_sizes(source: Path | io.BytesIO) -> tuple[tuple[float, float], ...] | None:
    from pypdf import PdfReader

    try:
        reader = PdfReader(source)
        sizes: list[tuple[float, float]] = []
        for page in reader.pages:
            box = page.mediabox
            width, height = float(box.width), float(box.height)
            if page.rotation % 180 == 90:
                # A page turned a quarter is shown, and so addressed, the other way up.
                width, height = height, width
            sizes.append((width, height))
    except Exception:  # pypdf raises assorted errors on PDFs it cannot parse; skip the check
        return None
    return tuple(sizes)


async def page_sizes(blob: Blob) -> tuple[tuple[float, float], ...] | None:
    """Each page's (width, height) in points, as displayed; None when unknown.

    None when pypdf is not installed, the document is larger than
    :data:`PDF_CHECK_LIMIT`, or pypdf cannot read it.
    """
    if blob.size > PDF_CHECK_LIMIT or not pypdf_installed():
        return None
    source: Path | io.BytesIO
    if blob.data is not None:
        source = io.BytesIO(blob.data)
    elif blob.path is not None:
        source = blob.path
    else:
        return None
    return await anyio.to_thread.run_sync(_read_sizes, source)


def check_boxes_fit(
    boxes: Iterable[tuple[str, Widget | Prefill]], sizes: Sequence[tuple[float, float]]
) -> None:
    """Each box lies on an existing page and within its media box.

    Args:
        boxes: ``(field, box)`` pairs, the field as errors should name it.
        sizes: Each page's (width, height) in points.

    Raises:
        ValidationError: A box is on a page the PDF lacks or leaves its page.
    """
    for field, box in boxes:
        if box.page > len(sizes):
            raise ValidationError(
                f"{field}.page", f"page {box.page} does not exist: the PDF has {len(sizes)} page(s)"
            )
        width, height = sizes[box.page - 1]
        if box.x + box.w > width + _TOLERANCE or box.y + box.h > height + _TOLERANCE:
            raise ValidationError(
                field,
                f"the box x={box.x:g} y={box.y:g} w={box.w:g} h={box.h:g} does not fit on "
                f"page {box.page} ({width:g} x {height:g} pt)",
            )
