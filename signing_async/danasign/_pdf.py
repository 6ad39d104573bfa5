"""Optional check that widgets fit the PDF's pages, with pypdf (extra ``[pdf]``).

pypdf parses a whole file in memory, so only documents up to
:data:`PDF_CHECK_LIMIT` bytes are read, once, and parsed in a worker thread
(parsing is CPU work and must not block the event loop). Larger documents,
documents pypdf cannot parse (encrypted, damaged, unusual), and installs
without pypdf skip the check silently: DANAsign has the last word anyway.

A parse costs more than the rest of the request (0.4 ms of CPU for a
one-page PDF, 5 ms for fifty pages, against about 0.3 ms for everything
else), so its answer is remembered by the document's digest: a bulk run
that sends one contract to many signers parses it once. Only the digest and
the page sizes are kept, never the document.
"""

from __future__ import annotations

import functools
import hashlib
import io
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path

import anyio.to_thread

from .._core.errors import ValidationError
from .._core.file_thread import run_in_file_thread
from .._core.sources import SHARED_READ_LIMIT, Blob, read_file
from ._requests import Prefill, Widget

__all__ = ["PDF_CHECK_LIMIT", "check_boxes_fit", "page_sizes"]

PDF_CHECK_LIMIT = 64 * 1024 * 1024
"""Documents larger than this are not parsed for the page check."""

DIGEST_ON_LOOP_LIMIT = 256 * 1024
"""In-memory documents up to this size are digested on the event loop (0.3 ms
at most): one seen before needs no worker thread, whose round trip alone
costs a small document's parse. Larger ones are digested in the thread, and
files on the thread they are read on (the file thread up to
:data:`~signing_async._core.sources.SHARED_READ_LIMIT`)."""

Sizes = tuple[tuple[float, float], ...]

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


class _Remembered:
    """Page sizes (None: pypdf could not read the file) by document digest, the
    least recently used forgotten first. Worker threads share it: locked."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._sizes: OrderedDict[bytes, Sizes | None] = OrderedDict()
        self._lock = threading.Lock()

    def recall(self, digest: bytes) -> tuple[bool, Sizes | None]:
        """Whether ``digest`` was seen, and its sizes if so."""
        with self._lock:
            if digest not in self._sizes:
                return False, None
            self._sizes.move_to_end(digest)
            return True, self._sizes[digest]

    def remember(self, digest: bytes, sizes: Sizes | None) -> None:
        with self._lock:
            self._sizes[digest] = sizes
            self._sizes.move_to_end(digest)
            while len(self._sizes) > self.capacity:
                self._sizes.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._sizes.clear()


remembered = _Remembered(256)
"""The page sizes of the documents this process checked last (8 bytes a page).

A run's first items, up to its concurrency, are parsed side by side before
the first answer is remembered: a few parses more, once per run."""


def _digest(data: bytes) -> bytes:
    # 128 bits: the documents are the user's own; a chance collision is out of reach.
    return hashlib.blake2b(data, digest_size=16).digest()


def _parse(data: bytes, digest: bytes) -> Sizes | None:
    sizes = _read_sizes(io.BytesIO(data))
    remembered.remember(digest, sizes)
    return sizes


def _recall_or_parse(data: bytes) -> Sizes | None:
    """The sizes of ``data``, digested and parsed in a worker thread."""
    digest = _digest(data)
    seen, sizes = remembered.recall(digest)
    return sizes if seen else _parse(data, digest)


def _file_sizes(path: Path, size: int) -> Sizes | None:
    """The sizes of the file at ``path``, read whole as pypdf reads a path: ``size`` bytes."""
    data = read_file(path, size)
    return None if data is None else _recall_or_parse(data)


def _read_digested(path: Path, size: int) -> tuple[bytes, bytes] | None:
    """The file at ``path`` and its digest (BLAKE2b releases the GIL as it goes)."""
    data = read_file(path, size)
    return None if data is None else (data, _digest(data))


def _read_sizes(source: io.BytesIO) -> Sizes | None:
    from pypdf import PdfReader

    try:
        reader = PdfReader(source)
        sizes: list[tuple[float, float]] = []
        shared: dict[tuple[float, float], tuple[float, float]] = {}
        for page in reader.pages:
            box = page.mediabox
            width, height = float(box.width), float(box.height)
            if page.rotation % 180 == 90:
                # A page turned a quarter is shown, and so addressed, the other way up.
                width, height = height, width
            # One tuple per distinct size: what is remembered stays small.
            sizes.append(shared.setdefault((width, height), (width, height)))
    except Exception:  # pypdf raises assorted errors on PDFs it cannot parse; skip the check
        return None
    return tuple(sizes)


async def _recalled_or_parsed(data: bytes, digest: bytes) -> Sizes | None:
    """The sizes of ``data`` remembered, or parsed in a worker thread."""
    seen, sizes = remembered.recall(digest)
    return sizes if seen else await anyio.to_thread.run_sync(_parse, data, digest)


async def page_sizes(blob: Blob) -> Sizes | None:
    """Each page's (width, height) in points, as displayed; None when unknown.

    None when pypdf is not installed, the document is larger than
    :data:`PDF_CHECK_LIMIT`, or pypdf cannot read it.
    """
    if blob.size > PDF_CHECK_LIMIT or not pypdf_installed():
        return None
    if blob.data is not None and blob.size <= DIGEST_ON_LOOP_LIMIT:
        return await _recalled_or_parsed(blob.data, _digest(blob.data))
    if blob.data is not None:
        return await anyio.to_thread.run_sync(_recall_or_parse, blob.data)
    if blob.path is not None and blob.size <= SHARED_READ_LIMIT:
        # Read and digested on the file thread, as its pieces are read when
        # sent: a document seen before needs no worker thread.
        read = await run_in_file_thread(_read_digested, blob.path, blob.size)
        return None if read is None else await _recalled_or_parsed(*read)
    if blob.path is not None:
        return await anyio.to_thread.run_sync(_file_sizes, blob.path, blob.size)
    return None


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
