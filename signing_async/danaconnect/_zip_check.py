"""The check a downloaded circuit ZIP must pass before it is moved into place.

A ZIP is read from its end: the end-of-central-directory record says where
the central directory is, and each central-directory entry says where its
file's local header is. Finding an end record (what ``zipfile.is_zipfile``
checks) proves little: a local header, some junk and an end record with a
made-up offset pass it. So, on the complete temporary file, in a worker thread:

1. the file starts with a local header (``PK\\x03\\x04``), or is an empty
   archive whose end record is all there is;
2. the central directory parses (``zipfile`` reads it, ZIP64 included);
3. the first entry's local header is at offset 0: nothing precedes the
   archive, and the central directory is where the end record says;
4. every entry has, at its offset, a local header (signature, then the same
   file name as its central-directory entry) whose data ends before the next
   entry begins (entries that overlap are how some ZIP bombs are built), the
   last one before the central directory.

Entries are not decompressed and their CRCs are not computed: that would
cost a second pass over a download that may be gigabytes, for damage the
byte count and the transport have already ruled out.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from typing import BinaryIO

__all__ = ["zip_problem"]

_LOCAL_HEADER = b"PK\x03\x04"
_END_RECORD = b"PK\x05\x06"
_LOCAL_HEADER_SIZE = 30
_UTF8_NAME = 0x800
"""General-purpose flag bit 11: the file name is UTF-8 (else code page 437)."""

# What zipfile raises on bytes that are not a ZIP, besides BadZipFile: a name
# that is not UTF-8 (ValueError), a version or a feature it does not know,
# fields that do not unpack, sizes past what it handles.
_NOT_A_ZIP = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    NotImplementedError,
    OverflowError,
    ValueError,
    struct.error,
)


def zip_problem(path: Path) -> str | None:
    """Inspect the complete download; return what is wrong with it, or None.

    A ``write_atomically`` check (see the module docstring for what it checks).
    """
    with path.open("rb") as file:
        try:
            return _problem(file)
        except _NOT_A_ZIP as exc:
            return f"the answer is not a valid ZIP archive ({exc})"


def _problem(file: BinaryIO) -> str | None:
    magic = file.read(len(_LOCAL_HEADER))
    if magic not in (_LOCAL_HEADER, _END_RECORD):
        return "the answer is not a ZIP archive"
    with zipfile.ZipFile(file) as archive:
        entries = archive.infolist()
        directory = archive.start_dir  # where the central directory begins
    if not entries:
        # An empty archive is its end record and nothing else.
        return None if directory == 0 else "the ZIP lists no entries, yet data precedes its end"
    if min(entry.header_offset for entry in entries) != 0:
        return "the ZIP's first entry is not at its start (data before it, or a wrong offset)"
    entries.sort(key=lambda entry: entry.header_offset)
    # Each entry must end where the next one (or the central directory) begins.
    limits = [entry.header_offset for entry in entries[1:]] + [directory]
    for entry, limit in zip(entries, limits, strict=True):
        problem = _entry_problem(file, entry, limit)
        if problem is not None:
            return f"the ZIP entry {entry.orig_filename[:80]!r} {problem}"
    return None


def _entry_problem(file: BinaryIO, entry: zipfile.ZipInfo, limit: int) -> str | None:
    offset = entry.header_offset
    if not 0 <= offset <= limit - _LOCAL_HEADER_SIZE:
        return f"points at offset {offset}, outside the archive or into another entry"
    file.seek(offset)
    header = file.read(_LOCAL_HEADER_SIZE)
    if header[:4] != _LOCAL_HEADER:
        return f"has no local header at offset {offset}"
    flags, name_length, extra_length = (
        struct.unpack_from("<H", header, 6)[0],
        *struct.unpack_from("<HH", header, 26),
    )
    name = file.read(name_length).decode("utf-8" if flags & _UTF8_NAME else "cp437")
    if name != entry.orig_filename:
        return f"has a local header at offset {offset} for another name"
    end = offset + _LOCAL_HEADER_SIZE + name_length + extra_length + entry.compress_size
    if end > limit:
        return "has data that runs into the next entry or the central directory"
    return None
